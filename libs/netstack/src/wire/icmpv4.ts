// ICMPv4 (RFC 792): a zero-copy view of a message, and the parsed forms the overlay uses — echo
// request/reply, and destination unreachable with the quoted header of the datagram it refuses
// (code 13 "communication administratively prohibited", RFC 1812 §5.2.7.1, is how an agent says
// "remote access was turned off here"). The checksum covers the ICMP message only.
import { ByteView } from './byte-view.js';
import { internetChecksum } from './checksum.js';
import { emitIpv4, IP_PROTOCOL_ICMP, IPV4_HEADER_LEN, type Ipv4Repr } from './ipv4.js';
import { readAddress } from './ipv4-address.js';
import { WireError, type DropReason } from './wire-error.js';

export const ICMP_HEADER_LEN = 8;
export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACHABLE = 3;
export const ICMP_ECHO_REQUEST = 8;

/** Destination-unreachable codes (RFC 792; 13 from RFC 1812 §5.2.7.1). */
export const ICMP_UNREACH_NET = 0;
export const ICMP_UNREACH_HOST = 1;
export const ICMP_UNREACH_PROTOCOL = 2;
export const ICMP_UNREACH_PORT = 3;
export const ICMP_UNREACH_FRAG_NEEDED = 4;
export const ICMP_UNREACH_ADMIN_PROHIBITED = 13;

/** Bytes of the refused datagram's data a destination-unreachable message quotes (RFC 792). */
export const ICMP_QUOTED_DATA_LEN = 8;

/** Why `buffer[start, end)` cannot hold an ICMP message, or undefined when it can. Never throws. */
export function icmpLengthError(buffer: Uint8Array, start = 0, end = buffer.length): DropReason | undefined {
  return end - start < ICMP_HEADER_LEN ? 'icmpTruncated' : undefined;
}

/**
 * Typed accessors over one ICMP message at `buffer[start, end)`, in place. Check the length first
 * (`IcmpPacket.checked()` throws WireError; `icmpLengthError()` returns the reason).
 */
export class IcmpPacket extends ByteView {
  static checked(buffer: Uint8Array, start = 0, end = buffer.length): IcmpPacket {
    if (icmpLengthError(buffer, start, end) !== undefined) {
      throw new WireError('icmpTruncated', `icmp: message of ${end - start} bytes is shorter than 8`);
    }
    return new IcmpPacket(buffer, start, end);
  }

  get msgType(): number {
    return this.buffer[this.start]!;
  }
  get msgCode(): number {
    return this.buffer[this.start + 1]!;
  }
  get checksum(): number {
    return (this.buffer[this.start + 2]! << 8) | this.buffer[this.start + 3]!;
  }
  /** Echo identifier (bytes 4-5 of an echo request or reply). */
  get echoIdent(): number {
    return (this.buffer[this.start + 4]! << 8) | this.buffer[this.start + 5]!;
  }
  /** Echo sequence number (bytes 6-7 of an echo request or reply). */
  get echoSeqNo(): number {
    return (this.buffer[this.start + 6]! << 8) | this.buffer[this.start + 7]!;
  }
  /** Everything after the 8-byte header: echo data, or the quoted datagram. A view, no copy. */
  get data(): Uint8Array {
    return this.buffer.subarray(this.start + ICMP_HEADER_LEN, this.end);
  }

  setMsgType(value: number): void {
    this.buffer[this.start] = value;
  }
  setMsgCode(value: number): void {
    this.buffer[this.start + 1] = value;
  }
  setEchoIdent(value: number): void {
    this.buffer[this.start + 4] = value >>> 8;
    this.buffer[this.start + 5] = value & 0xff;
  }
  setEchoSeqNo(value: number): void {
    this.buffer[this.start + 6] = value >>> 8;
    this.buffer[this.start + 7] = value & 0xff;
  }

  verifyChecksum(): boolean {
    return internetChecksum(this.buffer, this.start, this.end) === 0;
  }
  fillChecksum(): void {
    this.buffer[this.start + 2] = 0;
    this.buffer[this.start + 3] = 0;
    const sum = internetChecksum(this.buffer, this.start, this.end);
    this.buffer[this.start + 2] = sum >>> 8;
    this.buffer[this.start + 3] = sum & 0xff;
  }
}

export interface IcmpEchoRepr {
  type: typeof ICMP_ECHO_REQUEST | typeof ICMP_ECHO_REPLY;
  identifier: number;
  sequence: number;
  /** The data echoed byte for byte (a view into the received packet). */
  data: Uint8Array;
}

export interface IcmpDestUnreachableRepr {
  type: typeof ICMP_DEST_UNREACHABLE;
  /** ICMP_UNREACH_* code. */
  code: number;
  /** The quoted IPv4 header of the refused datagram (its payloadLen is the original's). */
  header: Ipv4Repr;
  /** The quoted start of the refused datagram's data (at least 8 bytes, RFC 792). */
  data: Uint8Array;
}

export interface IcmpOtherRepr {
  type: number;
  code: number;
}

export type IcmpRepr = IcmpEchoRepr | IcmpDestUnreachableRepr;

export function isIcmpEcho(repr: IcmpEchoRepr | IcmpDestUnreachableRepr | IcmpOtherRepr): repr is IcmpEchoRepr {
  return 'identifier' in repr;
}

export function isIcmpDestUnreachable(repr: IcmpEchoRepr | IcmpDestUnreachableRepr | IcmpOtherRepr): repr is IcmpDestUnreachableRepr {
  return 'header' in repr;
}

