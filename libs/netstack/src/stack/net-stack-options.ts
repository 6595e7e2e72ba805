// The options of a NetStack: its address and link, limits on what peers can make it hold, and TCP
// tuning, resolved once into the TcpConfig every connection reads.
import { DEFAULT_TCP_CONFIG, type TcpConfig } from '../tcp/tcp-config.js';
import type { NetstackLogger } from './logger.js';

export interface NetStackLimits {
  /** Connections in any state, TIME-WAIT included. */
  maxConnections: number;
  /** Half-open (SYN-RECEIVED) connections per listener; further SYNs are dropped. */
  synBacklog: number;
  sendBufferBytes: number;
  receiveBufferBytes: number;
  maxOutOfOrderRanges: number;
  maxOutOfOrderSegments: number;
  /** RFC 5961 §7 challenge ACKs per second (stack-wide). */
  challengeAcksPerSecond: number;
  /** RSTs per second for segments that match no connection. */
  resetsPerSecond: number;
}

export const DEFAULT_LIMITS: NetStackLimits = {
  maxConnections: 16384,
  synBacklog: 256,
  sendBufferBytes: DEFAULT_TCP_CONFIG.sendBufferBytes,
  receiveBufferBytes: DEFAULT_TCP_CONFIG.receiveBufferBytes,
  maxOutOfOrderRanges: DEFAULT_TCP_CONFIG.maxOutOfOrderRanges,
  maxOutOfOrderSegments: DEFAULT_TCP_CONFIG.maxOutOfOrderSegments,
  challengeAcksPerSecond: 1000,
  resetsPerSecond: 1000,
};

export interface NetStackOptions {
  /** Our IPv4 address, e.g. "100.64.0.1". */
  address: string;
  /** Link MTU; TCP advertises MSS = mtu - 40. Default 1420 (WireGuard). */
  mtuBytes?: number;
  /** Receives every packet the stack sends. Must not call receive() of this stack synchronously. */
  onTransmit(packet: Uint8Array): void;
  /** Source of randomness (ISN secret, timestamp offsets, ephemeral ports). Default node:crypto. */
  random?: (size: number) => Uint8Array;
  logger?: NetstackLogger;
  /** Verify IPv4/ICMP/TCP checksums on receive (may be off behind an authenticated tunnel). */
  verifyChecksums?: boolean;
  limits?: Partial<NetStackLimits>;
  /** TCP tuning (timeouts, features); buffer sizes come from `limits`. */
  tcp?: Partial<Omit<TcpConfig, 'mtuBytes'>>;
}

/** The TCP configuration for `options`: defaults, then `tcp`, with the MTU checked and buffer sizes from `limits`. */
export function resolveTcpConfig(options: Pick<NetStackOptions, 'mtuBytes' | 'tcp'>, limits: NetStackLimits): TcpConfig {
  const mtuBytes = options.mtuBytes ?? DEFAULT_TCP_CONFIG.mtuBytes;
  if (!Number.isInteger(mtuBytes) || mtuBytes < 576 || mtuBytes > 65535) {
    throw new RangeError(`netstack: mtuBytes ${mtuBytes} is outside 576..65535`);
  }
  return {
    ...DEFAULT_TCP_CONFIG,
    ...options.tcp,
    mtuBytes,
    sendBufferBytes: limits.sendBufferBytes,
    receiveBufferBytes: limits.receiveBufferBytes,
    maxOutOfOrderRanges: limits.maxOutOfOrderRanges,
    maxOutOfOrderSegments: limits.maxOutOfOrderSegments,
  };
}
