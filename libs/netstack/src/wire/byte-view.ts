// The part every transport view shares: where its bytes are. A view over `buffer[start, end)` can
// sit inside an IPv4 packet (start = header length, end = total length) without a subarray.

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
