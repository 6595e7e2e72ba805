// TAI64N timestamps as WireGuard sends them in handshake initiations (whitepaper §5.4.2):
// 8 bytes big-endian 2^62 + 10 + Unix seconds, then 4 bytes big-endian nanoseconds. Senders
// round nanoseconds down to a multiple of 2^24 (wireguard-go's whitening); responders compare bytes.
const TAI64_BASE = 0x400000000000000an;
export const WHITENER_NS = 1 << 24;
const NS_PER_S = 1_000_000_000n;

/** Nanoseconds since the Unix epoch → 12-byte TAI64N (whitened). */
export function encodeTai64n(unixNs: bigint): Uint8Array {
  const out = new Uint8Array(12);
  const view = new DataView(out.buffer);
  const seconds = unixNs / NS_PER_S;
  const nanos = Number(unixNs % NS_PER_S);
  view.setBigUint64(0, TAI64_BASE + seconds);
  view.setUint32(8, nanos - (nanos % WHITENER_NS));
  return out;
}

/** 12-byte TAI64N → nanoseconds since the Unix epoch. */
export function decodeTai64n(bytes: Uint8Array): bigint {
  if (bytes.length !== 12) throw new Error(`tai64n: length ${bytes.length} is not 12`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, 12);
  return (view.getBigUint64(0) - TAI64_BASE) * NS_PER_S + BigInt(view.getUint32(8));
}

/** The next whitened TAI64N strictly after `bytes`: the next 2^24 ns bucket, or the next second. */
export function nextTai64n(bytes: Uint8Array): Uint8Array {
  const ns = decodeTai64n(bytes);
  const seconds = ns / NS_PER_S;
  const nanos = Number(ns % NS_PER_S);
  const nextNanos = (Math.floor(nanos / WHITENER_NS) + 1) * WHITENER_NS;
  // 10^9 is not a multiple of 2^24: the last bucket of a second rolls over into the next second.
  if (nextNanos >= 1_000_000_000) return encodeTai64n((seconds + 1n) * NS_PER_S);
  return encodeTai64n(seconds * NS_PER_S + BigInt(nextNanos));
}

/** Bytewise comparison, as a WireGuard responder does it. */
export function compareTai64n(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 12; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

export function tai64nToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function tai64nFromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
