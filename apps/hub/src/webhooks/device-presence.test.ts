// Device presence: online on the first handshake, offline when the overlay says so, each device
// looked at on its expiry slot (not every tick), early on a goodbye or a removed peer.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDevicePresence } from './device-presence.js';

const REJECT_AFTER_TIME_MS = 180_000;
const INTERVAL_MS = 2_000;

/** A fake overlay: handshake times per tunnel IP on the faked clock, goodbyes, remote holders. */
function fakeOverlay() {
  const handshakeAt = new Map<string, number>();
  const goodbye = new Set<string>();
  const heldElsewhere = new Set<string>();
  const looked: string[] = [];
  const events: string[] = [];
  const locallyOnline = (ip: string) => {
    const at = handshakeAt.get(ip);
    return at !== undefined && !goodbye.has(ip) && Date.now() - at < REJECT_AFTER_TIME_MS;
  };
  const presence = createDevicePresence({
    isOnline: (ip) => {
      looked.push(ip);
      return heldElsewhere.has(ip) || locallyOnline(ip);
    },
    offlineReason: (ip) => (goodbye.has(ip) ? 'turned-off-on-device' : undefined),
    expiresInMs: (ip) => {
      const at = handshakeAt.get(ip);
      return at === undefined ? undefined : REJECT_AFTER_TIME_MS - (Date.now() - at);
    },
    findDevice: async (ip) => (ip.endsWith('.99') ? undefined : { serial: `s-${ip}` }),
    onOnline: ({ serial }) => events.push(`online ${serial}`),
    onOffline: ({ serial, reason }) => events.push(`offline ${serial} ${reason}`),
    intervalMs: INTERVAL_MS,
  });
  return {
    presence,
    looked,
    events,
    goodbye,
    heldElsewhere,
    async handshake(ip: string) {
      handshakeAt.set(ip, Date.now());
      presence.handshake(ip);
      await vi.advanceTimersByTimeAsync(0); // findDevice
    },
    remove(ip: string) {
      handshakeAt.delete(ip);
    },
  };
}

describe('device presence', () => {
  let overlay: ReturnType<typeof fakeOverlay>;
  beforeEach(() => {
    vi.useFakeTimers();
    overlay = fakeOverlay();
  });
  afterEach(() => {
    overlay.presence.close();
    vi.useRealTimers();
  });

  it('says online on the first handshake only, and offline once the session has expired', async () => {
    await overlay.handshake('100.64.1.1');
    await overlay.handshake('100.64.1.1');
    expect(overlay.events).toEqual(['online s-100.64.1.1']);
    await vi.advanceTimersByTimeAsync(REJECT_AFTER_TIME_MS - INTERVAL_MS);
    expect(overlay.events).toEqual(['online s-100.64.1.1']);
    await vi.advanceTimersByTimeAsync(3 * INTERVAL_MS);
    expect(overlay.events).toEqual(['online s-100.64.1.1', 'offline s-100.64.1.1 no-handshake']);
    expect(overlay.presence.scheduled).toBe(0);
  });

  it('ignores peers that are not devices', async () => {
    await overlay.handshake('100.64.1.99');
    expect(overlay.events).toEqual([]);
    expect(overlay.presence.scheduled).toBe(0);
  });

  it('does not look at an online device before its session can have expired', async () => {
    for (let i = 1; i <= 50; i++) await overlay.handshake(`100.64.1.${i}`);
    await vi.advanceTimersByTimeAsync(REJECT_AFTER_TIME_MS - INTERVAL_MS);
    expect(overlay.looked).toEqual([]);
    expect(overlay.presence.scheduled).toBe(50);
  });

  it('keeps a device that rekeyed online, looking at it once per session lifetime', async () => {
    await overlay.handshake('100.64.1.1');
    // Rekeys every two minutes for ten minutes.
    for (let t = 0; t < 5; t++) {
      await vi.advanceTimersByTimeAsync(120_000);
      await overlay.handshake('100.64.1.1');
    }
    expect(overlay.events).toEqual(['online s-100.64.1.1']);
    // Ten minutes of 2 s ticks would be 300 looks; on its expiry slots it is a handful.
    expect(overlay.looked.length).toBeLessThanOrEqual(5);
    await vi.advanceTimersByTimeAsync(REJECT_AFTER_TIME_MS + 2 * INTERVAL_MS);
    expect(overlay.events).toEqual(['online s-100.64.1.1', 'offline s-100.64.1.1 no-handshake']);
  });

  it('says offline on the next tick after a goodbye, with its reason', async () => {
    await overlay.handshake('100.64.1.1');
    await vi.advanceTimersByTimeAsync(10_000);
    overlay.goodbye.add('100.64.1.1');
    overlay.presence.changed('100.64.1.1');
    await vi.advanceTimersByTimeAsync(2 * INTERVAL_MS);
    expect(overlay.events).toEqual(['online s-100.64.1.1', 'offline s-100.64.1.1 turned-off-on-device']);
  });

  it('says offline on the next tick after its peer was removed', async () => {
    await overlay.handshake('100.64.1.1');
    await overlay.handshake('100.64.1.2');
    overlay.remove('100.64.1.1');
    overlay.presence.changed('100.64.1.1');
    overlay.presence.changed('100.64.1.3'); // never online: nothing to say
    await vi.advanceTimersByTimeAsync(2 * INTERVAL_MS);
    expect(overlay.events).toEqual(['online s-100.64.1.1', 'online s-100.64.1.2', 'offline s-100.64.1.1 no-handshake']);
    expect(overlay.presence.scheduled).toBe(1);
  });

  it('keeps looking every tick at a device online for another reason (held by another node) until it is not', async () => {
    await overlay.handshake('100.64.1.1');
    overlay.heldElsewhere.add('100.64.1.1');
    await vi.advanceTimersByTimeAsync(REJECT_AFTER_TIME_MS + 2 * INTERVAL_MS);
    const looks = overlay.looked.length;
    await vi.advanceTimersByTimeAsync(10 * INTERVAL_MS);
    expect(overlay.looked.length).toBeGreaterThanOrEqual(looks + 9);
    expect(overlay.events).toEqual(['online s-100.64.1.1']);
    overlay.heldElsewhere.delete('100.64.1.1');
    await vi.advanceTimersByTimeAsync(2 * INTERVAL_MS);
    expect(overlay.events).toEqual(['online s-100.64.1.1', 'offline s-100.64.1.1 no-handshake']);
  });

  it('comes online again on a handshake after going offline', async () => {
    await overlay.handshake('100.64.1.1');
    await vi.advanceTimersByTimeAsync(REJECT_AFTER_TIME_MS + 2 * INTERVAL_MS);
    await overlay.handshake('100.64.1.1');
    expect(overlay.events).toEqual(['online s-100.64.1.1', 'offline s-100.64.1.1 no-handshake', 'online s-100.64.1.1']);
    expect(overlay.presence.scheduled).toBe(1);
  });

  it('check() looks at every online device at once', async () => {
    await overlay.handshake('100.64.1.1');
    await overlay.handshake('100.64.1.2');
    overlay.goodbye.add('100.64.1.2');
    overlay.presence.check();
    expect(overlay.events).toEqual(['online s-100.64.1.1', 'online s-100.64.1.2', 'offline s-100.64.1.2 turned-off-on-device']);
  });

  it('catches up after the clock jumped far ahead', async () => {
    await overlay.handshake('100.64.1.1');
    vi.setSystemTime(Date.now() + 24 * 3600_000);
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(overlay.events).toEqual(['online s-100.64.1.1', 'offline s-100.64.1.1 no-handshake']);
  });
});
