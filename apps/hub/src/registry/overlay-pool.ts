// Overlay addressing (ARCHITECTURE "Overlay addressing"): an IPv4 CIDR, the hub on its first host
// address, devices and admin peers on /32s from the rest. The pool is arithmetic on 32-bit
// integers; the database hands out its addresses (@porthole/db's allocateTunnelIp).
import { isIPv4 } from 'node:net';
import { allocateTunnelIp, type Executor } from '@porthole/db';
import { formatIpv4Address, parseIpv4Address } from '@porthole/netstack';
import { ConflictError } from '../errors.js';

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

/** An address of `pool` for a new peer, inside the transaction that stores it; ConflictError when none is left. */
export async function takeTunnelIp(ex: Executor, pool: OverlayPool): Promise<string> {
  const address = await allocateTunnelIp(ex, pool);
  if (address === undefined) throw new ConflictError(`the overlay address pool ${pool.cidr} is exhausted; delete unused devices or widen the overlay CIDR`);
  return address;
}
