// What the CLI needs from its surroundings. main.ts fills it from `process`; tests pass streams,
// an environment and an abort signal, so `run(argv, io)` never touches process itself.
import type { Readable, Writable } from 'node:stream';

export type CliStdin = Readable & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
export type CliOutput = Writable & { isTTY?: boolean; columns?: number };

export interface CliIo {
  stdin: CliStdin;
  stdout: CliOutput;
  stderr: CliOutput;
  /** PORTHOLE_HUB, PORTHOLE_TOKEN, XDG_CONFIG_HOME, HOME, PATH (for ssh). */
  env: Readonly<Record<string, string | undefined>>;
  /** Ends long-running commands (`tcp --listen`, a stdio tunnel) cleanly: SIGINT/SIGTERM in main.ts. */
  signal?: AbortSignal;
  /** The argv that runs this CLI again (for ssh's ProxyCommand); default `["porthole"]`. */
  selfCommand?: readonly string[];
  /** True when stdin/stdout/stderr are the process's own, so a child (ssh) may inherit the terminal. */
  processStdio?: boolean;
  /** Wall clock, for `--since 1h` and "3m ago". */
  now?: () => Date;
}

/** Writes one line (text plus newline) to a stream. */
export function println(stream: Writable, text = ''): void {
  stream.write(`${text}\n`);
}
