// A long-lived child process of a test speaking JSON lines on stdout: a fixture that takes commands
// as JSON lines on stdin (a hub, our WireGuard node, its netstack), the real agent (its log lines),
// the labs' meters and proxies, the benchmarks' hub, devices and simulator. `next(match)` waits for a
// line that matches; everything seen is kept for failure messages, and what is not JSON is kept with
// stderr.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { stopProcess } from './netns.js';

export type Line = { event?: string; msg?: string; [key: string]: unknown };

export class JsonProcess {
  readonly lines: Line[] = [];
  stderr = '';
  #cursor = 0;
  #waiters: Array<{ match: (l: Line) => boolean; resolve: (l: Line) => void; reject: (e: Error) => void; from: number }> = [];
  #exited: string | undefined;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    /** Sees every line first, as it arrives (progress lines nobody waits for); may be set later. */
    public onLine?: (line: Line) => void,
  ) {
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        this.stderr += `${text}\n`;
        return;
      }
      this.lines.push(line);
      this.onLine?.(line);
      const index = this.lines.length - 1;
      for (const w of [...this.#waiters]) {
        if (index >= w.from && w.match(line)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    });
    child.stderr?.on('data', (c: Buffer) => {
      this.stderr = (this.stderr + c.toString()).slice(-20_000);
    });
    child.once('exit', (code, signal) => {
      this.#exited = `${name} exited (${code ?? signal}); last lines:\n${this.lines.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`;
      for (const w of this.#waiters.splice(0)) w.reject(new Error(`${this.#exited}\n${this.stderr}`));
    });
  }

  /** The next line (after the last one returned by next) matching; old matches count too when `fromStart`. */
  next(match: (l: Line) => boolean, what: string, timeoutMs = 30_000, fromStart = false): Promise<Line> {
    const from = fromStart ? 0 : this.#cursor;
    for (let i = from; i < this.lines.length; i++) {
      if (match(this.lines[i]!)) {
        this.#cursor = i + 1;
        return Promise.resolve(this.lines[i]!);
      }
    }
    if (this.#exited) return Promise.reject(new Error(`${this.#exited}\n${this.stderr}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        reject(new Error(`${this.name}: timed out waiting for ${what}\nlast lines: ${this.lines.slice(-8).map((l) => JSON.stringify(l)).join('\n')}\n${this.stderr.slice(-3000)}`));
      }, timeoutMs);
      const done = (l: Line) => {
        clearTimeout(timer);
        this.#cursor = this.lines.indexOf(l) + 1;
        resolve(l);
      };
      this.#waiters.push({ match, resolve: done, reject: (e) => (clearTimeout(timer), reject(e)), from: this.lines.length });
    });
  }

  /** The next line with this event; an `error` event instead fails. */
  async nextEvent(event: string, timeoutMs = 30_000): Promise<Line> {
    const line = await this.next((l) => l.event === event || l.event === 'error', event, timeoutMs);
    if (line.event === 'error') throw new Error(`${this.name}: ${String(line.message)}`);
    return line;
  }

  /** Writes a command to the fixture's stdin as one JSON line. */
  send(cmd: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
  }

  /** Sends a command and waits for the reply event; an `error` event instead fails. */
  ask(cmd: Record<string, unknown>, event: string, timeoutMs = 30_000): Promise<Line> {
    const reply = this.nextEvent(event, timeoutMs);
    this.send(cmd);
    return reply;
  }

  /**
   * Closes stdin (a fixture's cue to exit); one still running `exitWithinMs` later gets SIGTERM to
   * its process group, and SIGKILL 5 s after that.
   */
  async stop(exitWithinMs = 0): Promise<void> {
    this.child.stdin?.end();
    if (exitWithinMs > 0 && this.child.exitCode === null && this.child.signalCode === null) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([once(this.child, 'exit'), new Promise((resolve) => (timer = setTimeout(resolve, exitWithinMs)))]);
      clearTimeout(timer);
    }
    await stopProcess(this.child, 5_000);
  }
}
