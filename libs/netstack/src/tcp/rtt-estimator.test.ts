// RTT estimation and the retransmission timeout on their own (RFC 6298): smoothing, bounds,
// backoff, and where samples may come from (Karn's rule, timestamps).
import { describe, expect, it } from 'vitest';
import { RttEstimator } from './rtt-estimator.js';

const CONFIG = { initialRtoMs: 1000, minRtoMs: 200, maxRtoMs: 60_000 };

/** An estimator with CONFIG that has taken these RTT samples, in order. */
function sampled(...rttsMs: number[]): RttEstimator {
  const rtt = new RttEstimator(CONFIG);
  for (const ms of rttsMs) rtt.sample(ms);
  return rtt;
}

describe('RFC 6298 estimator', () => {
  it('starts at the initial RTO of 1 s before any sample (§2.1)', () => {
    const rtt = new RttEstimator(CONFIG);
    expect(rtt.srttMs).toBeUndefined();
    expect(rtt.rtoMs).toBe(1000);
  });

  it('first sample R: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4*RTTVAR) = 3R (§2.2)', () => {
    const rtt = sampled(100);
    expect(rtt.srttMs).toBe(100);
    expect(rtt.rttvarMs).toBe(50);
    expect(rtt.rtoMs).toBe(300);
  });

  it('later samples smooth with alpha 1/8 and beta 1/4, RTTVAR from the previous SRTT (§2.3)', () => {
    const rtt = sampled(100, 300);
    // RTTVAR = 3/4*50 + 1/4*|100-300| = 87.5; SRTT = 7/8*100 + 1/8*300 = 125.
    expect(rtt.rttvarMs).toBe(87.5);
    expect(rtt.srttMs).toBe(125);
    expect(rtt.rtoMs).toBe(125 + 4 * 87.5);
    // A steady RTT converges: variance decays, SRTT approaches the sample.
    for (let i = 0; i < 200; i++) rtt.sample(40);
    expect(rtt.srttMs).toBeCloseTo(40, 3);
    expect(rtt.rttvarMs).toBeLessThan(0.01);
  });

  it('clamps the RTO to [min, max] (§2.4 with a 200 ms floor like Linux, §2.5)', () => {
    expect(sampled(1).rtoMs).toBe(200);
    expect(sampled(50_000).rtoMs).toBe(60_000);
    // The clock granularity G (1 ms) is the least variance term: RTO = SRTT + G with zero variance.
    const exact = new RttEstimator({ ...CONFIG, minRtoMs: 0 });
    for (let i = 0; i < 400; i++) exact.sample(500);
    expect(exact.rtoMs).toBeCloseTo(501, 3);
  });

  it('backs off exponentially on timeouts up to the maximum, and resets on progress (§5.5, §5.7)', () => {
    const rtt = sampled(100); // RTO 300
    const timeouts: number[] = [];
    for (let i = 0; i < 12; i++) {
      rtt.backoff();
      timeouts.push(rtt.rtoMs);
    }
    expect(timeouts.slice(0, 5)).toEqual([600, 1200, 2400, 4800, 9600]);
    expect(timeouts.at(-1)).toBe(60_000);
    expect(Math.max(...timeouts)).toBe(60_000);
    rtt.resetBackoff();
    expect(rtt.rtoMs).toBe(300);
  });

  it('uses 3 s after a retransmitted SYN until data gives a sample (§5.7)', () => {
    const rtt = new RttEstimator(CONFIG);
    rtt.synRetransmitted();
    expect(rtt.rtoMs).toBe(3000);
    rtt.sample(100);
    expect(rtt.rtoMs).toBe(300);
    const measured = sampled(100);
    measured.synRetransmitted(); // a sample exists: keep it
    expect(measured.rtoMs).toBe(300);
  });
});

describe('where samples come from (§3)', () => {
  it('times one segment per flight and samples when the ACK covers it', () => {
    const rtt = new RttEstimator(CONFIG);
    rtt.onNewDataSent(1000, 0);
    rtt.onNewDataSent(2000, 10); // already timing: ignored
    rtt.onAck(999, 50); // does not cover the timed segment
    expect(rtt.srttMs).toBeUndefined();
    rtt.onAck(1500, 80);
    expect(rtt.srttMs).toBe(80);
    expect(rtt.isTiming).toBe(false);
  });

  it("Karn's rule: a retransmission of the timed range gives no sample", () => {
    const rtt = new RttEstimator(CONFIG);
    rtt.onNewDataSent(1000, 0);
    rtt.onRetransmit(1200); // above the timed range: still timing
    expect(rtt.isTiming).toBe(true);
    rtt.onRetransmit(1); // the timed segment was resent
    rtt.onAck(1000, 2000);
    expect(rtt.srttMs).toBeUndefined();
    rtt.onNewDataSent(3000, 2000);
    rtt.cancelTiming(); // fast recovery or a timeout
    rtt.onAck(3000, 2100);
    expect(rtt.srttMs).toBeUndefined();
  });

  it('timestamps give one sample per flight and ignore echoes that are not ours', () => {
    const rtt = new RttEstimator(CONFIG);
    rtt.onTimestampEcho(1, 40, 5000); // samples, next sample once 5000 is acknowledged
    expect(rtt.srttMs).toBe(40);
    rtt.onTimestampEcho(4000, 400, 6000); // same flight: ignored
    expect(rtt.srttMs).toBe(40);
    rtt.onTimestampEcho(5000, 48, 9000);
    expect(rtt.srttMs).toBe(41);
    rtt.sampleTimestamp(-5); // an echo from the future
    rtt.sampleTimestamp(90_000); // or from long ago
    expect(rtt.srttMs).toBe(41);
  });

  it('a SYN acknowledged without retransmission gives the first sample', () => {
    const rtt = new RttEstimator(CONFIG);
    rtt.onSynSent(1000);
    rtt.onSynAcked(1030);
    expect(rtt.srttMs).toBe(30);
    expect(rtt.rtoMs).toBe(200); // 30 + 4*15 = 90, floored at 200
  });
});
