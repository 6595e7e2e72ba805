// Packets the stack sends on its own, outside any connection: the echo reply of RFC 792 (RFC 1122
// §3.2.2.6: identifier, sequence and data unchanged) and the RST answering a segment that matches
// no connection (RFC 9293 §3.10.7.1). Pure builders: addresses and IP identification in, a packet out.
import { buildIcmpv4Packet, ICMP_ECHO_REPLY, type IcmpEchoRepr } from '../wire/icmpv4.js';
import { emitIpv4, IP_PROTOCOL_TCP, IPV4_HEADER_LEN } from '../wire/ipv4.js';
import { emitTcp, emptyTcpRepr, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, tcpHeaderLen, type TcpRepr } from '../wire/tcp.js';

/** The reply to `request` (an echo request from `peerAddr` to `localAddr`). */
export function buildEchoReply(localAddr: number, peerAddr: number, request: IcmpEchoRepr, ident: number): Buffer {
  return buildIcmpv4Packet(
    { srcAddr: localAddr, dstAddr: peerAddr, ident },
    { type: ICMP_ECHO_REPLY, identifier: request.identifier, sequence: request.sequence, data: request.data },
  );
}

const NO_PAYLOAD = new Uint8Array(0);

/**
 * <SEQ=SEG.ACK><CTL=RST> for a segment carrying ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
 * `scratch` is overwritten. Undefined for a RST (never answer a RST with a RST).
 */
export function buildResetFor(seg: TcpRepr, localAddr: number, peerAddr: number, ident: number, scratch: TcpRepr = emptyTcpRepr()): Buffer | undefined {
  if (seg.flags & TCP_RST) return undefined;
  const r = scratch;
  r.srcPort = seg.dstPort;
  r.dstPort = seg.srcPort;
  r.window = 0;
  r.urgent = 0;
  r.mss = r.windowScale = r.tsVal = r.sackBlocks = undefined;
  r.sackPermitted = false;
  r.tsEcr = 0;
  r.payload = NO_PAYLOAD;
  if (seg.flags & TCP_ACK) {
    r.seq = seg.ack;
    r.ack = 0;
    r.flags = TCP_RST;
  } else {
    const len = seg.payload.length + (seg.flags & TCP_SYN ? 1 : 0) + (seg.flags & TCP_FIN ? 1 : 0);
    r.seq = 0;
    r.ack = (seg.seq + len) >>> 0;
    r.flags = TCP_RST | TCP_ACK;
  }
  const tcpLen = tcpHeaderLen(r);
  const buf = Buffer.allocUnsafe(IPV4_HEADER_LEN + tcpLen);
  emitIpv4({ srcAddr: localAddr, dstAddr: peerAddr, protocol: IP_PROTOCOL_TCP, payloadLen: tcpLen, ttl: 64, ident, dontFragment: true, dscpEcn: 0 }, buf);
  emitTcp(r, buf, IPV4_HEADER_LEN, localAddr, peerAddr);
  return buf;
}
