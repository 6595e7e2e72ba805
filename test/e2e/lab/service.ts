// A long-lived program of the lab (hub, meter + agent, relay) started inside a namespace with its
// JSON-line log collected, so tests wait for a logged event instead of sleeping, and print the log
// tail when something fails.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { stopProcess, type Netns } from '../../support/netns.js';

export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');
export const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');

export interface LogLine {
  msg?: string;
  [field: string]: unknown;
}

export interface Service {
  readonly name: string;
  readonly process: ChildProcess;
  /** Every line printed so far (stdout and stderr). */
  output(): string;
  /** Parsed JSON lines so far. */
  lines(): LogLine[];
  /** Resolves with the first log line (past or future) matching `match`. */
  waitFor(match: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  exited(): boolean;
  /** SIGTERM to its process group (SIGKILL after the grace period); resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export function startService(ns: Netns, name: string, command: string, args: string[], env: Record<string, string>, cwd = REPO_ROOT): Service {
  const child = ns.spawn(command, args, { cwd, env: { ...process.env, ...env } });
  let text = '';
  const parsed: LogLine[] = [];
  const waiters = new Set<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  let partial = '';
  const onData = (chunk: Buffer) => {
    const s = chunk.toString();
    text += s;
    partial += s;
    let nl: number;
    while ((nl = partial.indexOf('\n')) !== -1) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      try {
        const obj = JSON.parse(line) as LogLine;
        parsed.push(obj);
        for (const w of waiters) if (w.match(obj)) w.resolve(obj);
      } catch {
        /* not JSON: kept in text only */
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let exitCode: number | null | undefined;
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      exitCode = code ?? (signal ? 128 : null);
      resolve(exitCode);
    }),
  );

  return {
    name,
    process: child,
    output: () => text,
    lines: () => parsed,
    exited: () => exitCode !== undefined,
    waitFor(match, what, timeoutMs = 30_000) {
      const found = parsed.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (l: LogLine) => {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve(l);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`${name}: timed out after ${timeoutMs} ms waiting for ${what}; log tail:\n${text.slice(-4000)}`));
        }, timeoutMs);
        waiters.add(waiter);
        void exit.then((code) => {
          if (!waiters.has(waiter)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          reject(new Error(`${name}: exited (${code}) while waiting for ${what}; log tail:\n${text.slice(-4000)}`));
        });
      });
    },
    async stop(graceMs = 5_000) {
      await stopProcess(child, graceMs);
      return exit;
    },
  };
}
