// The one error type of the wire layer. Parsers throw it; the stack catches it at the receive
// boundary and counts the drop under `reason`, so unauthenticated input never escapes as a throw.

/** Why a packet was dropped; each reason is a counter in `NetStackStats.drops`. */
export type DropReason =
  | 'ipv4Truncated'
  | 'ipv4BadVersion'
  | 'ipv4BadHeaderLength'
  | 'ipv4BadTotalLength'
  | 'ipv4BadChecksum'
  | 'ipv4Fragment'
  | 'ipv4NotForUs'
  | 'ipv4BadSource'
  | 'ipv4UnknownProtocol'
  | 'icmpTruncated'
  | 'icmpBadChecksum'
  | 'icmpUnsupportedType'
  | 'udpTruncated'
  | 'udpBadLength'
  | 'tcpTruncated'
  | 'tcpBadDataOffset'
  | 'tcpBadChecksum'
  | 'tcpBadOption'
  | 'tcpBadPort'
  | 'tcpNoListener'
  | 'tcpBacklogFull'
  | 'tcpConnectionLimit'
  | 'tcpBadFlags'
  | 'tcpReentrantOverflow';

export class WireError extends Error {
  constructor(
    readonly reason: DropReason,
    message: string,
  ) {
    super(message);
    this.name = 'WireError';
  }
}
