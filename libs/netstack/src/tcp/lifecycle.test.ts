// Connection lifecycles between two stacks on the simulated link: many sequential and concurrent
// connections with no leaked state, half-close, resets, a vanishing peer, refused and timed-out
// connects, simultaneous open and close, zero windows. Seeds are printed; time is simulated.
import { describe, expect, it } from 'vitest';
import type { NetStack } from '../stack/net-stack.js';
import { SimNetwork, type FaultConfig } from '../testing/sim-network.js';
import { StreamEndpoint } from '../testing/stream-endpoint.js';
import type { TcpConnection } from './tcp-connection.js';
import type { TcpConnectionHandler, TcpState } from './tcp-types.js';
import type { TcpError } from './tcp-error.js';

const LINK: FaultConfig = { delayMs: 2, bytesPerMs: 125_000, queueBytes: 1_000_000 };

function pair(seed: number, faults: FaultConfig = LINK, tcp: Record<string, number> = {}) {
  console.log(`seed ${seed}`);
  const net = new SimNetwork(seed, faults);
  const a = net.addStack({ address: '100.64.0.1', tcp });
  const b = net.addStack({ address: '100.64.0.2', tcp });
  return { net, a, b };
}

/** A pair whose b listens on port 80, keeping the connections it accepts. */
function listeningPair(seed: number) {
  const { net, a, b } = pair(seed);
  const accepted: TcpConnection[] = [];
  b.listen(80, (conn) => accepted.push(conn));
  return { net, a, b, accepted };
}

/** Records events of a bare connection. */
class Recorder implements TcpConnectionHandler {
  established = false;
  closed = false;
  error: TcpError | undefined;
  states: TcpState[] = [];
  constructor(readonly conn: TcpConnection) {
    conn.handler = this;
  }
  onEstablished(): void {
    this.established = true;
  }
  onClose(error: TcpError | undefined): void {
    this.closed = true;
    this.error = error;
  }
}

function expectNoLeaks(...stacks: NetStack[]): void {
  for (const s of stacks) {
    expect(s.connectionCount).toBe(0);
    expect(s.stats.internalErrors).toBe(0);
    expect(s.nextDeadline()).toBeUndefined();
  }
}

/** Advances past every TIME-WAIT / timer and checks the stacks are idle. */
function settle(net: SimNetwork, ...stacks: NetStack[]): void {
  net.run(() => stacks.every((s) => s.connectionCount === 0), 10 * 60_000);
  net.run(() => false, 10 * 60_000); // drain stale timer entries
  expectNoLeaks(...stacks);
}

