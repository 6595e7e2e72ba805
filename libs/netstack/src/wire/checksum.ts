// Internet checksum (RFC 1071) and the IPv4 pseudo-header (RFC 9293 §3.1). Sums are kept unfolded
// as plain numbers (exact below 2^53) and folded once, so callers can add pieces in any order.

/** Whether typed arrays read in little-endian order on this host (x86, ARM: yes). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * One's-complement sum of the big-endian 16-bit words of `buf[start, end)`, unfolded. An odd
 * trailing byte is padded with zero (RFC 1071 §4.1). Adding two unfolded sums is valid only when
 * the first piece has even length, which holds for headers (always 4-byte multiples).
 */
export function sumWords(buf: Uint8Array, start: number, end: number, initial = 0): number {
  // Fast path: 32-bit loads in host order. The one's-complement sum does not depend on byte order
  // (RFC 1071 §2 B): sum the words as the host reads them, fold, and swap once at the end.
  if (end - start >= 64 && ((buf.byteOffset + start) & 1) === 0) {
    let i = start;
    let sum = initial;
    if (((buf.byteOffset + i) & 3) !== 0) {
      sum += (buf[i]! << 8) | buf[i + 1]!;
      i += 2;
    }
    const words = (end - i) >>> 2;
    const u32 = new Uint32Array(buf.buffer, buf.byteOffset + i, words);
    // Two accumulators, four words per step: each stays below 2^53 for any packet size.
    let a = 0;
    let b = 0;
    let k = 0;
    for (; k + 4 <= words; k += 4) {
      a += u32[k]! + u32[k + 1]!;
      b += u32[k + 2]! + u32[k + 3]!;
    }
    for (; k < words; k++) a += u32[k]!;
    i += words * 4;
    const host = fold(a + b);
    sum += LITTLE_ENDIAN ? ((host & 0xff) << 8) | (host >>> 8) : host;
    for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
    if (i < end) sum += buf[i]! << 8;
    return sum;
  }
  return sumWordsBytewise(buf, start, end, initial);
}

/** The portable byte-at-a-time sum (any alignment), also the reference for tests. */
export function sumWordsBytewise(buf: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  return sum;
}

/** Folds carries back into 16 bits (end-around carry). */
export function fold(sum: number): number {
  // Division instead of >>> so sums past 2^32 (very long buffers) still fold exactly.
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum field value for the data summed: the one's complement of the folded sum. */
export function finishChecksum(sum: number): number {
  return ~fold(sum) & 0xffff;
}

/** Checksum of `buf[start, end)` ready to store. Data that contains a correct checksum gives 0. */
export function internetChecksum(buf: Uint8Array, start = 0, end = buf.length, initial = 0): number {
  return finishChecksum(sumWords(buf, start, end, initial));
}

/** Unfolded sum of the IPv4 pseudo-header: source, destination, zero, protocol, length. */
export function pseudoHeaderSum(srcAddr: number, dstAddr: number, protocol: number, length: number): number {
  return (srcAddr >>> 16) + (srcAddr & 0xffff) + (dstAddr >>> 16) + (dstAddr & 0xffff) + protocol + length;
}
