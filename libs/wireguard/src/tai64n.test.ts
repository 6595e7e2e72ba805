// TAI64N encoding (label 2^62 + 10 + seconds, big-endian nanoseconds) and the whitening that
// rounds nanoseconds down to 2^24 ns, as wireguard-go's tai64n package and its tests describe.
import { describe, expect, it } from 'vitest';
import { tai64nAfter, tai64nFromUnixMs, tai64nNext, tai64nNow, tai64nToUnixMs } from './tai64n.js';
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

  it('reads back the instant, to the bucket', () => {
    expect(tai64nToUnixMs(tai64nFromUnixMs(0))).toBe(0);
    // .5 s whitened down to 0x1d000000 ns = 486.5 ms
    expect(tai64nToUnixMs(tai64nFromUnixMs(1_700_000_000_500))).toBe(1_700_000_000_486);
  });

  it('next() is the following bucket, and the last bucket of a second rolls into the next second', () => {
    const inSecond5 = tai64nFromUnixMs(5_000);
    expect(hex(tai64nNext(inSecond5))).toBe('400000000000000f01000000');
    const lastBucketOf5 = tai64nFromUnixMs(5_990); // 990 ms = 0x3b02_3380 ns, bucket 0x3b000000
    expect(hex(lastBucketOf5)).toBe('400000000000000f3b000000');
    const second6 = tai64nNext(lastBucketOf5);
    expect(hex(second6)).toBe('400000000000001000000000');
    expect(tai64nAfter(second6, lastBucketOf5)).toBe(true);
    expect(hex(tai64nNext(second6))).toBe('400000000000001001000000');
  });
});
