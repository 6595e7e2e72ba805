// Window choices under a fleet maximum, the Enable form's field, the clamp, and the timer in steps.
import { describe, expect, it } from 'vitest';
import { FakeTimers } from '../testing/fake-timers.js';
import { WindowTimer, allowedWindows, describeWindow, parseWindowChoice, windowEnd } from './exposure-window.js';

const H = 3_600_000;

describe('exposure window choices', () => {
  it('offers every choice without a maximum, the shorter ones plus the maximum with one', () => {
    expect(allowedWindows(undefined)).toEqual([1, 8, 24, null]);
    expect(allowedWindows(null)).toEqual([1, 8, 24, null]);
    expect(allowedWindows(24)).toEqual([1, 8, 24]);
    expect(allowedWindows(4)).toEqual([1, 4]);
    expect(allowedWindows(1)).toEqual([1]);
    expect(allowedWindows(100)).toEqual([1, 8, 24, 100]);
    expect(describeWindow(1)).toBe('for 1 hour');
    expect(describeWindow(null)).toBe('until I turn it off');
  });

  it('parses only offered choices; a missing field means the longest allowed', () => {
    expect(parseWindowChoice('8', null)).toBe(8);
    expect(parseWindowChoice('off', null)).toBeNull();
    expect(parseWindowChoice('off', 8)).toBeUndefined();
    expect(parseWindowChoice('24', 8)).toBeUndefined();
    expect(parseWindowChoice('3', null)).toBeUndefined();
    expect(parseWindowChoice('1e3', null)).toBeUndefined();
    expect(parseWindowChoice(undefined, null)).toBeNull();
    expect(parseWindowChoice('', 4)).toBe(4);
  });

  it('clamps the end to the maximum', () => {
    expect(windowEnd(1000, 8, null)).toBe(1000 + 8 * H);
    expect(windowEnd(1000, null, null)).toBeNull();
    expect(windowEnd(1000, null, 2)).toBe(1000 + 2 * H);
    expect(windowEnd(1000, 24, 8)).toBe(1000 + 8 * H);
    expect(windowEnd(1000, 1, 8)).toBe(1000 + H);
  });

  it('fires once at the end, re-arming past the timer limit; disarm and re-arm replace it', () => {
    const timers = new FakeTimers(0);
    const fired: number[] = [];
    const t = new WindowTimer(timers, (u) => fired.push(u));
    t.arm(40 * 24 * H); // beyond a single setTimeout's ~24.8 days
    timers.advance(30 * 24 * H);
    expect(fired).toEqual([]);
    timers.advance(10 * 24 * H);
    expect(fired).toEqual([40 * 24 * H]);
    expect(timers.pending()).toEqual([]);
    t.arm(timers.now() + H);
    t.arm(timers.now() + 2 * H);
    timers.advance(H);
    expect(fired).toHaveLength(1);
    t.disarm();
    timers.advance(2 * H);
    expect(fired).toHaveLength(1);
    t.arm(timers.now() - 1); // already past: at once
    expect(fired).toHaveLength(2);
  });
});
