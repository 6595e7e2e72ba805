// UDP header (RFC 768): a view with the fields a router decides on (ports, length). The netstack
// itself speaks no UDP (see README); the overlay's packet filter reads UDP ports with this view.
import { ByteView, lengthFieldCheck } from './byte-view.js';

export const UDP_HEADER_LEN = 8;

const UDP_LENGTH = lengthFieldCheck(
  UDP_HEADER_LEN,
  ['udpTruncated', 'udp: datagram'],
  ['udpBadLength', 'udp: length', (buffer, start) => (buffer[start + 4]! << 8) | buffer[start + 5]!],
);

/** Why `buffer[start, end)` cannot hold a UDP datagram, or undefined when it can. Never throws. */
export const udpLengthError = UDP_LENGTH.error;

/** Typed accessors over one UDP datagram at `buffer[start, end)`, in place. Check the length first. */
export class UdpPacket extends ByteView {
  static checked(buffer: Uint8Array, start = 0, end = buffer.length): UdpPacket {
    UDP_LENGTH.assert(buffer, start, end);
    return new UdpPacket(buffer, start, end);
  }

  get srcPort(): number {
    return (this.buffer[this.start]! << 8) | this.buffer[this.start + 1]!;
  }
  get dstPort(): number {
    return (this.buffer[this.start + 2]! << 8) | this.buffer[this.start + 3]!;
  }
  /** Header plus data, from the length field. */
  get length(): number {
    return (this.buffer[this.start + 4]! << 8) | this.buffer[this.start + 5]!;
  }
  get checksum(): number {
    return (this.buffer[this.start + 6]! << 8) | this.buffer[this.start + 7]!;
  }
  /** The data, bounded by the length field. A view, no copy. */
  get payload(): Uint8Array {
    return this.buffer.subarray(this.start + UDP_HEADER_LEN, this.start + this.length);
  }
}
