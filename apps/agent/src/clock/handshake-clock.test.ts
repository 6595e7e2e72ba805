import { describe, expect, it } from 'vitest';
import { HandshakeClock, type TimestampStore } from './handshake-clock.js';
import { tai64nAfter, tai64nToUnixMs } from '@porthole/wireguard';

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

describe('HandshakeClock', () => {
  it('is strictly monotonic even when called twice in one bucket, and persists each value', () => {
    const store = memoryStore();
    const clock = new HandshakeClock({ now: () => BUILD + 1000, store, buildTimeMs: BUILD });
    const a = clock.tai64n();
    const b = clock.tai64n();
    expect(tai64nAfter(b, a)).toBe(true);
    expect(store.value).toBe(Buffer.from(b).toString('hex'));
    expect(store.saves).toBe(2);
    expect(clock.problems()).toEqual([]);
  });

  it('after a reboot into 1970 continues from the saved timestamp and reports it', () => {
    const store = memoryStore();
    const before = new HandshakeClock({ now: () => BUILD + 86_400_000, store, buildTimeMs: BUILD });
    const last = before.tai64n();
    const rebooted = new HandshakeClock({ now: () => 5_000, store, buildTimeMs: BUILD });
    const next = rebooted.tai64n();
    expect(tai64nAfter(next, last)).toBe(true);
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
    expect(Math.floor(tai64nToUnixMs(clock.tai64n()) / 1000)).toBe(Date.UTC(2026, 10, 22, 6, 0, 10) / 1000);
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
