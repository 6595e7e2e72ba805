import { describe, expect, it } from 'vitest';
import { HandshakeClock, type TimestampStore } from './handshake-clock.js';
import { compareTai64n, decodeTai64n, encodeTai64n, nextTai64n, tai64nToHex, WHITENER_NS } from './tai64n.js';

function memoryStore(initial: string | null = null): TimestampStore & { value: string | null; saves: number } {
  return {
    value: initial,
    saves: 0,
    lastTai64n() {
      return this.value;
    },
    saveTai64n(hex) {
      this.value = hex;
      this.saves++;
    },
  };
}

const BUILD = Date.UTC(2026, 10, 1);

describe('tai64n', () => {
  it('encodes like wireguard-go (2^62+10+s, whitened ns)', () => {
    // 2026-01-01T00:00:00.123456789Z
    const ns = 1767225600n * 1_000_000_000n + 123_456_789n;
    const hex = tai64nToHex(encodeTai64n(ns));
    expect(hex).toBe('400000006955b90a' + (123_456_789 - (123_456_789 % WHITENER_NS)).toString(16).padStart(8, '0'));
    expect(hex).toBe('400000006955b90a07000000');
  });

  it('next() moves to the next bucket and rolls into the next second', () => {
    const a = encodeTai64n(5n * 1_000_000_000n + 990_000_000n); // last bucket of second 5
    const b = nextTai64n(a);
    expect(decodeTai64n(b)).toBe(6n * 1_000_000_000n);
    const c = nextTai64n(b);
    expect(decodeTai64n(c)).toBe(6n * 1_000_000_000n + BigInt(WHITENER_NS));
    expect(compareTai64n(c, b)).toBeGreaterThan(0);
  });
});

describe('HandshakeClock', () => {
  it('is strictly monotonic even when called twice in one bucket, and persists each value', () => {
    const store = memoryStore();
    const clock = new HandshakeClock({ now: () => BUILD + 1000, store, buildTimeMs: BUILD });
    const a = clock.tai64n();
    const b = clock.tai64n();
    expect(compareTai64n(b, a)).toBeGreaterThan(0);
    expect(store.value).toBe(tai64nToHex(b));
    expect(store.saves).toBe(2);
    expect(clock.problems()).toEqual([]);
  });

  it('after a reboot into 1970 continues from the saved timestamp and reports it', () => {
    const store = memoryStore();
    const before = new HandshakeClock({ now: () => BUILD + 86_400_000, store, buildTimeMs: BUILD });
    const last = before.tai64n();
    const rebooted = new HandshakeClock({ now: () => 5_000, store, buildTimeMs: BUILD });
    const next = rebooted.tai64n();
    expect(compareTai64n(next, last)).toBeGreaterThan(0);
    expect(rebooted.localClockWrong()).toBe(true);
    expect(rebooted.problems().map((p) => p.code)).toEqual(['before-build-date', 'behind-last-handshake']);
  });

  it("uses the hub's Date when the local clock is wrong", () => {
    const store = memoryStore();
    let local = 1_000; // 1970
    const clock = new HandshakeClock({ now: () => local, store, buildTimeMs: BUILD });
    expect(clock.nowMs()).toBe(BUILD); // floor at build date before any hub contact
    clock.observeHubDate('Sun, 22 Nov 2026 06:00:00 GMT');
    local += 10_000;
    expect(clock.nowMs()).toBe(Date.UTC(2026, 10, 22, 6, 0, 10));
    const ts = decodeTai64n(clock.tai64n());
    expect(ts / 1_000_000_000n).toBe(BigInt(Date.UTC(2026, 10, 22, 6, 0, 10) / 1000));
  });

  it('treats a big skew from the hub as a wrong clock, a small one as fine', () => {
    const store = memoryStore();
    const local = Date.UTC(2027, 0, 1);
    const clock = new HandshakeClock({ now: () => local, store, buildTimeMs: BUILD });
    clock.observeHubDate(new Date(local + 60_000).toUTCString());
    expect(clock.localClockWrong()).toBe(false);
    expect(clock.nowMs()).toBe(local);
    clock.observeHubDate(new Date(local - 3600_000).toUTCString());
    expect(clock.localClockWrong()).toBe(true);
    expect(clock.nowMs()).toBe(local - 3600_000);
    expect(clock.problems()[0]!.message).toBe('The device clock is 3600 s ahead of the hub; the hub\'s time is used for the tunnel.');
  });
});
