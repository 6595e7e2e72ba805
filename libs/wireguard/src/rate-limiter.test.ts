// The handshake rate limiter (burst 5, then one per 50 ms per source, like the kernel's
// selftest/ratelimiter.c) and the deadline heap against a sorted-array twin.
import { describe, expect, it } from 'vitest';
import { DeadlineHeap, type HeapItem } from './deadline-heap.js';
import { RateLimiter } from './rate-limiter.js';
import { seededRandom, testSeed } from './testing/seeded.js';

describe('RateLimiter', () => {
  it('allows a burst of 5, then one message per 50 ms, per source address', () => {
    const r = new RateLimiter();
    const burst = Array.from({ length: 7 }, () => r.allow('udp|192.0.2.1', 1000));
    expect(burst).toEqual([true, true, true, true, true, false, false]);
    expect(r.allow('udp|192.0.2.2', 1000)).toBe(true); // other sources are independent
    expect(r.allow('udp|192.0.2.1', 1049)).toBe(false);
    expect(r.allow('udp|192.0.2.1', 1050)).toBe(true);
    expect(r.allow('udp|192.0.2.1', 1050)).toBe(false);
    expect(r.allow('udp|192.0.2.1', 1100)).toBe(true);
  });

  it('peek says what allow would, without spending a token', () => {
    const r = new RateLimiter();
    expect(r.peek('a', 0)).toBe(true);
    for (let i = 0; i < 5; i++) {
      expect(r.peek('a', 0)).toBe(true);
      expect(r.peek('a', 0)).toBe(true);
      expect(r.allow('a', 0)).toBe(true);
    }
    expect(r.peek('a', 0)).toBe(false);
    expect(r.peek('a', 49)).toBe(false);
    expect(r.peek('a', 50)).toBe(true);
    expect(r.allow('a', 50)).toBe(true);
    expect(r.peek('a', 50)).toBe(false);
  });

  it('refills at most to the burst and forgets idle sources', () => {
    const r = new RateLimiter();
    for (let i = 0; i < 5; i++) r.allow('a', 0);
    const later = Array.from({ length: 7 }, () => r.allow('a', 60_000));
    expect(later).toEqual([true, true, true, true, true, false, false]);
    r.allow('b', 60_000);
    expect(r.size).toBe(2);
    r.allow('c', 62_000); // garbage collection runs at most once a second, dropping idle buckets
    expect(r.size).toBe(1);
  });
});

describe('DeadlineHeap', () => {
  it('pops items in deadline order under random schedule/reschedule/remove (seeded)', () => {
    const rand = seededRandom(testSeed('deadline heap'));
    interface Item extends HeapItem { id: number }
    const heap = new DeadlineHeap<Item>();
    const items: Item[] = Array.from({ length: 200 }, (_, id) => ({ id, heapIndex: -1, heapDeadlineMs: 0 }));
    const twin = new Map<number, number>();
    let now = 0;
    for (let step = 0; step < 5000; step++) {
      const item = items[Math.floor(rand() * items.length)]!;
      const r = rand();
      if (r < 0.6) {
        const d = now + Math.floor(rand() * 1000);
        heap.schedule(item, d);
        twin.set(item.id, d);
      } else if (r < 0.7) {
        heap.remove(item);
        twin.delete(item.id);
      } else {
        now += Math.floor(rand() * 100);
        const popped: number[] = [];
        for (let p = heap.popDue(now); p; p = heap.popDue(now)) popped.push(p.heapDeadlineMs);
        const due = [...twin.entries()].filter(([, d]) => d <= now);
        for (const [id] of due) twin.delete(id);
        expect(popped).toEqual(due.map(([, d]) => d).sort((a, b) => a - b));
        expect(heap.size).toBe(twin.size);
        expect(heap.peekDeadline()).toBe(twin.size ? Math.min(...twin.values()) : undefined);
      }
    }
  });
});
