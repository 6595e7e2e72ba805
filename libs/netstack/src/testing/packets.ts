// Hand-built packets for packet-level tests: a TCP segment from an imaginary peer, and parsing of
// whatever a stack transmitted.
import { emitIpv4, IP_PROTOCOL_TCP, IPV4_HEADER_LEN, Ipv4Packet, parseIpv4, type Ipv4Repr } from '../wire/ipv4.js';
import { parseIpv4Address } from '../wire/ipv4-address.js';
import { emitTcp, emptyTcpRepr, parseTcp, tcpHeaderLen, type TcpRepr } from '../wire/tcp.js';

export interface SegmentSpec extends Partial<TcpRepr> {
  src: string;
  dst: string;
}

export function buildSegment(spec: SegmentSpec): Buffer {
  const repr: TcpRepr = { ...emptyTcpRepr(), ...spec };
  const src = parseIpv4Address(spec.src);
  const dst = parseIpv4Address(spec.dst);
  const tcpLen = tcpHeaderLen(repr) + repr.payload.length;
  const buf = Buffer.alloc(IPV4_HEADER_LEN + tcpLen);
  emitIpv4({ srcAddr: src, dstAddr: dst, protocol: IP_PROTOCOL_TCP, payloadLen: tcpLen, ttl: 64, ident: 1, dontFragment: true, dscpEcn: 0 }, buf);
  emitTcp(repr, buf, IPV4_HEADER_LEN, src, dst);
  return buf;
}

export interface ParsedPacket {
  ip: Ipv4Repr;
  tcp: TcpRepr | undefined;
  raw: Uint8Array;
}

/** Parses a packet a stack sent, verifying every checksum (the stack must always fill them). */
export function parsePacket(raw: Uint8Array): ParsedPacket {
  const packet = Ipv4Packet.checked(raw);
  const ip = parseIpv4(packet, true);
  const tcp = ip.protocol === IP_PROTOCOL_TCP ? parseTcp(packet.payload, ip.srcAddr, ip.dstAddr, true) : undefined;
  return { ip, tcp, raw };
}
