// Request/response timing on the wire, against a scripted client: a reply written in pieces goes
// out at once with Nagle off (and waits for an ACK with it on), and delayed ACKs ride on replies
// instead of costing packets or time (RFC 9293 §3.8.6.3, RFC 5681 §4.2, RFC 896). Simulated time.
import { beforeEach, describe, expect, it } from 'vitest';
import { ScriptedPeer } from '../testing/scripted-peer.js';
import { TCP_ACK, TCP_PSH } from '../wire/tcp.js';
import type { TcpConnection } from './tcp-connection.js';

const HEAD = Buffer.alloc(150, 0x68);
const BODY = Buffer.alloc(850, 0x62);
const REQUEST = Buffer.alloc(200, 0x71);

let peer: ScriptedPeer;
let conn: TcpConnection;
let iss: number;
/** The client's next sequence number and timestamp. */
let clientSeq: number;
let tsVal: number;

beforeEach(() => {
  peer = new ScriptedPeer();
  ({ conn, iss } = peer.handshake());
  clientSeq = 5001;
  tsVal = 2000;
});

/** The client sends `data` (or a pure ACK) acknowledging `ackOff` bytes of ours. */
function client(data: Buffer | undefined, ackOff = 1): void {
  peer.inject({
    srcPort: 40000,
    dstPort: 80,
    seq: clientSeq,
    ack: (iss + ackOff) >>> 0,
    flags: data ? TCP_ACK | TCP_PSH : TCP_ACK,
    window: 502,
    tsVal: tsVal++,
    tsEcr: 1,
    ...(data ? { payload: data } : {}),
  });
  if (data) clientSeq += data.length;
}

/** The server application: on each readable request, reply with head then body (two writes). */
function serveInTwoWrites(): void {
  conn.handler = {
    onReadable: () => {
      while (conn.read(peer.now) !== undefined);
      conn.send(HEAD, peer.now);
      conn.send(BODY, peer.now);
    },
  };
}

describe('a reply written in two pieces', () => {
  it('with noDelay both pieces leave at once, the first carrying the ACK of the request', () => {
    peer.call(conn, (now) => conn.setNoDelay(true, now));
    serveInTwoWrites();
    client(REQUEST);
    const out = peer.sent();
    expect(out.map((s) => s.payload.length)).toEqual([150, 850]);
    expect(out[0]!.ack).toBe(5001 + REQUEST.length); // the request's ACK rides on the reply
    expect(out.every((s) => s.flags & TCP_ACK)).toBe(true);
  });

  it("with Nagle on the second piece waits for the client's ACK of the first (the stall noDelay avoids)", () => {
    serveInTwoWrites();
    client(REQUEST);
    expect(peer.sent().map((s) => s.payload.length)).toEqual([150]);
    peer.advance(150); // however long the client delays its ACK (below our RTO), nothing more is sent
    expect(peer.sent().filter((s) => s.payload.length > 0)).toEqual([]);
    client(undefined, 1 + HEAD.length);
    expect(peer.sent().map((s) => s.payload.length)).toEqual([850]);
  });

  it('keep-alive: every exchange on a noDelay connection goes out without waiting for an ACK', () => {
    peer.call(conn, (now) => conn.setNoDelay(true, now));
    serveInTwoWrites();
    let acked = 1;
    for (let i = 0; i < 20; i++) {
      client(REQUEST, acked); // each request acknowledges the previous reply
      expect(peer.sent().map((s) => s.payload.length)).toEqual([150, 850]);
      acked += HEAD.length + BODY.length;
      peer.advance(1);
    }
    expect(peer.stack.stats.tcp.retransmittedSegments).toBe(0);
  });
});

describe('delayed ACKs in request/response', () => {
  it('a request answered at once costs no pure ACK, now or when the delayed-ACK timer would run', () => {
    peer.call(conn, (now) => conn.setNoDelay(true, now));
    serveInTwoWrites();
    client(REQUEST);
    expect(peer.sent()).toHaveLength(2);
    peer.advance(peer.stack.config.ackDelayMs * 2);
    expect(peer.sent()).toEqual([]);
  });

  it('a request nobody answers is acknowledged after the ACK delay (10 ms), not before, and once', () => {
    conn.handler = { onReadable: () => void conn.read(peer.now) };
    // The first read announces the full window (the SYN-ACK could offer only 64 KiB) at the burst's end.
    client(REQUEST);
    peer.advance(0);
    expect(peer.sent().map((s) => [s.payload.length, s.window])).toEqual([[0, 32768]]);
    client(REQUEST);
    expect(peer.sent()).toEqual([]);
    peer.advance(peer.stack.config.ackDelayMs - 1);
    expect(peer.sent()).toEqual([]);
    peer.advance(1);
    const acks = peer.sent();
    expect(acks).toHaveLength(1);
    expect(acks[0]).toMatchObject({ flags: TCP_ACK, ack: 5001 + 2 * REQUEST.length });
    expect(acks[0]!.payload.length).toBe(0);
    peer.advance(1000);
    expect(peer.sent()).toEqual([]);
  });

  it('two full-sized segments in one burst are acknowledged when the burst ends, without the delay', () => {
    conn.handler = { onReadable: () => void conn.read(peer.now) };
    client(REQUEST); // past the first read's window update
    peer.advance(0);
    peer.sent();
    const mss = conn.rcv.mss;
    client(Buffer.alloc(mss, 1));
    client(Buffer.alloc(mss, 2));
    expect(peer.sent()).toEqual([]); // not inside the burst: one ACK covers all of it
    peer.advance(0); // the driver's next tick (setImmediate) ends the burst
    expect(peer.sent().map((s) => s.ack)).toEqual([5001 + REQUEST.length + 2 * mss]);
  });

  it('as the client: the ACK of a reply rides on the next request', () => {
    // Swap roles: our stack is the client of a scripted server.
    const other = new ScriptedPeer();
    const c = other.stack.connect('100.64.0.2', 80, other.now);
    c.noDelay = true;
    const syn = other.only();
    other.inject({ srcPort: 80, dstPort: syn.srcPort, seq: 9000, ack: (syn.seq + 1) >>> 0, flags: 0x12, window: 65535, mss: 1380 });
    other.sent(); // the handshake's ACK
    let serverSeq = 9001;
    for (let i = 0; i < 5; i++) {
      other.call(c, (now) => c.send(REQUEST, now));
      const req = other.only();
      expect(req.payload.length).toBe(REQUEST.length);
      expect(req.ack).toBe(serverSeq); // acknowledges the previous reply: no separate ACK was needed
      other.inject({ srcPort: 80, dstPort: syn.srcPort, seq: serverSeq, ack: (req.seq + REQUEST.length) >>> 0, flags: TCP_ACK | TCP_PSH, window: 65535, payload: BODY });
      serverSeq += BODY.length;
      while (c.read(other.now) !== undefined);
      other.advance(1); // the application answers within the ACK delay
      expect(other.sent()).toEqual([]);
    }
  });
});
