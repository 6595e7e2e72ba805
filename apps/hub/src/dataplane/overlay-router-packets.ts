// Packets for the overlay router's tests: a minimal IPv4 header with TCP or UDP ports, or ICMP.
import { parseIpv4Address } from '@porthole/netstack';

/** A minimal IPv4 packet: TCP/UDP (source and destination ports), or ICMP (type + echo id). Checksums are irrelevant here. */
export function packet(proto: 'tcp' | 'udp' | 'icmp', src: string, dst: string, a: number, b: number): Uint8Array {
  const p = new Uint8Array(40);
  const view = new DataView(p.buffer);
  p[0] = 0x45;
  view.setUint16(2, 40);
  p[8] = 64;
  p[9] = proto === 'tcp' ? 6 : proto === 'udp' ? 17 : 1;
  view.setUint32(12, parseIpv4Address(src));
  view.setUint32(16, parseIpv4Address(dst));
  if (proto === 'icmp') {
    p[20] = a; // type
    view.setUint16(24, b); // echo identifier
  } else {
    view.setUint16(20, a);
    view.setUint16(22, b);
  }
  return p;
}
