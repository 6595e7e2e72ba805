// IPv4 header (RFC 791 §3.1): a zero-copy view with a length check before any access, and a parsed
// representation with parse/emit, after smoltcp's wire/ipv4.rs. No options are emitted; received
// options are skipped by IHL. Fragments are rejected (no reassembly, see README).
import { internetChecksum } from './checksum.js';
import { readAddress, writeAddress } from './ipv4-address.js';
import { WireError, type DropReason } from './wire-error.js';

export const IPV4_HEADER_LEN = 20;
export const IP_PROTOCOL_ICMP = 1;
export const IP_PROTOCOL_TCP = 6;
export const IP_PROTOCOL_UDP = 17;
const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const OFFSET_MASK = 0x1fff;

/**
 * Why `buffer` cannot hold an IPv4 packet, or undefined when it can: at least a header, version 4,
 * IHL at least 5 words, and a total length between the header length and the bytes received.
 * smoltcp's check_len; never throws, so a router can judge packets without exceptions.
 */
export function ipv4LengthError(buffer: Uint8Array): DropReason | undefined {
  if (buffer.length < IPV4_HEADER_LEN) return 'ipv4Truncated';
  if (buffer[0]! >>> 4 !== 4) return 'ipv4BadVersion';
  const headerLen = (buffer[0]! & 0x0f) * 4;
  if (headerLen < IPV4_HEADER_LEN) return 'ipv4BadHeaderLength';
  const totalLen = (buffer[2]! << 8) | buffer[3]!;
  if (totalLen < headerLen || totalLen > buffer.length) return 'ipv4BadTotalLength';
  return undefined;
}

/**
 * Typed accessors over the bytes of one IPv4 packet (RFC 791 §3.1 figure 4), read and written in
 * place. Construct with `Ipv4Packet.checked()` (throws WireError) or after `ipv4LengthError()`
 * returned undefined; the constructor itself checks nothing.
 */
export class Ipv4Packet {
  constructor(readonly buffer: Uint8Array) {}

  /** Wraps `buffer` after checking that every length field fits inside it. */
  static checked(buffer: Uint8Array): Ipv4Packet {
    const reason = ipv4LengthError(buffer);
    if (reason !== undefined) throw ipv4LengthWireError(reason, buffer);
    return new Ipv4Packet(buffer);
  }

  get version(): number {
    return this.buffer[0]! >>> 4;
  }
  get headerLen(): number {
    return (this.buffer[0]! & 0x0f) * 4;
  }
  get dscpEcn(): number {
    return this.buffer[1]!;
  }
  get totalLen(): number {
    return (this.buffer[2]! << 8) | this.buffer[3]!;
  }
  get ident(): number {
    return (this.buffer[4]! << 8) | this.buffer[5]!;
  }
  private get flagsOffset(): number {
    return (this.buffer[6]! << 8) | this.buffer[7]!;
  }
  get dontFragment(): boolean {
    return (this.flagsOffset & FLAG_DF) !== 0;
  }
  get moreFragments(): boolean {
    return (this.flagsOffset & FLAG_MF) !== 0;
  }
  /** Fragment offset in bytes (the field counts 8-byte units). */
  get fragmentOffset(): number {
    return (this.flagsOffset & OFFSET_MASK) * 8;
  }
  /** A fragment other than the first carries no transport header (RFC 791 §3.2). */
  get isNonFirstFragment(): boolean {
    return (this.flagsOffset & OFFSET_MASK) !== 0;
  }
  get ttl(): number {
    return this.buffer[8]!;
  }
  get protocol(): number {
    return this.buffer[9]!;
  }
  get checksum(): number {
    return (this.buffer[10]! << 8) | this.buffer[11]!;
  }
  get srcAddr(): number {
    return readAddress(this.buffer, 12);
  }
  get dstAddr(): number {
    return readAddress(this.buffer, 16);
  }
  /** The payload, bounded by total length (link padding beyond it is ignored). A view, no copy. */
  get payload(): Uint8Array {
    return this.buffer.subarray(this.headerLen, this.totalLen);
  }

  setDscpEcn(value: number): void {
    this.buffer[1] = value;
  }
  setTotalLen(value: number): void {
    this.buffer[2] = value >>> 8;
    this.buffer[3] = value & 0xff;
  }
  setIdent(value: number): void {
    this.buffer[4] = value >>> 8;
    this.buffer[5] = value & 0xff;
  }
  setTtl(value: number): void {
    this.buffer[8] = value;
  }
  setProtocol(value: number): void {
    this.buffer[9] = value;
  }
  setSrcAddr(value: number): void {
    writeAddress(this.buffer, 12, value);
  }
  setDstAddr(value: number): void {
    writeAddress(this.buffer, 16, value);
  }

