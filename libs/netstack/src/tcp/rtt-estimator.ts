// Retransmission timeout per RFC 6298: SRTT/RTTVAR smoothing (§2), Karn's rule left to the caller
// (§3, samples come from timestamps or untouched segments only), exponential backoff (§5.5).

export interface RttConfig {
  initialRtoMs: number;
  minRtoMs: number;
  maxRtoMs: number;
}

/** Clock granularity G of RFC 6298 §2: time is passed in as milliseconds. */
const GRANULARITY_MS = 1;

export class RttEstimator {
  srttMs: number | undefined;
  rttvarMs = 0;
  private baseRtoMs: number;
  backoffs = 0;

  constructor(private readonly config: RttConfig) {
    this.baseRtoMs = config.initialRtoMs;
  }

  /** The current timeout including backoff, clamped to [min, max] (§2.4, §2.5, §5.5). */
  get rtoMs(): number {
    const rto = this.baseRtoMs * 2 ** this.backoffs;
    return Math.min(this.config.maxRtoMs, Math.max(this.config.minRtoMs, rto));
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
  }

  /** §5.5: double the timer after it expires. */
  backoff(): void {
    if (this.rtoMs < this.config.maxRtoMs) this.backoffs++;
  }

  resetBackoff(): void {
    this.backoffs = 0;
  }

  /** §5.7: after the SYN (or SYN-ACK) had to be retransmitted, use 3 s until data gives a sample. */
  synRetransmitted(): void {
    if (this.srttMs === undefined) this.baseRtoMs = Math.max(this.baseRtoMs, 3000);
  }
}
