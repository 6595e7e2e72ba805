// When the device URL says "the owner's access window ended": the device's own word first, else
// the end it reported once past — unless the owner turned access off on the device before that.
import { describe, expect, it } from 'vitest';
import { windowEndedAt, type DeviceRoute } from './contracts.js';

const NOW = Date.UTC(2026, 11, 5, 12);
const device = (patch: Partial<DeviceRoute>): DeviceRoute => ({
  id: 'd',
  serial: 'an1',
  tunnelIp: '100.64.0.2',
  status: 'enabled',
  accessPolicy: 'owners',
  online: false,
  lastSeenAt: null,
  ...patch,
});

describe('windowEndedAt', () => {
  it('takes the device’s word, else the reported end once it has passed', () => {
    const said = new Date(NOW - 60_000);
    expect(windowEndedAt(device({ exposureEndedAt: said, exposureUntil: new Date(NOW + 1) }), NOW)).toBe(said);
    const until = new Date(NOW - 1);
    expect(windowEndedAt(device({ exposureUntil: until }), NOW)).toBe(until);
    expect(windowEndedAt(device({ exposureUntil: new Date(NOW + 1) }), NOW)).toBeUndefined();
    expect(windowEndedAt(device({ exposureUntil: null }), NOW)).toBeUndefined();
    expect(windowEndedAt(device({}), NOW)).toBeUndefined();
  });

  it('says nothing about a window the owner cut short with Disable on the device', () => {
    expect(windowEndedAt(device({ exposureUntil: new Date(NOW - 1), offlineReason: 'turned-off-on-device' }), NOW)).toBeUndefined();
    const said = new Date(NOW - 1);
    expect(windowEndedAt(device({ exposureEndedAt: said, offlineReason: 'turned-off-on-device' }), NOW)).toBe(said);
  });
});
