// A token bucket over the caller's clock, for RFC 5961 §7 challenge-ACK limiting and for RSTs sent
// to segments that match no connection (so a flood of junk cannot be reflected at full rate).

export class TokenBucket {
  private tokens: number;
  private lastMs: number | undefined;

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }

  take(nowMs: number): boolean {
    if (this.lastMs !== undefined && nowMs > this.lastMs) {
      this.tokens = Math.min(this.perSecond, this.tokens + ((nowMs - this.lastMs) * this.perSecond) / 1000);
    }
    this.lastMs = nowMs;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
