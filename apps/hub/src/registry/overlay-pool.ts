// Overlay addressing (ARCHITECTURE "Overlay addressing"): an IPv4 CIDR, the hub on its first host
// address, devices and admin peers on /32s from the rest. Pure arithmetic on 32-bit integers.
import { isIPv4 } from 'node:net';
import { formatIpv4Address, parseIpv4Address } from '@porthole/netstack';

export interface OverlayPool {
  /** Canonical CIDR text, e.g. `100.64.0.0/10`. */
  cidr: string;
  prefix: number;
  /** The hub's address: the first host address. */
  hubIp: string;
  /** First and last address handed to peers (the hub's successor; the one before broadcast). */
  firstIp: string;
  lastIp: string;
  /** How many peers fit. */
  size: number;
}

/** Parses `a.b.c.d/p` (p 8–30); the network address is normalised (host bits cleared). */
export function parseOverlayCidr(cidr: string): OverlayPool {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(cidr);
  if (!m || !isIPv4(m[1]!) || Number(m[2]) < 8 || Number(m[2]) > 30) {
    throw new RangeError(`overlay CIDR ${JSON.stringify(cidr)} must be IPv4 a.b.c.d/p with p from 8 to 30`);
  }
  const prefix = Number(m[2]);
  const blockSize = 2 ** (32 - prefix);
  const network = Math.floor(parseIpv4Address(m[1]!) / blockSize) * blockSize;
  const broadcast = network + blockSize - 1;
  return {
    cidr: `${formatIpv4Address(network)}/${prefix}`,
    prefix,
    hubIp: formatIpv4Address(network + 1),
    firstIp: formatIpv4Address(network + 2),
    lastIp: formatIpv4Address(broadcast - 1),
    size: blockSize - 3,
  };
}
