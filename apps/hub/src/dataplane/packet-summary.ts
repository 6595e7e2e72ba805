// The few IPv4 header fields the overlay router decides on (RFC 791 header, RFC 793/768 ports,
// RFC 792 echo identifier). Reads in place; returns undefined for anything it cannot judge.

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export interface PacketSummary {
  protocol: number;
  /** Source and destination as 32-bit unsigned integers. */
  src: number;
  dst: number;
  /** TCP/UDP ports, or for ICMP echo the identifier in both; 0 when not applicable. */
  srcPort: number;
  dstPort: number;
  /** ICMP type, or -1. */
  icmpType: number;
}

export function summarizeIpv4(packet: Uint8Array): PacketSummary | undefined {
  if (packet.length < 20 || packet[0]! >> 4 !== 4) return undefined;
  const ihl = (packet[0]! & 0x0f) * 4;
  const total = (packet[2]! << 8) | packet[3]!;
  if (ihl < 20 || total < ihl || total > packet.length) return undefined;
  const protocol = packet[9]!;
  const src = ((packet[12]! << 24) | (packet[13]! << 16) | (packet[14]! << 8) | packet[15]!) >>> 0;
  const dst = ((packet[16]! << 24) | (packet[17]! << 16) | (packet[18]! << 8) | packet[19]!) >>> 0;
  // A non-first fragment carries no transport header: the router cannot match it to a flow.
  const fragmentOffset = ((packet[6]! & 0x1f) << 8) | packet[7]!;
  let srcPort = 0;
  let dstPort = 0;
  let icmpType = -1;
  if (fragmentOffset === 0) {
    if ((protocol === IPPROTO_TCP || protocol === IPPROTO_UDP) && total >= ihl + 4) {
      srcPort = (packet[ihl]! << 8) | packet[ihl + 1]!;
      dstPort = (packet[ihl + 2]! << 8) | packet[ihl + 3]!;
    } else if (protocol === IPPROTO_ICMP && total >= ihl + 8) {
      icmpType = packet[ihl]!;
      srcPort = dstPort = (packet[ihl + 4]! << 8) | packet[ihl + 5]!;
    }
  } else if (protocol !== IPPROTO_ICMP) {
    return undefined;
  }
  return { protocol, src, dst, srcPort, dstPort, icmpType };
}

export function ipv4ToInt(address: string): number {
  const parts = address.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${address}`);
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) throw new Error(`not an IPv4 address: ${address}`);
    value = value * 256 + Number(part);
  }
  return value >>> 0;
}

export function intToIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}
