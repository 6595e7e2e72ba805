// Reading one answer from stdin: a line from a pipe (`echo $TOKEN | porthole login …`), or an
// interactive prompt on a terminal — with echo off for secrets, so a token never shows on screen.
import type { CliIo } from './io.js';
import { CliError } from './errors.js';

/** The first line of stdin (without the newline), or undefined when stdin ends first with nothing. */
export function readLine(stdin: CliIo['stdin']): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (value: string | undefined) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onError);
      stdin.pause();
      resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      const nl = text.search(/\r?\n/);
      if (nl >= 0) finish(text.slice(0, nl));
      else if (text.length > 64 * 1024) reject(new CliError('stdin: the first line is longer than 64 KiB'));
    };
    const onEnd = () => finish(text.length > 0 ? text : undefined);
    const onError = (err: Error) => reject(new CliError(`cannot read stdin: ${err.message}`));
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', onError);
    stdin.resume();
  });
}

/** A terminal prompt with echo off: characters are read in raw mode and never written back. */
function readHidden(io: CliIo): Promise<string | undefined> {
  const { stdin } = io;
  return new Promise((resolve, reject) => {
    let text = '';
    stdin.setRawMode!(true);
    const done = (fn: () => void) => {
      stdin.off('data', onData);
      stdin.setRawMode!(false);
      stdin.pause();
      io.stderr.write('\n');
      fn();
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done(() => resolve(text));
        if (ch === '\u0003') return done(() => reject(new CliError('aborted')));
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else if (ch >= ' ') text += ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** Asks on stderr when stdin is a terminal, then reads one line (hidden when `secret`). */
export async function ask(io: CliIo, question: string, options: { secret?: boolean } = {}): Promise<string | undefined> {
  const tty = io.stdin.isTTY === true;
  if (tty) io.stderr.write(question);
  if (tty && options.secret && typeof io.stdin.setRawMode === 'function') return readHidden(io);
  return readLine(io.stdin);
}
