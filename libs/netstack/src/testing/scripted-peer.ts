// One stack under test and an imaginary peer scripted packet by packet: the test injects the
// peer's segments, reads what the stack sent, and moves a simulated clock. For RFC behaviour that
// needs exact control over every segment (options, resets, probes, loss recovery, ACK timing).
import { NetStack, type NetStackOptions } from '../stack/net-stack.js';
import type { TcpConnection } from '../tcp/tcp-connection.js';
import type { TcpError } from '../tcp/tcp-error.js';
import { TCP_ACK, TCP_SYN, type TcpRepr } from '../wire/tcp.js';
import { buildSegment, parsePacket, type SegmentSpec } from './packets.js';
import { Prng } from './prng.js';

/** What a Linux client offers in its SYN. */
export const LINUX_SYN_OPTS = { mss: 1380, sackPermitted: true, tsVal: 1000, tsEcr: 0, windowScale: 7 };

export interface Handshake {
  conn: TcpConnection;
  /** Our ISS (the SYN-ACK's sequence number). */
  iss: number;
  /** The connection's end as seen by its handler: still open, closed cleanly, or the error. */
  closed: () => TcpError | 'open' | 'closed';
}

export class ScriptedPeer {
  /** Simulated time in ms; pass it to every call on the stack. */
  now = 1000;
  /** Packets the stack transmitted since the last sent(). */
  out: Uint8Array[] = [];
  readonly stack: NetStack;

  constructor(
    options: Partial<NetStackOptions> = {},
    readonly us = '100.64.0.1',
    readonly peer = '100.64.0.2',
  ) {
    const prng = new Prng(42);
    this.stack = new NetStack({ address: us, onTransmit: (p) => this.out.push(p), random: (n) => prng.bytes(n), ...options });
  }

  /** Delivers one segment from the peer. */
  inject(spec: Omit<SegmentSpec, 'src' | 'dst'>): void {
    this.stack.receive(buildSegment({ src: this.peer, dst: this.us, ...spec }), this.now);
  }

  /** TCP segments the stack sent since the last call (checksums verified). */
  sent(): TcpRepr[] {
    const segs = this.out.map((p) => parsePacket(p).tcp!).filter(Boolean);
    this.out = [];
    return segs;
  }

  /** The one segment the stack sent since the last call; throws when there were more or none. */
  only(): TcpRepr {
    const segs = this.sent();
    if (segs.length !== 1) throw new Error(`expected exactly one segment, the stack sent ${segs.length}`);
    return segs[0]!;
  }

  /** Moves the clock by `ms` and runs the timers due. */
  advance(ms: number): void {
    this.now += ms;
    this.stack.tick(this.now);
  }

  /** Moves the clock to the stack's next deadline and runs it; returns false when none is armed. */
  runNextTimer(): boolean {
    const at = this.stack.nextDeadline();
    if (at === undefined) return false;
    this.now = Math.max(this.now, at);
    this.stack.tick(this.now);
    return true;
  }

  /** Runs `fn` as a user call on `conn` at the current time (events delivered after it). */
  call<T>(conn: TcpConnection, fn: (nowMs: number) => T): T {
    return this.stack.call(conn, this.now, () => fn(this.now));
  }

  /**
   * Completes a passive handshake from `peerPort` with the peer ISN `peerIsn` on `port`;
   * `synOpts` are the options of the peer's SYN, `ackWindow` the window field of its ACK.
   */
  handshake(synOpts: Partial<TcpRepr> = LINUX_SYN_OPTS, ackWindow = 502, port = 80, peerPort = 40000, peerIsn = 5000): Handshake {
    let conn: TcpConnection | undefined;
    let result: TcpError | 'open' | 'closed' = 'open';
    const listener = this.stack.listen(port, (c) => {
      conn = c;
      c.handler = { onClose: (e) => (result = e ?? 'closed') };
    });
    this.inject({ srcPort: peerPort, dstPort: port, seq: peerIsn, flags: TCP_SYN, window: 64240, ...synOpts });
    const synAck = this.only();
    const ts = synOpts.tsVal !== undefined ? { tsVal: synOpts.tsVal + 1, tsEcr: synAck.tsVal! } : {};
    this.inject({ srcPort: peerPort, dstPort: port, seq: peerIsn + 1, ack: (synAck.seq + 1) >>> 0, flags: TCP_ACK, window: ackWindow, ...ts });
    listener.close();
    if (conn === undefined) throw new Error('the handshake did not complete');
    return { conn, iss: synAck.seq, closed: () => result };
  }
}
