import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { clientAddress, createRateLimiter, rateLimit } from './rate-limit.js';
import { errorResponse } from './error-response.js';

describe('createRateLimiter', () => {
  it('allows a burst of `capacity`, then refills at the sustained rate', () => {
    let t = 1_000_000;
    const limiter = createRateLimiter({ capacity: 3, refillPerSecond: 0.5, now: () => t });
    expect([1, 2, 3].map(() => limiter.take('a').allowed)).toEqual([true, true, true]);
    const refused = limiter.take('a');
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeCloseTo(2, 6);
    expect(limiter.take('b').allowed).toBe(true); // keys are independent
    t += 1999;
    expect(limiter.take('a').allowed).toBe(false);
    t += 1;
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
  });

  it('peek does not spend, reset forgets', () => {
    const t = 0;
    const limiter = createRateLimiter({ capacity: 1, refillPerSecond: 1, now: () => t });
    expect(limiter.peek('k').allowed).toBe(true);
    expect(limiter.peek('k').allowed).toBe(true);
    expect(limiter.take('k').allowed).toBe(true);
    expect(limiter.peek('k').allowed).toBe(false);
    limiter.reset('k');
    expect(limiter.take('k').allowed).toBe(true);
  });

  it('keeps memory bounded under a flood of distinct keys, forgetting the least recently used', () => {
    const t = 0;
    const limiter = createRateLimiter({ capacity: 1, refillPerSecond: 1, maxKeys: 100, now: () => t });
    limiter.take('victim');
    for (let i = 0; i < 10_000; i++) limiter.take(`k${i}`);
    expect(limiter.size).toBe(100);
    expect(limiter.peek('k9999').allowed).toBe(false);
    expect(limiter.peek('victim').allowed).toBe(true); // evicted: oldest first
  });

  it('refuses nonsense parameters', () => {
    expect(() => createRateLimiter({ capacity: 0, refillPerSecond: 1 })).toThrow(RangeError);
    expect(() => createRateLimiter({ capacity: 1, refillPerSecond: 0 })).toThrow(RangeError);
  });
});

describe('rateLimit middleware', () => {
  it('answers 429 with Retry-After per client address', async () => {
    const t = 0;
    const app = new Hono();
    app.onError((err) => errorResponse(err));
    app.use(rateLimit({ limiter: createRateLimiter({ capacity: 2, refillPerSecond: 0.1, now: () => t }) }));
    app.get('/', (c) => c.text(clientAddress(c)));
    const from = (ip: string) => ({ incoming: { socket: { remoteAddress: ip } } });
    expect((await app.request('/', {}, from('10.0.0.1'))).status).toBe(200);
    const second = await app.request('/', {}, from('10.0.0.1'));
    expect(await second.text()).toBe('10.0.0.1');
    const third = await app.request('/', {}, from('10.0.0.1'));
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('10');
    expect(((await third.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    expect((await app.request('/', {}, from('10.0.0.2'))).status).toBe(200);
    // Without a socket every request is the same client.
    expect(await (await app.request('/')).text()).toBe('unknown');
  });
});
