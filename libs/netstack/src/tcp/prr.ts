// Proportional Rate Reduction (RFC 6937): during fast recovery, send in proportion to what the
// network delivered, so the window comes down to ssthresh smoothly instead of in one burst (a
// burst right after a loss is what loses the retransmissions next). With PRR-SSRB below ssthresh.

export class ProportionalRateReduction {
  /** prr_delivered: bytes the receiver reported delivered (cumulatively or SACKed) in recovery. */
  private deliveredBytes = 0;
  /** prr_out: bytes sent in recovery, retransmissions included. */
  private sentBytes = 0;
  /** RecoverFS: the flight size when recovery started. */
  private recoverFs = 1;

  /** §3 initialisation on entering recovery, with the flight size at that moment. */
  start(flightBytes: number): void {
    this.deliveredBytes = 0;
    this.sentBytes = 0;
    this.recoverFs = Math.max(1, flightBytes);
  }

  get delivered(): number {
    return this.deliveredBytes;
  }
  get sent(): number {
    return this.sentBytes;
  }

  onSent(bytes: number): void {
    this.sentBytes += bytes;
  }

  /**
   * §3 "on every ACK during recovery": `deliveredBytes` newly delivered, `pipeBytes` in flight now.
   * Returns the congestion window that lets exactly sndcnt more bytes out (cwnd = pipe + sndcnt).
   */
  onAck(deliveredBytes: number, pipeBytes: number, ssthresh: number, mss: number): number {
    this.deliveredBytes += deliveredBytes;
    let sndcnt: number;
    if (pipeBytes > ssthresh) {
      // Proportional part: deliver ssthresh/RecoverFS of what left the network.
      sndcnt = Math.ceil((this.deliveredBytes * ssthresh) / this.recoverFs) - this.sentBytes;
    } else {
      // PRR-SSRB: slow start back up to ssthresh, at most one MSS beyond what was delivered.
      sndcnt = Math.min(ssthresh - pipeBytes, Math.max(this.deliveredBytes - this.sentBytes, deliveredBytes) + mss);
    }
    return pipeBytes + Math.max(0, sndcnt);
  }
}
