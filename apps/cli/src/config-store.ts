// The CLI's stored login: `{ hub, token }` in $XDG_CONFIG_HOME/porthole/config.json (or
// ~/.config/porthole/config.json). The token is a secret: directory 0700, file 0600, written
// atomically (secret-file.ts).
import { chmodSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, EXIT } from './errors.js';
import { writeSecretFile } from './secret-file.js';

export interface StoredConfig {
  hub: string;
  token: string;
}

export function configPath(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env.XDG_CONFIG_HOME;
  // XDG Base Directory: a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const base = xdg && xdg.startsWith('/') ? xdg : join(env.HOME || homedir(), '.config');
  return join(base, 'porthole', 'config.json');
}

/** The stored config, or undefined when there is none. A damaged file is an error, not "logged out". */
export function readConfig(path: string): StoredConfig | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not valid JSON; run porthole login again (or delete the file)`);
  }
  const v = value as Partial<StoredConfig> | null;
  if (!v || typeof v !== 'object' || typeof v.hub !== 'string' || typeof v.token !== 'string') {
    throw new CliError(`${path} does not hold { hub, token }; run porthole login again`);
  }
  return { hub: v.hub, token: v.token };
}

export function writeConfig(path: string, config: StoredConfig): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // mkdir's mode only applies to directories it creates (and is masked by umask).
    chmodSync(dir, 0o700);
    writeSecretFile(path, `${JSON.stringify(config, null, 2)}\n`);
  } catch (err) {
    throw new CliError(`cannot write ${path}: ${(err as Error).message}`, EXIT.failure, { cause: err });
  }
}

/** Removes the stored login; true when there was one. */
export function removeConfig(path: string): boolean {
  try {
    rmSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new CliError(`cannot remove ${path}: ${(err as Error).message}`);
  }
}
