// How the portal writes sizes and times, and reads times typed into forms.
import { describe, expect, it } from 'vitest';
import { ago, formatBytes, formatTime, parseUtcInput, splitTags, toUtcInput } from './format.js';

describe('portal formats', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [5 * 1024 * 1024, '5.0 MiB'],
    [15.5 * 1024 ** 3, '16 GiB'],
    [-3, '0 B'],
    [Number.NaN, '0 B'],
  ])('formatBytes(%d) = %j', (n, text) => expect(formatBytes(n)).toBe(text));

  it('writes relative times with plural days only from two days on', () => {
    const now = new Date('2030-01-03T00:00:00Z');
    const at = (ms: number) => new Date(now.getTime() - ms);
    expect(ago(at(2000), now)).toBe('just now');
    expect(ago(at(42_000), now)).toBe('42 s ago');
    expect(ago(at(5 * 60_000 + 59_000), now)).toBe('5 min ago');
    expect(ago(at(30 * 3600_000), now)).toBe('30 h ago');
    expect(ago(at(-(48 * 3600_000 - 1000)), now)).toBe('in 47 h');
    expect(ago(at(-48 * 3600_000), now)).toBe('in 2 days');
    expect(ago(at(12 * 86_400_000), now)).toBe('12 days ago');
    expect(formatTime('2030-01-03T04:05:06.789Z')).toBe('2030-01-03 04:05 UTC');
    expect(formatTime('2030-01-03T04:05:06.789Z', true)).toBe('2030-01-03 04:05:06 UTC');
  });

  it('reads datetime-local values as UTC and refuses anything else by field name', () => {
    expect(parseUtcInput('2030-01-31T14:00', 'from')?.toISOString()).toBe('2030-01-31T14:00:00.000Z');
    expect(parseUtcInput('2030-01-31T14:00:30', 'from')?.toISOString()).toBe('2030-01-31T14:00:30.000Z');
    expect(parseUtcInput('', 'from')).toBeUndefined();
    expect(parseUtcInput(undefined, 'from')).toBeUndefined();
    for (const bad of ['2030-02-30T10:00', '2030-01-31 14:00', 'yesterday', '2030-13-01T00:00', '2030-01-31T24:00']) {
      expect(() => parseUtcInput(bad, 'to'), bad).toThrow(/^to must be a date and time/);
    }
    expect(toUtcInput(new Date('2030-01-31T14:00:59.000Z'))).toBe('2030-01-31T14:00');
  });

  it('splits typed tags on commas and spaces', () => {
    expect(splitTags(' roof, berlin  meter-2,,')).toEqual(['roof', 'berlin', 'meter-2']);
    expect(splitTags('')).toEqual([]);
  });
});
