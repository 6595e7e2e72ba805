// Daily-rotated log file: lines go to `<path>`; when the UTC day changes the file is renamed to
// `<path>.YYYY-MM-DD` (the day its lines belong to) and only the newest `retention` of those kept,
// so a device with a small flash never fills it with logs.
import { closeSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export interface RotatingFileOptions {
  path: string;
  /** Rotated files kept besides the current one. */
  retention: number;
  now?: () => number;
}

export class RotatingFile {
  readonly #path: string;
  readonly #retention: number;
  readonly #now: () => number;
  #fd: number | undefined;
  #day: string | undefined;
  /** Write failures (disk full, removed directory): counted, never thrown into the caller. */
  failures = 0;

  constructor(options: RotatingFileOptions) {
    this.#path = options.path;
    this.#retention = options.retention;
    this.#now = options.now ?? Date.now;
    mkdirSync(dirname(this.#path), { recursive: true });
    try {
      // An existing file from before a restart belongs to the day it was last written.
      this.#day = utcDay(statSync(this.#path).mtimeMs);
    } catch {
      this.#day = undefined;
    }
  }

  write(line: string): void {
    try {
      const today = utcDay(this.#now());
      if (this.#day !== undefined && this.#day !== today) this.#rotate(this.#day);
      this.#day = today;
      this.#fd ??= openSync(this.#path, 'a', 0o640);
      writeSync(this.#fd, line);
    } catch {
      this.failures++;
    }
  }

  #rotate(day: string): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    try {
      renameSync(this.#path, `${this.#path}.${day}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.#prune();
  }

  #prune(): void {
    const prefix = `${basename(this.#path)}.`;
    const rotated = readdirSync(dirname(this.#path))
      .filter((n) => n.startsWith(prefix) && /^\d{4}-\d{2}-\d{2}$/.test(n.slice(prefix.length)))
      .sort();
    for (const name of rotated.slice(0, Math.max(0, rotated.length - this.#retention))) {
      unlinkSync(join(dirname(this.#path), name));
    }
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