describe('connection lifecycle', () => {
  it('2,000 sequential request/response connections leave no state behind', () => {
    const { net, a, b } = pair(201);
    const servers: StreamEndpoint[] = [];
    b.listen(80, (conn) => {
      // Reply once the request and its FIN are in (HTTP/1.0 style), then close.
      servers.push(new StreamEndpoint(b, conn, () => net.now, { sendBytes: 1000, waitForEnd: true, seed: 5 }));
    });
    let completed = 0;
    for (let i = 0; i < 2000; i++) {
      const conn = a.connect('100.64.0.2', 80, net.now);
      const client = new StreamEndpoint(a, conn, () => net.now, { sendBytes: 100, seed: i });
      expect(net.run(() => client.ended, 60_000)).toBe(true);
      expect(client.bytesReceived).toBe(1000);
      completed++;
    }
    expect(completed).toBe(2000);
    expect(servers.length).toBe(2000);
    expect(servers.every((s) => s.bytesReceived === 100)).toBe(true);
    settle(net, a, b);
    expect(a.stats.tcp.activeOpens).toBe(2000);
    expect(b.stats.tcp.passiveOpens).toBe(2000);
  });

  it('500 concurrent connections (beyond the SYN backlog) all complete and clean up', () => {
    const { net, a, b } = pair(202, { ...LINK, loss: 0.01 });
    const servers: StreamEndpoint[] = [];
    b.listen(80, (conn) => servers.push(new StreamEndpoint(b, conn, () => net.now, { sendBytes: 20_000, seed: 9 })), { backlog: 128 });
    const clients: StreamEndpoint[] = [];
    for (let i = 0; i < 500; i++) {
      const conn = a.connect('100.64.0.2', 80, net.now);
      clients.push(new StreamEndpoint(a, conn, () => net.now, { sendBytes: 10_000, seed: i }));
    }
    expect(a.connectionCount).toBe(500);
    expect(net.run(() => clients.every((c) => c.ended) && servers.length === 500 && servers.every((s) => s.ended), 600_000)).toBe(true);
    for (const c of clients) {
      expect(c.error).toBeUndefined();
      expect(c.bytesReceived).toBe(20_000);
    }
    expect(servers.reduce((n, s) => n + s.bytesReceived, 0)).toBe(500 * 10_000);
    // The backlog of 128 really was exceeded and SYNs were dropped (then retransmitted).
    expect(b.stats.drops.tcpBacklogFull).toBeGreaterThan(0);
    settle(net, a, b);
  });

  it('a full table reclaims the oldest TIME-WAIT entry instead of refusing a new connection', () => {
    console.log('seed 213');
    const net = new SimNetwork(213, LINK);
    const a = net.addStack({ address: '100.64.0.1', limits: { maxConnections: 10 } });
    const b = net.addStack({ address: '100.64.0.2' });
    b.listen(80, (conn) => new StreamEndpoint(b, conn, () => net.now, {}));
    for (let i = 0; i < 25; i++) {
      const e = new StreamEndpoint(a, a.connect('100.64.0.2', 80, net.now), () => net.now, { sendBytes: 10, seed: i });
      expect(net.run(() => e.ended, 60_000)).toBe(true);
      net.advance(10);
      expect(a.connectionCount).toBeLessThanOrEqual(10);
    }
    // The client closed first each time, so its table is full of TIME-WAIT, recycled oldest first.
    expect([...a.connections()].every((c) => c.state === 'TIME-WAIT')).toBe(true);
    expect(a.stats.timeWaitReclaimed).toBe(15);
    settle(net, a, b);
  });

  it('half-close: the side that sent FIN keeps receiving until the peer closes', () => {
    const { net, a, b } = pair(203);
    let server: StreamEndpoint | undefined;
    b.listen(80, (conn) => {
      server = new StreamEndpoint(b, conn, () => net.now, { sendBytes: 0, closeOnEnd: false });
    });
    const conn = a.connect('100.64.0.2', 80, net.now);
    const client = new StreamEndpoint(a, conn, () => net.now, { sendBytes: 50_000, seed: 1, closeOnEnd: false });
    expect(net.run(() => server?.ended === true)).toBe(true);
    net.advance(50);
    expect(conn.state).toBe('FIN-WAIT-2');
    expect(server!.conn.state).toBe('CLOSE-WAIT');
    // The server still sends 2 MB after the client's FIN, then closes.
    const srv = server!.conn;
    const payload = Buffer.alloc(2 * 1024 * 1024, 0x5a);
    let offset = 0;
    const pump = () => {
      while (offset < payload.length) {
        const n = srv.send(payload.subarray(offset), net.now);
        offset += n;
        if (n === 0) return;
      }
      srv.shutdown(net.now);
    };
    srv.handler = { onWritable: pump };
    b.call(srv, net.now, pump);
    expect(net.run(() => client.ended)).toBe(true);
    expect(client.bytesReceived).toBe(payload.length);
    expect(srv.state).toBe('LAST-ACK');
    net.advance(50);
    expect(srv.state).toBe('CLOSED');
    expect(conn.state).toBe('TIME-WAIT');
    settle(net, a, b);
  });

  it('simultaneous close passes through CLOSING into TIME-WAIT on both sides', () => {
    const { net, a, b } = pair(204);
    let srv: TcpConnection | undefined;
    b.listen(80, (conn) => {
      srv = conn;
      new Recorder(conn);
    });
    const conn = a.connect('100.64.0.2', 80, net.now);
    const rec = new Recorder(conn);
    expect(net.run(() => rec.established && srv !== undefined)).toBe(true);
    a.call(conn, net.now, () => conn.shutdown(net.now));
    b.call(srv!, net.now, () => srv!.shutdown(net.now));
    expect(conn.state).toBe('FIN-WAIT-1');
    expect(srv!.state).toBe('FIN-WAIT-1');
    net.advance(2.5); // both FINs crossed, ACKs on the way
    expect(conn.state).toBe('CLOSING');
    expect(srv!.state).toBe('CLOSING');
    net.advance(5);
    expect(conn.state).toBe('TIME-WAIT');
    expect(srv!.state).toBe('TIME-WAIT');
    settle(net, a, b);
  });

  it('simultaneous open: two active opens on the same 4-tuple become one connection', () => {
    const { net, a, b } = pair(205);
    const ca = a.connect('100.64.0.2', 5000, net.now, { localPort: 6000 });
    const cb = b.connect('100.64.0.1', 6000, net.now, { localPort: 5000 });
    const ra = new Recorder(ca);
    const rb = new Recorder(cb);
    expect(net.run(() => ra.established && rb.established, 10_000)).toBe(true);
    expect(ca.state).toBe('ESTABLISHED');
    expect(cb.state).toBe('ESTABLISHED');
    // And it carries data.
    const ea = new StreamEndpoint(a, ca, () => net.now, { sendBytes: 100_000, seed: 1 });
    const eb = new StreamEndpoint(b, cb, () => net.now, { sendBytes: 100_000, seed: 2 });
    expect(net.run(() => ea.ended && eb.ended)).toBe(true);
    expect(ea.receivedDigest).toBe(eb.sentDigest);
    settle(net, a, b);
  });

  it('connect to a port nobody listens on fails with ECONNREFUSED', () => {
    const { net, a, b } = pair(206);
    const rec = new Recorder(a.connect('100.64.0.2', 81, net.now));
    expect(net.run(() => rec.closed)).toBe(true);
    expect(rec.error?.code).toBe('ECONNREFUSED');
    expect(b.stats.drops.tcpNoListener).toBe(1);
    expect(b.stats.tcp.resetsSent).toBe(1);
    settle(net, a, b);
  });

  it('abort() resets the peer (ECONNRESET) and close() with unread data sends RST, not FIN', () => {
    const { net, a, b, accepted } = listeningPair(207);
    const c1 = a.connect('100.64.0.2', 80, net.now);
    new StreamEndpoint(a, c1, () => net.now, { sendBytes: 1_000_000, seed: 1 });
    expect(net.run(() => accepted.length === 1)).toBe(true);
    const s1 = new StreamEndpoint(b, accepted[0]!, () => net.now, {});
    net.advance(20);
    a.call(c1, net.now, () => c1.abort(net.now));
    expect(c1.state).toBe('CLOSED');
    expect(net.run(() => s1.closed)).toBe(true);
    expect(s1.error?.code).toBe('ECONNRESET');
    expect(b.stats.tcp.resetsReceived).toBeGreaterThan(0);

    // Server closes while the client's data sits unread: RFC 9293 §3.6 says RST.
    const c2 = a.connect('100.64.0.2', 80, net.now);
    const e2 = new StreamEndpoint(a, c2, () => net.now, { sendBytes: 10_000, seed: 2, endAfterSend: false });
    expect(net.run(() => accepted.length === 2)).toBe(true);
    const s2 = accepted[1]!;
    expect(net.run(() => s2.readableBytes === 10_000)).toBe(true);
    const rstBefore = b.stats.tcp.resetsSent;
    b.call(s2, net.now, () => s2.close(net.now));
    expect(b.stats.tcp.resetsSent).toBe(rstBefore + 1);
    expect(net.run(() => e2.closed)).toBe(true);
    expect(e2.error?.code).toBe('ECONNRESET');
    settle(net, a, b);
  });

  it('data arriving after the application closed is answered with RST', () => {
    const { net, a, b, accepted } = listeningPair(208);
    const c = a.connect('100.64.0.2', 80, net.now);
    const e = new StreamEndpoint(a, c, () => net.now, { sendBytes: 0, closeOnEnd: false });
    expect(net.run(() => accepted.length === 1 && e.established)).toBe(true);
    const s = accepted[0]!;
    b.call(s, net.now, () => s.close(net.now)); // nothing unread: a FIN
    net.advance(10);
    expect(s.state).toBe('FIN-WAIT-2');
    expect(c.state).toBe('CLOSE-WAIT');
    a.call(c, net.now, () => c.send(Buffer.from('late data'), net.now));
    expect(net.run(() => e.closed)).toBe(true);
    expect(e.error?.code).toBe('ECONNRESET');
    expect(s.state).toBe('CLOSED');
    settle(net, a, b);
  });

  it('a peer that vanishes mid-transfer ends in ETIMEDOUT after the retransmission limit', () => {
    const { net, a, b, accepted } = listeningPair(209);
    const c = a.connect('100.64.0.2', 80, net.now);
    const e = new StreamEndpoint(a, c, () => net.now, { sendBytes: 10_000_000, seed: 1 });
    expect(net.run(() => accepted.length === 1)).toBe(true);
    new StreamEndpoint(b, accepted[0]!, () => net.now, {});
    net.advance(30);
    net.connected = false;
    const start = net.now;
    expect(net.run(() => e.closed, 3_600_000)).toBe(true);
    expect(e.error?.code).toBe('ETIMEDOUT');
    expect(a.stats.tcp.rtoExpirations).toBe(16); // maxRetransmissions 15, then give up
    // Backoff: 15 retries with doubling from 200 ms, capped at 60 s → several minutes, not seconds.
    expect(net.now - start).toBeGreaterThan(5 * 60_000);
    a.close(net.now);
    b.close(net.now);
    expectNoLeaks(a, b);
  });

  it('keep-alive detects a silent peer on an idle connection', () => {
    const { net, a, b, accepted } = listeningPair(210);
    const c = a.connect('100.64.0.2', 80, net.now);
    const rec = new Recorder(c);
    expect(net.run(() => rec.established && accepted.length === 1)).toBe(true);
    a.call(c, net.now, () => c.setKeepAlive(true, 10_000, net.now));
    // While the peer answers, probes keep the connection up.
    net.advance(10 * 60_000);
    expect(c.state).toBe('ESTABLISHED');
    expect(a.stats.tcp.keepaliveProbes).toBeGreaterThan(0);
    net.connected = false;
    expect(net.run(() => rec.closed, 3_600_000)).toBe(true);
    expect(rec.error?.code).toBe('ETIMEDOUT');
    a.close(net.now);
    b.close(net.now);
    expectNoLeaks(a, b);
  });

  it('connect to a silent host times out: after SYN retries, or at timeoutMs', () => {
    const { net, a, b } = pair(211);
    net.connected = false;
    const r1 = new Recorder(a.connect('100.64.0.2', 80, net.now));
    const r2 = new Recorder(a.connect('100.64.0.2', 80, net.now, { timeoutMs: 3000 }));
    const start = net.now;
    expect(net.run(() => r2.closed)).toBe(true);
    expect(r2.error?.code).toBe('ETIMEDOUT');
    expect(net.now - start).toBe(3000);
    expect(net.run(() => r1.closed)).toBe(true);
    expect(r1.error?.code).toBe('ETIMEDOUT');
    // 1 + 6 SYNs with backoff 1, 2, 4, 8, 16, 32 s, then the 60 s RTO cap (RFC 6298 §2.5).
    expect(net.now - start).toBe(123_000);
    expectNoLeaks(a, b);
  });

  it('a reader that stops reading closes the window; probes keep it alive; data resumes intact', () => {
    const { net, a, b } = pair(212, LINK, {});
    let server: StreamEndpoint | undefined;
    b.listen(80, (conn) => {
      server = new StreamEndpoint(b, conn, () => net.now, { paused: true });
    });
    const c = a.connect('100.64.0.2', 80, net.now);
    const client = new StreamEndpoint(a, c, () => net.now, { sendBytes: 8 * 1024 * 1024, seed: 3 });
    net.advance(5 * 60_000);
    expect(c.snd.wnd).toBe(0);
    expect(c.timers.persisting).toBe(true);
    expect(a.stats.tcp.zeroWindowProbes).toBeGreaterThan(3);
    expect(c.state).toBe('ESTABLISHED');
    // Bounded buffers: the receiver holds at most its receive buffer, the sender its send buffer.
    // (plus less than one window-scale unit of rounding, RFC 7323 §2.3).
    expect(server!.conn.readableBytes).toBeLessThan(4 * 1024 * 1024 + 128);
    expect(server!.conn.readableBytes).toBeGreaterThan(4 * 1024 * 1024 - 2000);
    expect(c.snd.buf.length).toBeLessThanOrEqual(1024 * 1024);
    server!.resumeReading();
    expect(net.run(() => server!.ended)).toBe(true);
    expect(server!.receivedDigest).toBe(client.sentDigest);
    settle(net, a, b);
  });
});
