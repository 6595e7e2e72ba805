// Loss recovery on a live connection against a scripted receiver: the initial window and slow
// start as segments on the wire, fast retransmit after three duplicate ACKs, NewReno's partial ACK
// (RFC 6582), SACK-based recovery (RFC 6675) with PRR, and the retransmission timeout's backoff
// and restart from one segment (RFC 6298 §5, RFC 5681 §3.1). Time is simulated.
import { beforeEach, describe, expect, it } from 'vitest';
import { ScriptedPeer } from '../testing/scripted-peer.js';
import { TCP_ACK, type TcpRepr } from '../wire/tcp.js';
import type { TcpConnection } from './tcp-connection.js';
import { Recovery } from './tcp-types.js';

const SEG = 1000;
let peer: ScriptedPeer;
let conn: TcpConnection;
let iss: number;

/** Handshake with a peer offering MSS 1000 (and SACK/timestamps when asked), window 65535. */
function open(options: { sack?: boolean; timestamps?: boolean } = {}): void {
  peer = new ScriptedPeer();
  const syn = { mss: SEG, ...(options.sack ? { sackPermitted: true } : {}), ...(options.timestamps ? { tsVal: 1000, tsEcr: 0 } : {}) };
  ({ conn, iss } = peer.handshake(syn, 65535));
  expect(conn.negotiated.segSize).toBe(options.timestamps ? SEG - 12 : SEG);
}

/** Sequence offset of the start of data segment `k` (data starts at offset 1). */
const at = (k: number): number => 1 + k * SEG;

/** The segment index of a data segment the stack sent. */
const index = (s: TcpRepr): number => ((s.seq - iss - 1) >>> 0) / SEG;

/** The peer acknowledges up to segment `k` (exclusive), optionally SACKing [from, to) segment ranges. */
function ack(k: number, sack: Array<[number, number]> = []): void {
  const blocks = sack.flatMap(([from, to]) => [(iss + at(from)) >>> 0, (iss + at(to)) >>> 0]);
  peer.inject({
    srcPort: 40000,
    dstPort: 80,
    seq: 5001,
    ack: (iss + at(k)) >>> 0,
    flags: TCP_ACK,
    window: 65535,
    ...(blocks.length > 0 ? { sackBlocks: blocks } : {}),
  });
}

function write(bytes: number): void {
  peer.call(conn, (now) => conn.send(Buffer.alloc(bytes, 0x61), now));
}

const sentIndexes = (): number[] => peer.sent().filter((s) => s.payload.length > 0).map(index);

beforeEach(() => open());

