// ICMPv4 (RFC 792): echo request/reply parse and emit. The checksum covers the ICMP message only,
// no pseudo-header. Other types are parsed far enough to be counted and dropped.
import { internetChecksum } from './checksum.js';
import { WireError } from './wire-error.js';

export const ICMP_HEADER_LEN = 8;
export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACHABLE = 3;
export const ICMP_ECHO_REQUEST = 8;

export interface IcmpEchoRepr {
  type: typeof ICMP_ECHO_REQUEST | typeof ICMP_ECHO_REPLY;
  identifier: number;
  sequence: number;
  /** The data echoed byte for byte (a view into the received packet). */
  data: Uint8Array;
}

export interface IcmpOtherRepr {
  type: number;
  code: number;
}

/** Parses an ICMP message; echo messages give IcmpEchoRepr, everything else IcmpOtherRepr. */
export function parseIcmpv4(buf: Uint8Array, verifyChecksum: boolean): IcmpEchoRepr | IcmpOtherRepr {
  if (buf.length < ICMP_HEADER_LEN) {
    throw new WireError('icmpTruncated', `icmp: message of ${buf.length} bytes is shorter than 8`);
  }
  if (verifyChecksum && internetChecksum(buf) !== 0) {
    const field = ((buf[2]! << 8) | buf[3]!).toString(16);
    throw new WireError('icmpBadChecksum', `icmp: checksum 0x${field} is wrong`);
  }
  const type = buf[0]!;
  const code = buf[1]!;
  if ((type === ICMP_ECHO_REQUEST || type === ICMP_ECHO_REPLY) && code === 0) {
    return {
      type,
      identifier: (buf[4]! << 8) | buf[5]!,
      sequence: (buf[6]! << 8) | buf[7]!,
      data: buf.subarray(ICMP_HEADER_LEN),
    };
  }
  return { type, code };
}

export function icmpEchoLen(repr: IcmpEchoRepr): number {
  return ICMP_HEADER_LEN + repr.data.length;
}

/** Writes an echo message at `offset` with its checksum. */
export function emitIcmpEcho(repr: IcmpEchoRepr, buf: Uint8Array, offset = 0): void {
  buf[offset] = repr.type;
  buf[offset + 1] = 0;
  buf[offset + 2] = 0;
  buf[offset + 3] = 0;
  buf[offset + 4] = repr.identifier >>> 8;
  buf[offset + 5] = repr.identifier & 0xff;
  buf[offset + 6] = repr.sequence >>> 8;
  buf[offset + 7] = repr.sequence & 0xff;
  buf.set(repr.data, offset + ICMP_HEADER_LEN);
  const sum = internetChecksum(buf, offset, offset + icmpEchoLen(repr));
  buf[offset + 2] = sum >>> 8;
  buf[offset + 3] = sum & 0xff;
}
