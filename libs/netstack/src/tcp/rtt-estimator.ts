// Retransmission timeout per RFC 6298: SRTT/RTTVAR smoothing (§2), where samples come from (§3:
// timestamps, RFC 7323 §4, or one timed segment per flight under Karn's rule), exponential
// backoff (§5.5) and the 3 s fallback after a retransmitted SYN (§5.7). Pure: time is passed in.

export interface RttConfig {
  initialRtoMs: number;
  minRtoMs: number;
  maxRtoMs: number;
}

/** Clock granularity G of RFC 6298 §2: time is passed in as milliseconds. */
const GRANULARITY_MS = 1;
/** A timestamp echo older than this is not one of ours (RFC 7323 §5.5 bounds echoes in time too). */
const MAX_TIMESTAMP_RTT_MS = 60_000;

export class RttEstimator {
  srttMs: number | undefined;
  rttvarMs = 0;
  private baseRtoMs: number;
  private backoffCount = 0;
  /** The timeout, kept up to date: it is read for every segment sent and every ACK. */
  private rto: number;
  /** Sequence offset that must be acknowledged before the next sample is taken. */
  private sampleSeq = 0;
  /** When the timed segment left (timing without timestamps). */
  private sentAtMs = 0;
  /** A segment is being timed (only without timestamps). */
  private timing = false;

  constructor(private readonly config: RttConfig) {
    this.baseRtoMs = config.initialRtoMs;
    this.rto = this.computeRto();
  }

  /** The current timeout including backoff, clamped to [min, max] (§2.4, §2.5, §5.5). */
  get rtoMs(): number {
    return this.rto;
  }

  /** Timeouts since the last progress: the timer is doubled this many times. */
  get backoffs(): number {
    return this.backoffCount;
  }

  private computeRto(): number {
    let rto = this.baseRtoMs;
    for (let i = 0; i < this.backoffCount && rto < this.config.maxRtoMs; i++) rto *= 2;
    return Math.min(this.config.maxRtoMs, Math.max(this.config.minRtoMs, rto));
  }

  /** Whether a segment is being timed (no timestamps). */
  get isTiming(): boolean {
    return this.timing;
  }

  sample(rttMs: number): void {
    const r = Math.max(0, rttMs);
    if (this.srttMs === undefined) {
      // §2.2: first measurement.
      this.srttMs = r;
      this.rttvarMs = r / 2;
    } else {
      // §2.3 with alpha = 1/8, beta = 1/4; RTTVAR uses the SRTT from before this update.
      this.rttvarMs = 0.75 * this.rttvarMs + 0.25 * Math.abs(this.srttMs - r);
      this.srttMs = 0.875 * this.srttMs + 0.125 * r;
    }
    this.baseRtoMs = this.srttMs + Math.max(GRANULARITY_MS, 4 * this.rttvarMs);
    this.rto = this.computeRto();
  }

  /** §5.5: double the timer after it expires. */
  backoff(): void {
    if (this.rto < this.config.maxRtoMs) {
      this.backoffCount++;
      this.rto = this.computeRto();
    }
  }

  resetBackoff(): void {
    if (this.backoffCount === 0) return;
    this.backoffCount = 0;
    this.rto = this.computeRto();
  }

  /** §5.7: after the SYN (or SYN-ACK) had to be retransmitted, use 3 s until data gives a sample. */
  synRetransmitted(): void {
    if (this.srttMs === undefined) {
      this.baseRtoMs = Math.max(this.baseRtoMs, 3000);
      this.rto = this.computeRto();
    }
  }

  // --- where samples come from (§3) ------------------------------------------------------------

  /** Our SYN (or SYN-ACK) left for the first time; its ACK gives a sample unless it is resent. */
  onSynSent(nowMs: number): void {
    this.sentAtMs = nowMs;
  }

  /** The SYN sent once (Karn: not after a retransmission) was acknowledged at `nowMs`. */
  onSynAcked(nowMs: number): void {
    this.sample(nowMs - this.sentAtMs);
  }

  /** New data ending at `endSeq` left at `nowMs`: time it, unless a segment is timed already. */
  onNewDataSent(endSeq: number, nowMs: number): void {
    if (this.timing) return;
    this.timing = true;
    this.sampleSeq = endSeq;
    this.sentAtMs = nowMs;
  }

  /** Karn's rule (§3): a retransmission of the timed range makes its ACK ambiguous. */
  onRetransmit(startSeq: number): void {
    if (this.timing && startSeq < this.sampleSeq) this.timing = false;
  }

  /** Loss (fast recovery or a timeout): whatever was timed may have been resent. */
  cancelTiming(): void {
    this.timing = false;
  }

  /** Without timestamps: the cumulative ACK reached `ackSeq` at `nowMs`. */
  onAck(ackSeq: number, nowMs: number): void {
    if (this.timing && ackSeq >= this.sampleSeq) {
      this.timing = false;
      this.sample(nowMs - this.sentAtMs);
    }
  }

  /**
   * With timestamps (RFC 7323 §4.1): an ACK reaching `ackSeq` echoed a clock value `elapsedMs`
   * ago. One sample per flight (as Linux): the next comes once `nextSampleSeq` is acknowledged.
   */
  onTimestampEcho(ackSeq: number, elapsedMs: number, nextSampleSeq: number): void {
    if (ackSeq < this.sampleSeq) return;
    this.sampleTimestamp(elapsedMs);
    this.sampleSeq = nextSampleSeq;
  }

  /** A timestamp echo as a sample, ignoring echoes that cannot be ours (negative or ancient). */
  sampleTimestamp(elapsedMs: number): void {
    if (elapsedMs >= 0 && elapsedMs < MAX_TIMESTAMP_RTT_MS) this.sample(elapsedMs);
  }
}
