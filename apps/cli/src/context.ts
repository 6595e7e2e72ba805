// What every command gets: output helpers (stdout for results, stderr for progress and notes),
// the clock, and the hub login resolved in the documented order — flag, then PORTHOLE_* variable,
// then the stored config.
import { ApiClient, normalizeHubUrl } from './api-client.js';
import type { ParsedArgs } from './command.js';
import { configPath, readConfig } from './config-store.js';
import { CliError, EXIT } from './errors.js';
import { println, type CliIo } from './io.js';

export interface Login {
  hub: string;
  token: string;
}

export interface Context {
  readonly io: CliIo;
  readonly configPath: string;
  now(): Date;
  out(line?: string): void;
  err(line?: string): void;
  /** Pretty JSON on stdout. */
  json(value: unknown): void;
  /** Hub URL and token for this invocation; CliError (exit 3) when there is none. */
  login(args: ParsedArgs): Login;
  client(args: ParsedArgs): ApiClient;
}

export function createContext(io: CliIo): Context {
  const path = configPath(io.env);
  const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
  const ctx: Context = {
    io,
    configPath: path,
    now: () => (io.now ? io.now() : new Date()),
    out: (line = '') => println(io.stdout, line),
    err: (line = '') => println(io.stderr, line),
    json: (value) => println(io.stdout, JSON.stringify(value, null, 2)),
    login(args) {
      const flagHub = nonEmpty(args.values.hub) ?? nonEmpty(io.env.PORTHOLE_HUB);
      const flagToken = nonEmpty(args.values.token) ?? nonEmpty(io.env.PORTHOLE_TOKEN);
      // The stored file is read only when something is missing, so flags alone work without a home directory.
      const stored = flagHub && flagToken ? undefined : readConfig(path);
      const hub = flagHub ?? stored?.hub;
      const token = flagToken ?? stored?.token;
      if (!hub) throw new CliError('no hub configured: run porthole login --hub URL, or pass --hub / set PORTHOLE_HUB', EXIT.auth);
      if (!token) throw new CliError('no API token: run porthole login, or pass --token / set PORTHOLE_TOKEN', EXIT.auth);
      return { hub: normalizeHubUrl(hub), token };
    },
    client(args) {
      const organization = nonEmpty(args.values.org) ?? nonEmpty(io.env.PORTHOLE_ORG);
      return new ApiClient({ ...ctx.login(args), organization });
    },
  };
  return ctx;
}
