// NewReno congestion control in bytes (RFC 5681 §3.1-3.2, RFC 6582 for the recovery exits),
// with the initial window of RFC 6928 and the restart-after-idle rule of RFC 5681 §4.1.
// The recovery bookkeeping (what to retransmit) lives in the connection; this holds cwnd/ssthresh.

export class NewReno {
  cwnd: number;
  ssthresh = Number.MAX_SAFE_INTEGER;
  /** Bytes acknowledged in congestion avoidance not yet turned into a window increase. */
  private acc = 0;

  constructor(private mss: number) {
    this.cwnd = NewReno.initialWindow(mss);
  }

  /** RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)). */
  static initialWindow(mss: number): number {
    return Math.min(10 * mss, Math.max(2 * mss, 14600));
  }

  setMss(mss: number): void {
    this.mss = mss;
    this.cwnd = NewReno.initialWindow(mss);
  }

  /**
   * New data acknowledged outside recovery. Growth happens only while the sender was limited by
   * cwnd (RFC 7661 idea): an application-limited sender must not inflate a window it never used.
   */
  onAck(ackedBytes: number, cwndLimited: boolean): void {
    if (!cwndLimited) return;
    if (this.cwnd < this.ssthresh) {
      // Slow start (§3.1 eq. 2), counting bytes so stretch ACKs grow the window like per-segment ACKs.
      this.cwnd += Math.min(ackedBytes, this.ssthresh - this.cwnd + this.mss);
      return;
    }
    // Congestion avoidance: about one MSS per cwnd of acknowledged data (§3.1 byte counting).
    this.acc += ackedBytes;
    if (this.acc >= this.cwnd) {
      this.acc -= this.cwnd;
      this.cwnd += this.mss;
    }
  }

  /** §3.2 step 2 / RFC 6582 §3.2 step 2: entering fast recovery. */
  enterRecovery(flightBytes: number, sack: boolean): void {
    this.ssthresh = Math.max(Math.floor(flightBytes / 2), 2 * this.mss);
    // Without SACK the window is inflated by the three segments that left the network (§3.2 step 3);
    // with SACK, pipe accounts for them instead (RFC 6675 §5 step 4).
    this.cwnd = sack ? this.ssthresh : this.ssthresh + 3 * this.mss;
    this.acc = 0;
  }

  /** RFC 6582 §3.2 step 3: each further duplicate ACK inflates the window by one segment. */
  inflate(): void {
    this.cwnd += this.mss;
  }

  /** RFC 6582 §3.2 step 5: partial ACK deflates by the amount acknowledged, then adds one MSS. */
  partialAck(ackedBytes: number): void {
    this.cwnd = Math.max(this.mss, this.cwnd - ackedBytes + (ackedBytes >= this.mss ? this.mss : 0));
  }

  /** RFC 6582 §3.2 step 6 option 1 (full ACK): deflate to ssthresh, or less if little is in flight. */
  exitRecovery(flightBytes: number): void {
    this.cwnd = Math.min(this.ssthresh, Math.max(flightBytes, this.mss) + this.mss);
    this.acc = 0;
  }

  /** §3.1 eq. 4 and §3.1 after RTO: ssthresh halves, cwnd restarts from one segment. */
  onRetransmitTimeout(flightBytes: number, reduceSsthresh = true): void {
    if (reduceSsthresh) this.ssthresh = Math.max(Math.floor(flightBytes / 2), 2 * this.mss);
    this.cwnd = this.mss;
    this.acc = 0;
  }

  /** §4.1: after an idle period longer than RTO, restart from the initial window. */
  restartAfterIdle(): void {
    this.cwnd = Math.min(this.cwnd, NewReno.initialWindow(this.mss));
  }
}
