// Exit codes and the one error type of the CLI: every failure becomes a one-line message on stderr
// and one of these codes, so scripts can tell "bad input" from "no access" from "no such device".

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failure,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
  }
}

/** Wrong arguments; the message says which, and the command's --help says how. */
export class UsageError extends CliError {
  constructor(
    message: string,
    /** Command path for the "see porthole … --help" hint, e.g. "devices list". */
    readonly command?: string,
  ) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

/** The exit code an HTTP status from the hub maps to. */
export function exitCodeForStatus(status: number): ExitCode {
  if (status === 400 || status === 422) return EXIT.usage;
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  return EXIT.failure;
}
