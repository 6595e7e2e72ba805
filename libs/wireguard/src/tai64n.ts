// TAI64N timestamps for handshake initiations (whitepaper §5.4.2, wireguard-go tai64n/tai64n.go):
// 8 bytes big-endian 2^62 + 10 + Unix seconds, then 4 bytes big-endian nanoseconds, with the
// nanoseconds rounded down to a multiple of 2^24 so the timestamp leaks less about the clock.
import { TAI64N_SIZE } from './constants.js';

const TAI64_BASE = 0x4000_0000_0000_000an;
const WHITENER_MASK = 0x00ff_ffff;
const NS_PER_S = 1_000_000_000;

/** Encodes a wall-clock time (Unix ms, may be fractional) as a whitened TAI64N timestamp. */
export function tai64nFromUnixMs(unixMs: number): Uint8Array {
  const seconds = Math.floor(unixMs / 1000);
  const nanos = Math.floor((unixMs - seconds * 1000) * 1e6);
  const out = new Uint8Array(TAI64N_SIZE);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, TAI64_BASE + BigInt(seconds));
  view.setUint32(8, (nanos & ~WHITENER_MASK) >>> 0);
  return out;
}

/** The default TAI64N source: the system wall clock. Inject another (`tai64n` option) without an RTC. */
export function tai64nNow(): Uint8Array {
  return tai64nFromUnixMs(Date.now());
}

/** True when `a` is strictly later than `b` (bytewise big-endian comparison, as wireguard-go). */
export function tai64nAfter(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < TAI64N_SIZE; i++) {
    if (a[i]! !== b[i]!) return a[i]! > b[i]!;
  }
  return false;
}

/** The instant a TAI64N timestamp names, in Unix ms (rounded down to a whole ms). */
export function tai64nToUnixMs(stamp: Uint8Array): number {
  const view = new DataView(stamp.buffer, stamp.byteOffset, TAI64N_SIZE);
  return Number(view.getBigUint64(0) - TAI64_BASE) * 1000 + Math.floor(view.getUint32(8) / 1e6);
}

/**
 * The earliest whitened timestamp strictly after `stamp`: its next 2^24 ns bucket, or the next
 * second (10^9 is not a multiple of 2^24, so the last bucket of a second rolls over). A sender
 * whose clock is behind its last initiation continues from here: responders take only later ones.
 */
export function tai64nNext(stamp: Uint8Array): Uint8Array {
  const view = new DataView(stamp.buffer, stamp.byteOffset, TAI64N_SIZE);
  const nextNanos = (view.getUint32(8) & ~WHITENER_MASK) + WHITENER_MASK + 1;
  const out = new Uint8Array(TAI64N_SIZE);
  const next = new DataView(out.buffer);
  const rollOver = nextNanos >= NS_PER_S;
  next.setBigUint64(0, view.getBigUint64(0) + (rollOver ? 1n : 0n));
  next.setUint32(8, rollOver ? 0 : nextNanos);
  return out;
}
