// A token bucket (rate + burst) on a caller-supplied millisecond clock: the per-connection message
// limit of the hub's WebSocket carrier. No timers: tokens are refilled lazily on each take().
export class TokenBucket {
  #tokens: number;
  #lastMs: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    nowMs: number,
  ) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) throw new Error(`token bucket: rate ${ratePerSecond}/s and burst ${burst} must be positive`);
    this.#tokens = burst;
    this.#lastMs = nowMs;
  }

  /** Takes one token if available. A clock that goes backwards adds nothing. */
  take(nowMs: number): boolean {
    if (nowMs > this.#lastMs) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((nowMs - this.#lastMs) * this.ratePerSecond) / 1000);
      this.#lastMs = nowMs;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