describe('the window on the wire', () => {
  it('sends exactly the RFC 6928 initial window (10 segments) before any ACK, then doubles per round trip', () => {
    write(200 * SEG);
    expect(sentIndexes()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // One ACK per segment: slow start sends two for each (cwnd grows by what is acknowledged).
    let next = 10;
    for (let k = 1; k <= 10; k++) {
      ack(k);
      const out = sentIndexes();
      expect(out).toEqual([next, next + 1]);
      next += 2;
    }
    expect(conn.cc.cwnd).toBe(20 * SEG);
  });
});

describe('fast retransmit and NewReno without SACK (RFC 5681 §3.2, RFC 6582)', () => {
  it('three duplicate ACKs resend the first hole; a partial ACK resends the next hole at once', () => {
    write(10 * SEG);
    expect(sentIndexes()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Segments 2 and 5 are lost. The receiver acknowledges 0 and 1, then duplicates for 3 and 4.
    ack(1);
    ack(2);
    sentIndexes();
    ack(2);
    ack(2);
    expect(sentIndexes()).toEqual([]); // two duplicates: nothing yet
    ack(2); // the third duplicate (segment 6 arrived)
    expect(sentIndexes()).toEqual([2]);
    expect(conn.loss.phase).toBe(Recovery.Fast);
    expect(conn.cc.ssthresh).toBe(4 * SEG); // flight 8 segments halved
    expect(peer.stack.stats.tcp.fastRecoveries).toBe(1);
    // Duplicates for 7, 8, 9 inflate the window but resend nothing.
    ack(2);
    ack(2);
    ack(2);
    expect(sentIndexes()).toEqual([]);
    // The retransmitted 2 fills the first hole: the ACK stops at the second hole (partial ACK).
    ack(5);
    expect(sentIndexes()).toEqual([5]); // no RTO needed
    expect(conn.loss.phase).toBe(Recovery.Fast);
    ack(10); // full ACK: recovery ends at ssthresh or below
    expect(conn.loss.phase).toBe(Recovery.None);
    expect(conn.cc.cwnd).toBeLessThanOrEqual(4 * SEG);
    expect(peer.stack.stats.tcp.rtoExpirations).toBe(0);
    expect(peer.stack.stats.tcp.retransmittedSegments).toBe(2);
  });
});

describe('SACK recovery (RFC 6675) with PRR (RFC 6937)', () => {
  it('resends every hole the SACK blocks reveal, without waiting for partial ACKs', () => {
    open({ sack: true, timestamps: true });
    write(10 * SEG);
    const first = peer.sent();
    expect(first).toHaveLength(10);
    const seg = conn.negotiated.segSize;
    const startOf = (k: number) => (first[k]!.seq - iss - 1) >>> 0;
    const sackAck = (upTo: number, blocks: Array<[number, number]>) =>
      peer.inject({
        srcPort: 40000,
        dstPort: 80,
        seq: 5001,
        ack: (iss + 1 + startOf(upTo)) >>> 0,
        flags: TCP_ACK,
        window: 65535,
        tsVal: 2000,
        tsEcr: first[0]!.tsVal!,
        sackBlocks: blocks.flatMap(([a, b]) => [(iss + 1 + startOf(a)) >>> 0, (iss + 1 + (b < 10 ? startOf(b) : 10 * seg)) >>> 0]),
      });
    // Segments 2 and 5 lost: the receiver acknowledges 0-1 and SACKs 3-4, then 6-9.
    sackAck(2, [[3, 5]]);
    sackAck(2, [[6, 7], [3, 5]]);
    expect(conn.loss.phase).toBe(Recovery.Fast); // more than 2 segments SACKed: IsLost (RFC 6675 §5)
    sackAck(2, [[6, 10], [3, 5]]);
    const resent = peer.sent().filter((s) => s.payload.length > 0).map((s) => (s.seq - iss - 1) >>> 0);
    expect(resent).toEqual([startOf(2), startOf(5)]);
    expect(peer.stack.stats.tcp.rtoExpirations).toBe(0);
    expect(conn.cc.ssthresh).toBe(4 * seg); // 8 segments in flight after the cumulative ACK, halved
  });
});

describe('retransmission timeout (RFC 6298 §5, RFC 5681 §3.1)', () => {
  it('resends one segment per timeout with the timer doubling, then slow-starts from one segment', () => {
    write(10 * SEG);
    sentIndexes();
    const sendTimes = [peer.now];
    while (sendTimes.length < 5) {
      expect(peer.runNextTimer()).toBe(true);
      // Stale heap entries may wake the stack early: only wake-ups that sent something count.
      const out = sentIndexes();
      if (out.length === 0) continue;
      expect(out).toEqual([0]); // only the oldest segment, cwnd is one segment
      sendTimes.push(peer.now);
    }
    const times = sendTimes.slice(1).map((t, i) => t - sendTimes[i]!);
    // No RTT sample yet (no timestamps, the handshake's ACK carried none): 1 s, then doubling.
    expect(times).toEqual([1000, 2000, 4000, 8000]);
    expect(conn.cc.cwnd).toBe(SEG);
    expect(conn.cc.ssthresh).toBe(5 * SEG); // halved once, not four times
    expect(peer.stack.stats.tcp.rtoExpirations).toBe(4);
    // The first segment finally arrives: slow start from one segment sends two.
    ack(1);
    expect(sentIndexes()).toEqual([1, 2]);
    expect(conn.rtt.backoffs).toBe(0);
  });
});
