// Per-source token bucket for handshake messages under load (wireguard-go ratelimiter/ratelimiter.go):
// 20 per second with a burst of 5; idle entries are collected about once a second. Time is passed in.
import { RATE_LIMIT_BURST, RATE_LIMIT_GC_INTERVAL_MS, RATE_LIMIT_PACKETS_PER_SECOND } from './constants.js';

const PACKET_COST_MS = 1000 / RATE_LIMIT_PACKETS_PER_SECOND;
const MAX_TOKENS_MS = PACKET_COST_MS * RATE_LIMIT_BURST;

interface Bucket {
  tokensMs: number;
  lastMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastGcMs = -Infinity;

  constructor(
    private readonly costMs = PACKET_COST_MS,
    private readonly maxTokensMs = MAX_TOKENS_MS,
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  /**
   * True when allow() would say yes now, without spending a token: for a caller that wants to know
   * whether a message is worth checking at all before it does costly work on it.
   */
  peek(source: string, nowMs: number): boolean {
    const bucket = this.buckets.get(source);
    return !bucket || Math.min(this.maxTokensMs, bucket.tokensMs + Math.max(0, nowMs - bucket.lastMs)) >= this.costMs;
  }

  /** True when a message from `source` may be processed now; spends one token if so. */
  allow(source: string, nowMs: number): boolean {
    if (nowMs - this.lastGcMs >= RATE_LIMIT_GC_INTERVAL_MS) this.collect(nowMs);
    const bucket = this.buckets.get(source);
    if (!bucket) {
      this.buckets.set(source, { tokensMs: this.maxTokensMs - this.costMs, lastMs: nowMs });
      return true;
    }
    bucket.tokensMs = Math.min(this.maxTokensMs, bucket.tokensMs + Math.max(0, nowMs - bucket.lastMs));
    bucket.lastMs = nowMs;
    if (bucket.tokensMs >= this.costMs) {
      bucket.tokensMs -= this.costMs;
      return true;
    }
    return false;
  }

  private collect(nowMs: number): void {
    this.lastGcMs = nowMs;
    for (const [key, bucket] of this.buckets) {
      if (nowMs - bucket.lastMs > RATE_LIMIT_GC_INTERVAL_MS) this.buckets.delete(key);
    }
  }
}
