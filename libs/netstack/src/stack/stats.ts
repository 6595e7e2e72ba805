// Counters of one NetStack: packets by protocol, drops by reason (every malformed or unwanted
// packet lands in exactly one), and the TCP counters of RFC 4022's spirit.
import { emptyTcpStats, type TcpStats } from '../tcp/tcp-host.js';
import type { DropReason } from '../wire/wire-error.js';

export interface NetStackStats {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  icmpEchoReplies: number;
  drops: Record<DropReason, number>;
  /** Exceptions caught at the boundary that were not wire errors: bugs, should stay 0. */
  internalErrors: number;
  /** onTransmit threw; the packet counts as lost. */
  transmitErrors: number;
  /** TIME-WAIT connections ended early because the connection table was full. */
  timeWaitReclaimed: number;
  tcp: TcpStats;
}

export function emptyStats(): NetStackStats {
  return {
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    icmpEchoReplies: 0,
    drops: {
      ipv4Truncated: 0,
      ipv4BadVersion: 0,
      ipv4BadHeaderLength: 0,
      ipv4BadTotalLength: 0,
      ipv4BadChecksum: 0,
      ipv4Fragment: 0,
      ipv4NotForUs: 0,
      ipv4BadSource: 0,
      ipv4UnknownProtocol: 0,
      icmpTruncated: 0,
      icmpBadChecksum: 0,
      icmpUnsupportedType: 0,
      udpTruncated: 0,
      udpBadLength: 0,
      tcpTruncated: 0,
      tcpBadDataOffset: 0,
      tcpBadChecksum: 0,
      tcpBadOption: 0,
      tcpBadPort: 0,
      tcpNoListener: 0,
      tcpBacklogFull: 0,
      tcpConnectionLimit: 0,
      tcpBadFlags: 0,
      tcpReentrantOverflow: 0,
    },
    internalErrors: 0,
    transmitErrors: 0,
    timeWaitReclaimed: 0,
    tcp: emptyTcpStats(),
  };
}

export function totalDrops(stats: NetStackStats): number {
  let n = 0;
  for (const v of Object.values(stats.drops)) n += v;
  return n;
}