/**
 * Parses an ICMP message. Echo messages give IcmpEchoRepr, destination unreachable with a well-formed
 * quote IcmpDestUnreachableRepr, everything else IcmpOtherRepr (counted and dropped by the stack).
 */
export function parseIcmpv4(buf: Uint8Array, verifyChecksum: boolean): IcmpEchoRepr | IcmpDestUnreachableRepr | IcmpOtherRepr {
  const packet = IcmpPacket.checked(buf);
  if (verifyChecksum && !packet.verifyChecksum()) {
    throw new WireError('icmpBadChecksum', `icmp: checksum 0x${packet.checksum.toString(16)} is wrong`);
  }
  const type = packet.msgType;
  const code = packet.msgCode;
  if ((type === ICMP_ECHO_REQUEST || type === ICMP_ECHO_REPLY) && code === 0) {
    return { type, identifier: packet.echoIdent, sequence: packet.echoSeqNo, data: packet.data };
  }
  if (type === ICMP_DEST_UNREACHABLE) {
    const quoted = parseQuotedDatagram(packet.data);
    if (quoted !== undefined) return { type, code, header: quoted.header, data: quoted.data };
  }
  return { type, code };
}

/**
 * The quoted datagram of an ICMP error: a whole IPv4 header and at least 8 data bytes. Its total
 * length names the original datagram, which was longer than the quote, so it is not checked
 * against the bytes here (nor its checksum: routers may have changed the TTL). Undefined if malformed.
 */
function parseQuotedDatagram(quote: Uint8Array): { header: Ipv4Repr; data: Uint8Array } | undefined {
  if (quote.length < IPV4_HEADER_LEN || quote[0]! >>> 4 !== 4) return undefined;
  const headerLen = (quote[0]! & 0x0f) * 4;
  const totalLen = (quote[2]! << 8) | quote[3]!;
  if (headerLen < IPV4_HEADER_LEN || totalLen < headerLen || quote.length < headerLen + ICMP_QUOTED_DATA_LEN) return undefined;
  return {
    header: {
      srcAddr: readAddress(quote, 12),
      dstAddr: readAddress(quote, 16),
      protocol: quote[9]!,
      payloadLen: totalLen - headerLen,
      ttl: quote[8]!,
      ident: (quote[4]! << 8) | quote[5]!,
      dontFragment: (quote[6]! & 0x40) !== 0,
      dscpEcn: quote[1]!,
    },
    data: quote.subarray(headerLen),
  };
}

export function icmpEchoLen(repr: IcmpEchoRepr): number {
  return ICMP_HEADER_LEN + repr.data.length;
}

/** Bytes emitIcmpv4 writes for `repr`. */
export function icmpv4Len(repr: IcmpRepr): number {
  return repr.type === ICMP_DEST_UNREACHABLE ? ICMP_HEADER_LEN + IPV4_HEADER_LEN + repr.data.length : icmpEchoLen(repr);
}

/** Writes an echo message at `offset` with its checksum. */
export function emitIcmpEcho(repr: IcmpEchoRepr, buf: Uint8Array, offset = 0): void {
  emitIcmpv4(repr, buf, offset);
}

/**
 * Writes `repr` at `offset` with its checksum. A destination-unreachable message quotes a 20-byte
 * header (no options, checksum filled in) and `data`; the 4 bytes after the code are zero.
 */
export function emitIcmpv4(repr: IcmpRepr, buf: Uint8Array, offset = 0): void {
  const len = icmpv4Len(repr);
  buf[offset] = repr.type;
  buf[offset + 2] = 0;
  buf[offset + 3] = 0;
  if (repr.type === ICMP_DEST_UNREACHABLE) {
    buf[offset + 1] = repr.code;
    buf[offset + 4] = buf[offset + 5] = buf[offset + 6] = buf[offset + 7] = 0;
    emitIpv4(repr.header, buf, offset + ICMP_HEADER_LEN);
    buf.set(repr.data, offset + ICMP_HEADER_LEN + IPV4_HEADER_LEN);
  } else {
    buf[offset + 1] = 0;
    buf[offset + 4] = repr.identifier >>> 8;
    buf[offset + 5] = repr.identifier & 0xff;
    buf[offset + 6] = repr.sequence >>> 8;
    buf[offset + 7] = repr.sequence & 0xff;
    buf.set(repr.data, offset + ICMP_HEADER_LEN);
  }
  const sum = internetChecksum(buf, offset, offset + len);
  buf[offset + 2] = sum >>> 8;
  buf[offset + 3] = sum & 0xff;
}

/** Addressing of a whole ICMP packet; TTL 64, identification 0 and DF clear unless given. */
export interface IcmpPacketAddressing {
  srcAddr: number;
  dstAddr: number;
  ttl?: number;
  ident?: number;
}

/** A whole IPv4 packet carrying `icmp`: what an agent or hub hands to WireGuard to send. */
export function buildIcmpv4Packet(ip: IcmpPacketAddressing, icmp: IcmpRepr): Buffer {
  const len = icmpv4Len(icmp);
  const buf = Buffer.allocUnsafe(IPV4_HEADER_LEN + len);
  emitIpv4(
    { srcAddr: ip.srcAddr, dstAddr: ip.dstAddr, protocol: IP_PROTOCOL_ICMP, payloadLen: len, ttl: ip.ttl ?? 64, ident: ip.ident ?? 0, dontFragment: false, dscpEcn: 0 },
    buf,
  );
  emitIcmpv4(icmp, buf, IPV4_HEADER_LEN);
  return buf;
}
