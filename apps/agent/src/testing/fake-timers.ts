// A manual clock for tests of the agent's loops: timers fire only when the test advances time.
import type { Timers } from '../timers.js';
import { seededRandom } from '@porthole/wireguard/testing';

export class FakeTimers implements Timers {
  #now: number;
  #seq = 0;
  #queue: Array<{ at: number; seq: number; fn: () => void }> = [];
  #random: () => number;

  constructor(startMs: number, seed = 1) {
    this.#now = startMs;
    this.#random = seededRandom(seed); // deterministic jitter
  }

  now = (): number => this.#now;
  random = (): number => this.#random();

  setTimeout = (fn: () => void, ms: number): unknown => {
    const entry = { at: this.#now + Math.max(0, ms), seq: ++this.#seq, fn };
    this.#queue.push(entry);
    return entry;
  };

  clearTimeout = (handle: unknown): void => {
    this.#queue = this.#queue.filter((e) => e !== handle);
  };

  /** Pending timers' due times, soonest first. */
  pending(): number[] {
    return this.#queue.map((e) => e.at - this.#now).sort((a, b) => a - b);
  }

  /** Moves time forward, firing due timers in order (each at its own due time). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      this.#queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#queue[0];
      if (!next || next.at > end) break;
      this.#queue.shift();
      this.#now = next.at;
      next.fn();
    }
    this.#now = end;
  }

  /** Fires the soonest timer (jumping time to it); returns the jump in ms, or undefined if none. */
  fireNext(): number | undefined {
    const d = this.pending()[0];
    if (d === undefined) return undefined;
    this.advance(d);
    return d;
  }
}
