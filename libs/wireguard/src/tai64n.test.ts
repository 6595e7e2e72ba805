// TAI64N encoding (label 2^62 + 10 + seconds, big-endian nanoseconds) and the whitening that
// rounds nanoseconds down to 2^24 ns, as wireguard-go's tai64n package and its tests describe.
import { describe, expect, it } from 'vitest';
import { tai64nAfter, tai64nFromUnixMs, tai64nNow } from './tai64n.js';
import { hex } from './testing/seeded.js';

describe('TAI64N', () => {
  it('encodes the Unix epoch and a later instant byte-exactly', () => {
    expect(hex(tai64nFromUnixMs(0))).toBe('400000000000000a00000000');
    // 1700000000.5 s: 500000000 ns = 0x1dcd6500, rounded down to a multiple of 2^24 = 0x1d000000
    expect(hex(tai64nFromUnixMs(1_700_000_000_500))).toBe('400000006553f10a1d000000');
  });

  it('orders timestamps bytewise; instants in one 16.8 ms bucket are equal, 20 ms apart are after', () => {
    const base = 1_700_000_000_000; // .000 s is a bucket boundary
    expect(tai64nAfter(tai64nFromUnixMs(base + 10), tai64nFromUnixMs(base))).toBe(false);
    expect(tai64nAfter(tai64nFromUnixMs(base + 20), tai64nFromUnixMs(base))).toBe(true);
    expect(tai64nAfter(tai64nFromUnixMs(base), tai64nFromUnixMs(base + 20))).toBe(false);
    expect(tai64nAfter(tai64nFromUnixMs(base + 1000), tai64nFromUnixMs(base + 999))).toBe(true);
  });

  it('reads the wall clock by default', () => {
    const before = tai64nFromUnixMs(Date.now() - 1000);
    expect(tai64nAfter(tai64nNow(), before)).toBe(true);
  });
});
