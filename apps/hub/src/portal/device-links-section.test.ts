// The device page's exposure window in each state the device can report (open with the time left,
// past but not yet confirmed, ended by the device, until turned off, not reported), and the time-left text.
import { describe, expect, it } from 'vitest';
import type { DeviceInfo } from '../registry/index.js';
import { ExposureWindow, timeLeft } from './device-links-section.js';

const now = new Date('2030-01-01T12:00:00Z');
const text = (d: Partial<DeviceInfo>) =>
  String(ExposureWindow({ device: { online: true, exposureUntil: null, exposureEndedAt: null, ...d } as DeviceInfo, now }))
    .replace(/<[^>]+>/g, '')
    .replace(/\s+/g, ' ')
    .trim();

describe('the exposure window on the device page', () => {
  it('says until when and the time left while it is open', () => {
    expect(text({ exposureUntil: '2030-01-01T14:05:00Z' })).toBe('Open until 2030-01-01 14:05 UTC 2 h 5 min left');
  });
  it('says it ended, by the device or past its end before the device confirmed', () => {
    expect(text({ exposureUntil: '2030-01-01T11:00:00Z', exposureEndedAt: '2030-01-01T11:00:00Z' })).toBe('Ended 2030-01-01 11:00 UTC (1 h ago; the device closed remote access itself)');
    expect(text({ exposureUntil: '2030-01-01T11:59:00Z' })).toBe('Ended 2030-01-01 11:59 UTC (the device has not confirmed yet)');
  });
  it('until turned off while online without a window; not reported when offline', () => {
    expect(text({})).toBe('Until turned off on the device');
    expect(text({ online: false })).toBe('Not reported (until turned off, or the device has not said)');
  });
  it('counts down in seconds, minutes, hours and minutes', () => {
    expect(timeLeft(40_000, 0)).toBe('40 s');
    expect(timeLeft(12 * 60_000 + 5_000, 0)).toBe('12 min');
    expect(timeLeft(3 * 3_600_000, 0)).toBe('3 h');
    expect(timeLeft(0, 5_000)).toBe('0 s');
  });
});
