// Proportional Rate Reduction on its own (RFC 6937): how much recovery may send per ACK.
import { describe, expect, it } from 'vitest';
import { ProportionalRateReduction } from './prr.js';

const MSS = 1000;

describe('RFC 6937 PRR', () => {
  it('while pipe is above ssthresh, sends ssthresh/RecoverFS of what is delivered (here half)', () => {
    const prr = new ProportionalRateReduction();
    const ssthresh = 10 * MSS;
    prr.start(20 * MSS); // RecoverFS = 20 segments, ssthresh half of it
    let pipe = 19 * MSS; // one segment lost
    const allowed: number[] = [];
    for (let ack = 0; ack < 8; ack++) {
      pipe -= MSS; // each ACK reports one segment delivered
      const cwnd = prr.onAck(MSS, pipe, ssthresh, MSS);
      const sndcnt = cwnd - pipe;
      allowed.push(sndcnt);
      prr.onSent(sndcnt);
      pipe += sndcnt;
    }
    // sndcnt = ceil(prr_delivered * ssthresh / RecoverFS) - prr_out: half of each delivery.
    expect(allowed).toEqual(Array(8).fill(MSS / 2));
    expect(prr.sent).toBe(4 * MSS);
    expect(prr.delivered).toBe(8 * MSS);
  });

  it('below ssthresh, PRR-SSRB grows back towards ssthresh by at most one MSS beyond delivery', () => {
    const prr = new ProportionalRateReduction();
    prr.start(20 * MSS);
    const ssthresh = 10 * MSS;
    // Heavy loss: pipe far below ssthresh.
    const cwnd = prr.onAck(2 * MSS, 4 * MSS, ssthresh, MSS);
    expect(cwnd - 4 * MSS).toBe(3 * MSS); // delivered 2 + 1 MSS
    prr.onSent(3 * MSS);
    // Never past ssthresh.
    expect(prr.onAck(8 * MSS, 9 * MSS, ssthresh, MSS)).toBe(ssthresh);
  });

  it('never returns a window below pipe, and restarts cleanly for the next episode', () => {
    const prr = new ProportionalRateReduction();
    prr.start(10 * MSS);
    prr.onSent(50 * MSS); // sent far more than the proportion allows
    expect(prr.onAck(MSS, 9 * MSS, 5 * MSS, MSS)).toBe(9 * MSS);
    prr.start(10 * MSS);
    expect([prr.sent, prr.delivered]).toEqual([0, 0]);
  });
});
