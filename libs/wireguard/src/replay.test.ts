// The replay window against wireguard-go's replay/replay_test.go sequence (ported from Linux
// selftest/counter.c; its limit moved below 2^53 since counters are numbers here) and against a
// naive twin (a set of seen counters) in a seeded random comparison.
import { describe, expect, it } from 'vitest';
import { REPLAY_WINDOW_SIZE } from './constants.js';
import { ReplayFilter } from './replay.js';
import { seededRandom, testSeed } from './testing/seeded.js';

// wireguard-go tests with RejectAfterMessages = 2^64 − 2^4 − 1; the same offsets below 2^53 here.
const LIMIT = 2 ** 53 - 2 ** 4 - 1;
const T_LIM = REPLAY_WINDOW_SIZE + 1;

describe('ReplayFilter', () => {
  it('has the 8128-counter window of wireguard-go', () => {
    expect(REPLAY_WINDOW_SIZE).toBe(8128);
  });

  it('keeps the windows of filters made one after another apart (they share memory slabs)', () => {
    // More filters than one slab holds, each sliding over its whole ring and back.
    const filters = Array.from({ length: 150 }, () => new ReplayFilter());
    filters.forEach((f, i) => {
      for (const n of [i, i + 64, i + 5000, REPLAY_WINDOW_SIZE + i]) expect(f.validateCounter(n, LIMIT)).toBe(true);
    });
    filters.forEach((f, i) => {
      expect(f.validateCounter(i + 5000, LIMIT)).toBe(false);
      // Counters the neighbours saw are new here.
      expect(f.validateCounter(REPLAY_WINDOW_SIZE + i + 1, LIMIT)).toBe(true);
      expect(f.validateCounter(i + 4999, LIMIT)).toBe(true);
    });
    const fresh = new ReplayFilter();
    expect(fresh.validateCounter(0, LIMIT)).toBe(true);
    expect(fresh.validateCounter(5000, LIMIT)).toBe(true);
  });

  it('passes the 34 single steps of wireguard-go replay_test.go', () => {
    const f = new ReplayFilter();
    const steps: Array<[number, boolean]> = [
      [0, true], [1, true], [1, false], [9, true], [8, true], [7, true], [7, false],
      [T_LIM, true], [T_LIM - 1, true], [T_LIM - 1, false], [T_LIM - 2, true], [2, true], [2, false],
      [T_LIM + 16, true], [3, false], [T_LIM + 16, false], [T_LIM * 4, true],
      [T_LIM * 4 - (T_LIM - 1), true], [10, false], [T_LIM * 4 - T_LIM, false],
      [T_LIM * 4 - (T_LIM + 1), false], [T_LIM * 4 - (T_LIM - 2), true], [T_LIM * 4 + 1 - T_LIM, false],
      [0, false], [LIMIT, false], [LIMIT - 1, true], [LIMIT, false], [LIMIT - 1, false], [LIMIT - 2, true],
      [LIMIT + 1, false], [LIMIT + 2, false], [LIMIT - 2, false], [LIMIT - 3, true], [0, false],
    ];
    steps.forEach(([n, expected], i) => {
      expect({ step: i + 1, accepted: f.validateCounter(n, LIMIT) }).toEqual({ step: i + 1, accepted: expected });
    });
  });

  it('passes the six bulk tests of wireguard-go replay_test.go', () => {
    const W = REPLAY_WINDOW_SIZE;
    const f = new ReplayFilter();
    const all = (from: number, to: number, step: number) => {
      for (let i = from; step > 0 ? i <= to : i >= to; i += step) expect(f.validateCounter(i, LIMIT)).toBe(true);
    };
    all(1, W, 1);
    expect(f.validateCounter(0, LIMIT)).toBe(true);
    expect(f.validateCounter(0, LIMIT)).toBe(false);

    f.reset();
    all(2, W + 1, 1);
    expect(f.validateCounter(1, LIMIT)).toBe(true);
    expect(f.validateCounter(0, LIMIT)).toBe(false);

    f.reset();
    all(W + 1, 1, -1);

    f.reset();
    all(W + 2, 2, -1);
    expect(f.validateCounter(0, LIMIT)).toBe(false);

    f.reset();
    all(W, 1, -1);
    expect(f.validateCounter(W + 1, LIMIT)).toBe(true);
    expect(f.validateCounter(0, LIMIT)).toBe(false);

    f.reset();
    all(W, 1, -1);
    expect(f.validateCounter(0, LIMIT)).toBe(true);
    expect(f.validateCounter(W + 1, LIMIT)).toBe(true);
  });

  it('matches a naive twin on seeded random counter streams (jumps, reordering, duplicates)', () => {
    const rand = seededRandom(testSeed('replay vs naive'));
    for (let round = 0; round < 20; round++) {
      const f = new ReplayFilter();
      const seen = new Set<number>();
      let highest = 0;
      let base = 0;
      for (let i = 0; i < 3000; i++) {
        const r = rand();
        if (r < 0.02) base += Math.floor(rand() * 30_000); // big jumps clear the ring
        else if (r < 0.6) base += Math.floor(rand() * 70);
        const counter = Math.max(0, base - Math.floor(rand() * (r < 0.8 ? 200 : 9000)));
        // The naive rule the bitmap implements: reject what is seen or more than W behind the highest.
        const naive = !seen.has(counter) && !(counter < highest && highest - counter > REPLAY_WINDOW_SIZE);
        const got = f.validateCounter(counter, LIMIT);
        if (got !== naive) throw new Error(`round ${round} step ${i}: counter ${counter} highest ${highest}: got ${got}`);
        if (naive) {
          seen.add(counter);
          highest = Math.max(highest, counter);
        }
      }
    }
  });
});
