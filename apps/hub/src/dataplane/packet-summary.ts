// The few header fields the overlay router decides on, read in place through the netstack's wire
// views: addresses and protocol (RFC 791), ports (RFC 793/768), the ICMP type, code and echo
// identifier (RFC 792). Returns undefined for anything it cannot judge.
import {
  IcmpPacket,
  icmpLengthError,
  IP_PROTOCOL_ICMP,
  IP_PROTOCOL_TCP,
  IP_PROTOCOL_UDP,
  Ipv4Packet,
  ipv4LengthError,
  TcpPacket,
  UdpPacket,
} from '@porthole/netstack/wire';

export interface PacketSummary {
  protocol: number;
  /** Source and destination as 32-bit unsigned integers. */
  src: number;
  dst: number;
  /** TCP/UDP ports, or for ICMP echo the identifier in both; 0 when not applicable. */
  srcPort: number;
  dstPort: number;
  /** ICMP type and code, or -1. */
  icmpType: number;
  icmpCode: number;
}

/** TCP and UDP headers both start with the two ports: enough to match a flow. */
const PORTS_LEN = 4;

export function summarizeIpv4(packet: Uint8Array): PacketSummary | undefined {
  if (ipv4LengthError(packet) !== undefined) return undefined;
  const ip = new Ipv4Packet(packet);
  const { protocol, headerLen, totalLen } = ip;
  let srcPort = 0;
  let dstPort = 0;
  let icmpType = -1;
  let icmpCode = -1;
  // A non-first fragment carries no transport header: the router cannot match it to a flow.
  if (!ip.isNonFirstFragment) {
    if ((protocol === IP_PROTOCOL_TCP || protocol === IP_PROTOCOL_UDP) && totalLen - headerLen >= PORTS_LEN) {
      const ports = protocol === IP_PROTOCOL_TCP ? new TcpPacket(packet, headerLen, totalLen) : new UdpPacket(packet, headerLen, totalLen);
      srcPort = ports.srcPort;
      dstPort = ports.dstPort;
    } else if (protocol === IP_PROTOCOL_ICMP && icmpLengthError(packet, headerLen, totalLen) === undefined) {
      const icmp = new IcmpPacket(packet, headerLen, totalLen);
      icmpType = icmp.msgType;
      icmpCode = icmp.msgCode;
      srcPort = dstPort = icmp.echoIdent;
    }
  } else if (protocol !== IP_PROTOCOL_ICMP) {
    return undefined;
  }
  return { protocol, src: ip.srcAddr, dst: ip.dstAddr, srcPort, dstPort, icmpType, icmpCode };
}
