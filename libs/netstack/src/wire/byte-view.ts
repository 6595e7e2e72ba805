// The part every transport view shares: where its bytes are, and the length check of a header
// that carries its own length. A view over `buffer[start, end)` can sit inside an IPv4 packet
// (start = header length, end = total length) without a subarray.
import { WireError, type DropReason } from './wire-error.js';

export abstract class ByteView {
  constructor(
    readonly buffer: Uint8Array,
    readonly start = 0,
    readonly end = buffer.length,
  ) {}

  /** Bytes the view covers. */
  get byteLength(): number {
    return this.end - this.start;
  }
}

/**
 * The length check of a header that carries its own length (TCP's data offset, UDP's length
 * field): at least `minLen` bytes, and the field between `minLen` and the bytes there are. `error`
 * never throws; `assert` throws the WireError naming the field, e.g. `tcp: data offset 52 is
 * outside 20..40`. Each reason comes with the subject its message names.
 */
export function lengthFieldCheck(
  minLen: number,
  [truncated, truncatedSubject]: readonly [DropReason, string],
  [badField, fieldSubject, readField]: readonly [DropReason, string, (buffer: Uint8Array, start: number) => number],
) {
  return {
    error(buffer: Uint8Array, start = 0, end = buffer.length): DropReason | undefined {
      const len = end - start;
      if (len < minLen) return truncated;
      const value = readField(buffer, start);
      return value < minLen || value > len ? badField : undefined;
    },
    assert(buffer: Uint8Array, start: number, end: number): void {
      const reason = this.error(buffer, start, end);
      if (reason === truncated) throw new WireError(reason, `${truncatedSubject} of ${end - start} bytes is shorter than a header`);
      if (reason !== undefined) throw new WireError(reason, `${fieldSubject} ${readField(buffer, start)} is outside ${minLen}..${end - start}`);
    },
  };
}
