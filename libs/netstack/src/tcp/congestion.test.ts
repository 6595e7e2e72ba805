// NewReno congestion control on its own (RFC 5681, RFC 6582, RFC 6928): the window after each
// event, in bytes, against the RFC's formulas.
import { describe, expect, it } from 'vitest';
import { NewReno } from './congestion.js';

const MSS = 1368;

/** Acknowledges `bytes` in MSS-sized ACKs, each while cwnd-limited. */
function ackSegments(cc: NewReno, segments: number): void {
  for (let i = 0; i < segments; i++) cc.onAck(MSS, true);
}

describe('NewReno congestion control', () => {
  it('starts at the RFC 6928 initial window: min(10*MSS, max(2*MSS, 14600))', () => {
    expect(NewReno.initialWindow(1460)).toBe(14600);
    expect(NewReno.initialWindow(MSS)).toBe(13680); // 10 segments
    expect(NewReno.initialWindow(536)).toBe(5360);
    expect(NewReno.initialWindow(8960)).toBe(17920); // jumbo: 2 segments
    const cc = new NewReno(MSS);
    expect(cc.cwnd).toBe(10 * MSS);
    expect(cc.ssthresh).toBeGreaterThan(1e15); // "arbitrarily high" (RFC 5681 §3.1)
    cc.setMss(536); // the handshake negotiated a smaller MSS: the initial window follows it
    expect(cc.cwnd).toBe(5360);
  });

  it('slow start grows by the bytes acknowledged: one round trip of ACKs doubles the window', () => {
    const cc = new NewReno(MSS);
    for (let rtt = 0; rtt < 4; rtt++) {
      const before = cc.cwnd;
      ackSegments(cc, before / MSS);
      expect(cc.cwnd).toBe(2 * before);
    }
    // A stretch ACK for 4 segments counts like four ACKs (byte counting, RFC 3465).
    const stretched = new NewReno(MSS);
    stretched.onAck(4 * MSS, true);
    expect(stretched.cwnd).toBe(14 * MSS);
  });

  it('does not grow while the sender is not using the window (application-limited)', () => {
    const cc = new NewReno(MSS);
    for (let i = 0; i < 100; i++) cc.onAck(MSS, false);
    expect(cc.cwnd).toBe(10 * MSS);
  });

  it('slow start stops at ssthresh, then congestion avoidance adds about one MSS per window', () => {
    const cc = new NewReno(MSS);
    cc.enterRecovery(40 * MSS, true); // ssthresh = 20 MSS
    cc.exitRecovery(20 * MSS);
    expect(cc.ssthresh).toBe(20 * MSS);
    expect(cc.cwnd).toBe(20 * MSS);
    // One window's worth of ACKs: exactly one MSS more (RFC 5681 §3.1 eq. 3 with byte counting).
    ackSegments(cc, 20);
    expect(cc.cwnd).toBe(21 * MSS);
    // Ten more round trips: ten more segments, not the doubling of slow start.
    for (let rtt = 0; rtt < 10; rtt++) ackSegments(cc, Math.ceil(cc.cwnd / MSS));
    expect(cc.cwnd).toBeGreaterThanOrEqual(30 * MSS);
    expect(cc.cwnd).toBeLessThanOrEqual(32 * MSS);
  });

  it('slow start below ssthresh overshoots it by at most one MSS', () => {
    const cc = new NewReno(MSS);
    cc.onRetransmitTimeout(24 * MSS); // ssthresh 12 MSS, cwnd 1 MSS
    ackSegments(cc, 30);
    expect(cc.cwnd).toBeGreaterThan(12 * MSS);
    expect(cc.cwnd).toBeLessThan(16 * MSS); // growth after ssthresh is linear
  });

  it('halves on loss: ssthresh = flight/2 (at least 2 MSS); cwnd = ssthresh with SACK, +3 MSS without', () => {
    const sack = new NewReno(MSS);
    ackSegments(sack, 30); // cwnd 40 MSS
    sack.enterRecovery(40 * MSS, true);
    expect(sack.ssthresh).toBe(20 * MSS);
    expect(sack.cwnd).toBe(20 * MSS);

    const reno = new NewReno(MSS);
    reno.enterRecovery(40 * MSS, false);
    expect(reno.ssthresh).toBe(20 * MSS);
    expect(reno.cwnd).toBe(23 * MSS); // RFC 6582 §3.2 step 2: three segments left the network
    reno.inflate(); // each further duplicate ACK
    expect(reno.cwnd).toBe(24 * MSS);

    const tiny = new NewReno(MSS);
    tiny.enterRecovery(MSS, true);
    expect(tiny.ssthresh).toBe(2 * MSS); // RFC 5681 eq. 4 floor
  });

  it('NewReno partial ACK deflates by the amount acknowledged and adds back one MSS', () => {
    const cc = new NewReno(MSS);
    cc.enterRecovery(40 * MSS, false); // cwnd 23 MSS
    cc.partialAck(5 * MSS); // RFC 6582 §3.2 step 5
    expect(cc.cwnd).toBe(19 * MSS);
    cc.partialAck(100); // less than one MSS acknowledged: no MSS added back
    expect(cc.cwnd).toBe(19 * MSS - 100);
    cc.partialAck(100 * MSS); // never below one segment
    expect(cc.cwnd).toBe(MSS);
  });

  it('a full ACK ends recovery at ssthresh, or at flight + one MSS when little is in flight', () => {
    const cc = new NewReno(MSS);
    cc.enterRecovery(40 * MSS, false);
    cc.exitRecovery(30 * MSS);
    expect(cc.cwnd).toBe(20 * MSS);
    const drained = new NewReno(MSS);
    drained.enterRecovery(40 * MSS, false);
    drained.exitRecovery(3 * MSS); // RFC 6582 §3.2 step 6 option 1
    expect(drained.cwnd).toBe(4 * MSS);
  });

  it('a retransmission timeout restarts from one segment; ssthresh halves once per episode', () => {
    const cc = new NewReno(MSS);
    cc.onRetransmitTimeout(30 * MSS);
    expect(cc.cwnd).toBe(MSS);
    expect(cc.ssthresh).toBe(15 * MSS);
    // A second timeout in the same episode keeps ssthresh (Linux tcp_enter_loss).
    cc.onRetransmitTimeout(MSS, false);
    expect(cc.ssthresh).toBe(15 * MSS);
    expect(cc.cwnd).toBe(MSS);
  });

  it('after idling longer than the RTO the window restarts from the initial window (RFC 5681 §4.1)', () => {
    const cc = new NewReno(MSS);
    ackSegments(cc, 50);
    expect(cc.cwnd).toBe(60 * MSS);
    cc.restartAfterIdle();
    expect(cc.cwnd).toBe(10 * MSS);
    const small = new NewReno(MSS);
    small.onRetransmitTimeout(10 * MSS);
    small.restartAfterIdle(); // never raises a window smaller than the initial one
    expect(small.cwnd).toBe(MSS);
  });
});
