// The agent's clock for WireGuard handshake timestamps. A responder refuses an initiation whose
// timestamp is not newer than the last one it accepted, so after a reboot with a clock in 1970 (no
// RTC) the device would be locked out. This source always returns max(corrected now, last + 1
// bucket), makes that value durable before it is used, and corrects a clearly wrong local clock
// with the hub's HTTP `Date` (or at least the build date). It also reports clock problems.
import { tai64nAfter, tai64nFromUnixMs, tai64nNext } from '@porthole/wireguard';

/** Any local time before this is certainly wrong (the agent did not exist yet). */
export const BUILD_TIME_MS = Date.UTC(2026, 10, 1);
/** Local clock differing from the hub's by more than this counts as wrong. */
export const MAX_SKEW_MS = 5 * 60_000;

export interface TimestampStore {
  lastTai64n(): string | null;
  /** Must be durable when it returns (the timestamp is about to go on the wire). */
  saveTai64n(hex: string): void;
}

export interface ClockProblem {
  code: 'before-build-date' | 'skewed-from-hub' | 'behind-last-handshake';
  message: string;
}

export interface HandshakeClockOptions {
  now?: () => number;
  store: TimestampStore;
  buildTimeMs?: number;
}

export class HandshakeClock {
  readonly #now: () => number;
  readonly #store: TimestampStore;
  readonly #buildTimeMs: number;
  /** hub time − local time, from the last `Date` header seen; undefined until one is seen. */
  #hubOffsetMs: number | undefined;
  #behindLast = false;

  constructor(options: HandshakeClockOptions) {
    this.#now = options.now ?? Date.now;
    this.#store = options.store;
    this.#buildTimeMs = options.buildTimeMs ?? BUILD_TIME_MS;
  }

  /** Feed every hub HTTP response's `Date` header (1 s resolution; good enough to fix a 1970 clock). */
  observeHubDate(dateHeader: string | null | undefined, localMs = this.#now()): void {
    if (!dateHeader) return;
    const hubMs = Date.parse(dateHeader);
    if (!Number.isFinite(hubMs)) return;
    this.#hubOffsetMs = hubMs - localMs;
  }

  /** True when the local clock is clearly wrong and the corrected time is in use. */
  localClockWrong(localMs = this.#now()): boolean {
    if (localMs < this.#buildTimeMs) return true;
    return this.#hubOffsetMs !== undefined && Math.abs(this.#hubOffsetMs) > MAX_SKEW_MS;
  }

  /** Best estimate of real time in ms. */
  nowMs(): number {
    const local = this.#now();
    if (!this.localClockWrong(local)) return local;
    if (this.#hubOffsetMs !== undefined) return local + this.#hubOffsetMs;
    return Math.max(local, this.#buildTimeMs);
  }

  /** The TAI64N for the next handshake initiation: monotonic across calls and across reboots. */
  tai64n(): Uint8Array {
    const candidate = tai64nFromUnixMs(Math.floor(this.nowMs()));
    const lastHex = this.#store.lastTai64n();
    let chosen = candidate;
    this.#behindLast = false;
    if (lastHex !== null) {
      const floor = tai64nNext(new Uint8Array(Buffer.from(lastHex, 'hex')));
      if (tai64nAfter(floor, candidate)) {
        chosen = floor;
        // Two handshakes inside one 16.8 ms bucket are normal; a gap of seconds is a clock problem.
        this.#behindLast = tai64nAfter(floor, tai64nFromUnixMs(Math.floor(this.nowMs()) + 2000));
      }
    }
    this.#store.saveTai64n(Buffer.from(chosen).toString('hex'));
    return chosen;
  }

  problems(): ClockProblem[] {
    const local = this.#now();
    const out: ClockProblem[] = [];
    if (local < this.#buildTimeMs) {
      out.push({
        code: 'before-build-date',
        message: `The device clock reads ${new Date(local).toISOString()}, before this agent was built; ${
          this.#hubOffsetMs !== undefined ? "the hub's time is used instead" : 'waiting for the hub time'
        }.`,
      });
    }
    if (this.#hubOffsetMs !== undefined && Math.abs(this.#hubOffsetMs) > MAX_SKEW_MS && local >= this.#buildTimeMs) {
      out.push({
        code: 'skewed-from-hub',
        message: `The device clock is ${Math.round(Math.abs(this.#hubOffsetMs) / 1000)} s ${
          this.#hubOffsetMs > 0 ? 'behind' : 'ahead of'
        } the hub; the hub's time is used for the tunnel.`,
      });
    }
    if (this.#behindLast) {
      out.push({
        code: 'behind-last-handshake',
        message: 'The clock is behind the last handshake this device sent; handshake times continue from the saved one.',
      });
    }
    return out;
  }
}
