// What a TCP connection needs from the stack that owns it: the clockless services (transmit, the
// connection table, timers, event delivery) and the shared counters. NetStack implements it; the
// seam keeps the state machine testable and free of any table or I/O code.
import type { TcpRepr } from '../wire/tcp.js';
import type { TcpConfig } from './tcp-config.js';
import type { TcpConnection } from './tcp-connection.js';

export interface TcpStats {
  activeOpens: number;
  passiveOpens: number;
  segmentsIn: number;
  segmentsOut: number;
  retransmittedSegments: number;
  fastRecoveries: number;
  /** Retransmissions found lost via SACK (resent without waiting for the RTO). */
  lostRetransmits: number;
  rtoExpirations: number;
  resetsSent: number;
  resetsReceived: number;
  challengeAcks: number;
  outOfWindowSegments: number;
  outOfOrderSegments: number;
  outOfOrderDropped: number;
  pawsDrops: number;
  zeroWindowProbes: number;
  keepaliveProbes: number;
  timeouts: number;
}

export function emptyTcpStats(): TcpStats {
  return {
    activeOpens: 0,
    passiveOpens: 0,
    segmentsIn: 0,
    segmentsOut: 0,
    retransmittedSegments: 0,
    fastRecoveries: 0,
    lostRetransmits: 0,
    rtoExpirations: 0,
    resetsSent: 0,
    resetsReceived: 0,
    challengeAcks: 0,
    outOfWindowSegments: 0,
    outOfOrderSegments: 0,
    outOfOrderDropped: 0,
    pawsDrops: 0,
    zeroWindowProbes: 0,
    keepaliveProbes: 0,
    timeouts: 0,
  };
}

export interface TcpHost {
  readonly localAddr: number;
  readonly config: TcpConfig;
  readonly tcpStats: TcpStats;
  /** Hands one finished IPv4 packet to the link. */
  transmit(packet: Buffer): void;
  /** IPv4 identification for the next packet. */
  nextIpId(): number;
  /** The connection has pending events; deliver them once the current input is processed. */
  notify(conn: TcpConnection): void;
  /** The connection reached CLOSED: remove it from the tables. */
  release(conn: TcpConnection): void;
  /** A passive connection completed its handshake (frees a SYN-backlog slot). */
  onPassiveEstablished(conn: TcpConnection): void;
  /** Hands a newly established passive connection to its listener (sets conn.handler). */
  accept(conn: TcpConnection): void;
  /** RFC 5961 §7: challenge ACKs are rate-limited. */
  allowChallengeAck(nowMs: number): boolean;
  /** RFC 9293 §3.10.7.1: a RST answering `seg`, which arrived from `remoteAddr`. */
  sendResetFor(seg: TcpRepr, remoteAddr: number): void;
}