  /** A header that includes a correct checksum sums to 0xFFFF, so its checksum comes out 0. */
  verifyChecksum(): boolean {
    return internetChecksum(this.buffer, 0, this.headerLen) === 0;
  }
  /** Recomputes the header checksum after fields were changed. */
  fillChecksum(): void {
    this.buffer[10] = 0;
    this.buffer[11] = 0;
    const sum = internetChecksum(this.buffer, 0, this.headerLen);
    this.buffer[10] = sum >>> 8;
    this.buffer[11] = sum & 0xff;
  }
}

/** The WireError for a length problem found by ipv4LengthError, naming the field and value. */
function ipv4LengthWireError(reason: DropReason, buffer: Uint8Array): WireError {
  switch (reason) {
    case 'ipv4Truncated':
      return new WireError(reason, `ipv4: packet of ${buffer.length} bytes is shorter than a header`);
    case 'ipv4BadVersion':
      return new WireError(reason, `ipv4: version ${buffer[0]! >>> 4} is not 4`);
    case 'ipv4BadHeaderLength':
      return new WireError(reason, `ipv4: header length ${(buffer[0]! & 0x0f) * 4} is below 20`);
    default: {
      const totalLen = (buffer[2]! << 8) | buffer[3]!;
      const headerLen = (buffer[0]! & 0x0f) * 4;
      return totalLen < headerLen
        ? new WireError(reason, `ipv4: total length ${totalLen} is below header length ${headerLen}`)
        : new WireError(reason, `ipv4: total length ${totalLen} exceeds the ${buffer.length} bytes received`);
    }
  }
}

/** The parsed, validated header: what the stack needs and what emit writes. */
export interface Ipv4Repr {
  srcAddr: number;
  dstAddr: number;
  protocol: number;
  /** Payload length in bytes (total length minus header). */
  payloadLen: number;
  ttl: number;
  ident: number;
  dontFragment: boolean;
  dscpEcn: number;
}

/**
 * What parseIpv4 checks beyond lengths: the header checksum (optional behind an authenticated
 * tunnel) and fragments, which throw WireError. For callers that read fields from the view.
 */
export function checkIpv4Header(packet: Ipv4Packet, verifyChecksum: boolean): void {
  if (verifyChecksum && !packet.verifyChecksum()) {
    throw new WireError('ipv4BadChecksum', `ipv4: header checksum 0x${packet.checksum.toString(16)} is wrong`);
  }
  // RFC 791 §3.2: a fragment has MF set or a non-zero offset; without reassembly we drop them all.
  if (packet.moreFragments || packet.fragmentOffset !== 0) {
    throw new WireError('ipv4Fragment', `ipv4: fragment (offset ${packet.fragmentOffset}) not supported`);
  }
}

/** Parses and validates a header; fragments and bad checksums throw WireError. */
export function parseIpv4(packet: Ipv4Packet, verifyChecksum: boolean): Ipv4Repr {
  checkIpv4Header(packet, verifyChecksum);
  return {
    srcAddr: packet.srcAddr,
    dstAddr: packet.dstAddr,
    protocol: packet.protocol,
    payloadLen: packet.totalLen - packet.headerLen,
    ttl: packet.ttl,
    ident: packet.ident,
    dontFragment: packet.dontFragment,
    dscpEcn: packet.dscpEcn,
  };
}

/** Writes a 20-byte header (no options) at `offset` with its checksum filled in. */
export function emitIpv4(repr: Ipv4Repr, buf: Uint8Array, offset = 0): void {
  const totalLen = IPV4_HEADER_LEN + repr.payloadLen;
  buf[offset] = 0x45;
  buf[offset + 1] = repr.dscpEcn;
  buf[offset + 2] = totalLen >>> 8;
  buf[offset + 3] = totalLen & 0xff;
  buf[offset + 4] = repr.ident >>> 8;
  buf[offset + 5] = repr.ident & 0xff;
  buf[offset + 6] = repr.dontFragment ? 0x40 : 0;
  buf[offset + 7] = 0;
  buf[offset + 8] = repr.ttl;
  buf[offset + 9] = repr.protocol;
  buf[offset + 10] = 0;
  buf[offset + 11] = 0;
  writeAddress(buf, offset + 12, repr.srcAddr);
  writeAddress(buf, offset + 16, repr.dstAddr);
  const sum = internetChecksum(buf, offset, offset + IPV4_HEADER_LEN);
  buf[offset + 10] = sum >>> 8;
  buf[offset + 11] = sum & 0xff;
}
