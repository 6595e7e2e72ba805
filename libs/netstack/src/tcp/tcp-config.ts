// Tunables of the TCP implementation: protocol constants with their RFC source, and our choices.
// Everything time-related is in milliseconds because the stack is driven by a caller's clock.

export interface TcpConfig {
  /** IP MTU of the link; MSS advertised = mtu - 40 (RFC 9293 §3.7.1, RFC 6691). */
  mtuBytes: number;
  /** Bytes a connection buffers for sending (the Duplex's write() returns false beyond this). */
  sendBufferBytes: number;
  /** Receive buffer and largest advertised window (scaled per RFC 7323). */
  receiveBufferBytes: number;
  /** Out-of-order ranges (holes) kept per connection. */
  maxOutOfOrderRanges: number;
  /** Out-of-order pieces kept per connection. */
  maxOutOfOrderSegments: number;
  /** Offer/accept RFC 7323 window scaling, SACK-permitted (RFC 2018) and timestamps (RFC 7323). */
  windowScaling: boolean;
  sack: boolean;
  timestamps: boolean;
  /** RFC 6298 §2.1: 1 s initial RTO; §2.4 says 1 s minimum, Linux uses 200 ms (we follow Linux). */
  initialRtoMs: number;
  minRtoMs: number;
  /** RFC 6298 §2.5: a maximum of at least 60 s. */
  maxRtoMs: number;
  /** Consecutive RTO expirations before the connection fails with ETIMEDOUT (Linux tcp_retries2). */
  maxRetransmissions: number;
  /** SYN / SYN-ACK retransmissions before giving up (Linux tcp_syn_retries = 6). */
  synRetries: number;
  /** TIME-WAIT duration, 2*MSL (RFC 9293 §3.4.2; Linux holds 60 s). */
  timeWaitMs: number;
  /** How long an orphaned connection (closed by the app) may sit in FIN-WAIT-2 (Linux tcp_fin_timeout). */
  finWait2TimeoutMs: number;
  /** Delayed-ACK timeout (RFC 9293 §3.8.6.3 requires < 500 ms). */
  ackDelayMs: number;
  /**
   * An ACK becomes due once this many full-sized segments are unacknowledged (RFC 5681 §4.2: 2).
   * A due ACK is sent when the current burst of input ends (the driver's next tick, on
   * setImmediate), so one ACK covers a batch of datagrams read together, as Linux's GRO does.
   */
  ackEverySegments: number;
  /** Within one burst, never let more than this many full-sized segments go unacknowledged. */
  maxAckStretchSegments: number;
  /** Keep-alive (RFC 9293 §3.8.4, RFC 1122 4.2.3.6): idle time, probe interval, probe count. */
  keepaliveIdleMs: number;
  keepaliveIntervalMs: number;
  keepaliveProbes: number;
}

export const DEFAULT_TCP_CONFIG: TcpConfig = {
  mtuBytes: 1420,
  sendBufferBytes: 1024 * 1024,
  receiveBufferBytes: 4 * 1024 * 1024,
  maxOutOfOrderRanges: 256,
  maxOutOfOrderSegments: 8192,
  windowScaling: true,
  sack: true,
  timestamps: true,
  initialRtoMs: 1000,
  minRtoMs: 200,
  maxRtoMs: 60_000,
  maxRetransmissions: 15,
  synRetries: 6,
  timeWaitMs: 60_000,
  finWait2TimeoutMs: 60_000,
  ackDelayMs: 10,
  ackEverySegments: 2,
  maxAckStretchSegments: 16,
  keepaliveIdleMs: 2 * 60 * 60 * 1000,
  keepaliveIntervalMs: 75_000,
  keepaliveProbes: 9,
};

/** IPv4 (20) + TCP (20) header bytes without options. */
export const IPV4_TCP_HEADERS = 40;
/** RFC 9293 §3.7.1: MSS assumed when the option is absent. */
export const DEFAULT_MSS = 536;
/** Smallest peer MSS we honour (Linux floors at 48; tiny MSS is an amplification vector). */
export const MIN_PEER_MSS = 64;
