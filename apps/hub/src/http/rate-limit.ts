// In-memory token-bucket rate limiting keyed by string (client IP, account, token…), plus a hono
// middleware factory. Buckets live in a bounded Map (insertion order = least recently used first),
// so a flood of distinct keys costs bounded memory instead of growing without limit.
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { RateLimitedError } from '../errors.js';
import { clientIpOf } from './client-ip.js';

export interface RateLimiterOptions {
  /** Burst size: how many requests a fresh key may make at once. */
  capacity: number;
  /** Sustained rate: tokens added back per second. */
  refillPerSecond: number;
  /** At most this many keys are tracked; the least recently used is forgotten first. */
  maxKeys?: number;
  /** Milliseconds clock, injectable for tests. */
  now?: () => number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Seconds until one token is available again (0 when allowed). */
  retryAfterSeconds: number;
  /** Tokens left after this decision. */
  remaining: number;
}

export interface RateLimiter {
  /** Spends `cost` tokens of `key` if it has them; never throws. */
  take(key: string, cost?: number): RateLimitDecision;
  /** What `take` would answer, without spending anything. */
  peek(key: string, cost?: number): RateLimitDecision;
  /** Forgets `key` (e.g. after a successful login clears the failure budget). */
  reset(key: string): void;
  /** Number of keys tracked (for metrics). */
  readonly size: number;
}

/**
 * What the middleware and withFailureBudget accept: an in-memory RateLimiter, or a budget kept
 * elsewhere (the throttles table, shared by the nodes of a cluster), answered asynchronously.
 */
export interface Budget {
  take(key: string): RateLimitDecision | Promise<{ allowed: boolean; retryAfterSeconds?: number }>;
  peek(key: string): RateLimitDecision | Promise<{ allowed: boolean; retryAfterSeconds?: number }>;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { capacity, refillPerSecond } = options;
  if (!(capacity >= 1) || !(refillPerSecond > 0)) {
    throw new RangeError(`rate limiter needs capacity >= 1 and refillPerSecond > 0, got ${capacity}, ${refillPerSecond}`);
  }
  const maxKeys = options.maxKeys ?? 100_000;
  const now = options.now ?? Date.now;
  const buckets = new Map<string, Bucket>();

  function current(key: string, nowMs: number): Bucket {
    const bucket = buckets.get(key);
    if (!bucket) return { tokens: capacity, updatedMs: nowMs };
    const refilled = bucket.tokens + ((nowMs - bucket.updatedMs) / 1000) * refillPerSecond;
    return { tokens: Math.min(capacity, refilled), updatedMs: nowMs };
  }

  function decide(bucket: Bucket, cost: number): RateLimitDecision {
    if (bucket.tokens >= cost) return { allowed: true, retryAfterSeconds: 0, remaining: bucket.tokens - cost };
    return { allowed: false, retryAfterSeconds: (cost - bucket.tokens) / refillPerSecond, remaining: bucket.tokens };
  }

  return {
    take(key, cost = 1) {
      const nowMs = now();
      const bucket = current(key, nowMs);
      const decision = decide(bucket, cost);
      if (decision.allowed) bucket.tokens -= cost;
      // Re-insert so the Map's order tracks recency; a full bucket is the same as no bucket.
      buckets.delete(key);
      if (bucket.tokens < capacity) {
        buckets.set(key, bucket);
        if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value!);
      }
      return decision;
    },
    peek(key, cost = 1) {
      return decide(current(key, now()), cost);
    },
    reset(key) {
      buckets.delete(key);
    },
    get size() {
      return buckets.size;
    },
  };
}

/**
 * The client's address as seen on the socket (never from a client's own X-Forwarded-For). Behind a
 * trusted load balancer (PORTHOLE_TRUST_PROXY) the hub's server records the address the balancer
 * reported, see client-ip.ts; otherwise every visitor would share the balancer's bucket.
 * Under `app.request()` in tests there is no socket; tests pass `{ incoming: { socket: { remoteAddress } } }`
 * as the env, and without one every request counts as the same client, `unknown`.
 */
export function clientAddress(c: Context): string {
  const env = c.env as { incoming?: IncomingMessage } | undefined;
  return env?.incoming ? clientIpOf(env.incoming) : 'unknown';
}

export interface RateLimitMiddlewareOptions {
  limiter: Budget;
  /** The key a request is counted under; defaults to the client address. */
  key?: (c: Context) => string;
  /** Error message shown to the client. */
  message?: string;
}

/** Refuses requests over the limit with 429 (RateLimitedError → Retry-After) before the handler runs. */
export function rateLimit(options: RateLimitMiddlewareOptions): MiddlewareHandler {
  const keyOf = options.key ?? clientAddress;
  const message = options.message ?? 'too many requests; slow down';
  return async (c, next) => {
    const decision = await options.limiter.take(keyOf(c));
    if (!decision.allowed) throw new RateLimitedError(message, decision.retryAfterSeconds ?? 1);
    await next();
  };
}

/**
 * Runs `attempt` for `key` unless its failure budget is spent (429 before any work), and spends one
 * token of it when the attempt fails in a way `isMiss` recognises (a wrong token or code). Successes
 * cost nothing, so a legitimate client is never slowed by its own correct requests.
 */
export async function withFailureBudget<T>(
  limiter: Budget,
  key: string,
  message: string,
  attempt: () => Promise<T>,
  isMiss: (err: unknown) => boolean,
): Promise<T> {
  const before = await limiter.peek(key);
  if (!before.allowed) throw new RateLimitedError(message, before.retryAfterSeconds ?? 1);
  try {
    return await attempt();
  } catch (err) {
    if (isMiss(err)) await limiter.take(key);
    throw err;
  }
}
