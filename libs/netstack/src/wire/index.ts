// @porthole/netstack/wire: the packet layer on its own, as smoltcp makes `wire` public. Zero-copy
// views (Ipv4Packet, TcpPacket, IcmpPacket, UdpPacket) with typed accessors behind a length check,
// parsed representations with parse/emit, whole ICMP packets for agents and routers, checksums.
export { finishChecksum, internetChecksum, pseudoHeaderSum, sumWords } from './checksum.js';
export {
  emitIpv4,
  IP_PROTOCOL_ICMP,
  IP_PROTOCOL_TCP,
  IP_PROTOCOL_UDP,
  IPV4_HEADER_LEN,
  ipv4LengthError,
  Ipv4Packet,
  parseIpv4,
  type Ipv4Repr,
} from './ipv4.js';
export { formatIpv4Address, isIpv4Address, isUnusableSource, parseIpv4Address, readAddress, writeAddress } from './ipv4-address.js';
export {
  buildIcmpv4Packet,
  emitIcmpv4,
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_HEADER_LEN,
  ICMP_QUOTED_DATA_LEN,
  ICMP_UNREACH_ADMIN_PROHIBITED,
  ICMP_UNREACH_FRAG_NEEDED,
  ICMP_UNREACH_HOST,
  ICMP_UNREACH_NET,
  ICMP_UNREACH_PORT,
  ICMP_UNREACH_PROTOCOL,
  icmpLengthError,
  IcmpPacket,
  icmpv4Len,
  isIcmpDestUnreachable,
  isIcmpEcho,
  parseIcmpv4,
  type IcmpDestUnreachableRepr,
  type IcmpEchoRepr,
  type IcmpOtherRepr,
  type IcmpPacketAddressing,
  type IcmpRepr,
} from './icmpv4.js';
export {
  emitTcp,
  emptyTcpRepr,
  parseTcp,
  TCP_ACK,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_HEADER_LEN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
  tcpHeaderLen,
  tcpLengthError,
  TcpPacket,
  type TcpRepr,
} from './tcp.js';
export { UDP_HEADER_LEN, udpLengthError, UdpPacket } from './udp.js';
export { WireError, type DropReason } from './wire-error.js';
