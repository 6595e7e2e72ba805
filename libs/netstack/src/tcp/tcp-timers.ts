// The timers of one connection (RFC 9293 §3.8): retransmission (RFC 6298) shared with the persist
// timer, delayed ACK, keep-alive (RFC 1122 4.2.3.6), TIME-WAIT / FIN-WAIT-2 and the connect
// deadline, as absolute deadlines in the caller's milliseconds (undefined = not running), plus the
// counters each one keeps. The stack's heap wakes the connection at next().

export class TcpTimers {
  /** Retransmission or persist deadline. */
  rtoAt: number | undefined;
  /** rtoAt is the persist timer (zero window) rather than retransmission. */
  persisting = false;
  persistBackoff = 0;
  /** Consecutive timeouts without progress (Linux tcp_retries2 counts these). */
  rtoRetries = 0;
  synRetransmits = 0;
  /** Zero-window probes the peer has not answered. */
  probesUnanswered = 0;
  delackAt: number | undefined;
  keepaliveEnabled = false;
  keepaliveIdleMs: number;
  keepaliveAt: number | undefined;
  keepaliveProbesSent = 0;
  /** Last segment from the peer (keep-alive idles from here). */
  lastRecvAt: number;
  /** Last data sent (RFC 5681 §4.1 restart after idle). */
  lastSendAt = 0;
  /** End of TIME-WAIT, or of an orphan's FIN-WAIT-2. */
  closeAt: number | undefined;
  connectDeadline: number | undefined;

  constructor(keepaliveIdleMs: number, nowMs: number) {
    this.keepaliveIdleMs = keepaliveIdleMs;
    this.lastRecvAt = nowMs;
  }

  /** The earliest deadline, or undefined. Called after every segment: no allocation. */
  next(): number | undefined {
    let at = this.rtoAt;
    const d = this.delackAt;
    if (d !== undefined && (at === undefined || d < at)) at = d;
    const k = this.keepaliveAt;
    if (k !== undefined && (at === undefined || k < at)) at = k;
    const c = this.closeAt;
    if (c !== undefined && (at === undefined || c < at)) at = c;
    const t = this.connectDeadline;
    if (t !== undefined && (at === undefined || t < at)) at = t;
    return at;
  }

  /** Stops the retransmission/persist timer. */
  stopRetransmit(): void {
    this.rtoAt = undefined;
    this.persisting = false;
  }

  /** Stops everything (CLOSED). */
  stopAll(): void {
    this.rtoAt = this.delackAt = this.keepaliveAt = this.closeAt = this.connectDeadline = undefined;
    this.persisting = false;
  }
}
