// The child's side of a fixture process that speaks JSON lines (the parent drives it with
// JsonProcess, or the bench's JsonChild): events on stdout, commands on stdin; closing stdin or
// SIGTERM asks it to exit.
import { createInterface } from 'node:readline';

/** One event on stdout. */
export function send(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** A required environment variable; without it the child reports an error and exits. */
export function requiredEnv(name: string): string {
  const v = process.env[name];
  if (!v) {
    send({ event: 'error', message: `${name} is not set` });
    process.exit(2);
  }
  return v;
}

/**
 * Hands each command line on stdin to `handle` (a throw becomes an error event), and
 * calls `shutdown` once when stdin closes or SIGTERM arrives.
 */
export function serveCommands<C extends { cmd: string }>(handle: (command: C) => void, shutdown: () => Promise<void>): void {
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    void shutdown();
  };
  createInterface({ input: process.stdin })
    .on('line', (line) => {
      try {
        handle(JSON.parse(line) as C);
      } catch (err) {
        send({ event: 'error', message: (err as Error).message });
      }
    })
    .on('close', stop);
  process.once('SIGTERM', stop);
}

/** The error event for a command it does not know. */
export function unknownCommand(command: { cmd: string }): void {
  send({ event: 'error', message: `unknown command ${JSON.stringify(command.cmd)}` });
}
