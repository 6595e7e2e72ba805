// The hub's WebSocket carrier on loopback with a fake clock: datagrams reach the device handler with
// a per-connection Endpoint and replies go back on that connection; the abuse limits hold
// (oversize message closes, rate limit drops, per-address cap, subprotocol required, garbage and idle
// connections closed by the sweep), and the composite bind routes by the endpoint's transport tag.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_DATAGRAM_BYTES, WG_WEBSOCKET_PATH, WG_WEBSOCKET_PROTOCOL } from '@porthole/datagram-transport';
import type { Bind, Endpoint } from '@porthole/wireguard';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHubMetrics } from '../ops/hub-metrics.js';
import { CompositeBind } from './composite-bind.js';
import { instrumentWsTransport } from './ws-transport-metrics.js';
import { createWsDatagramTransport, type WsDatagramTransport, type WsTransportLimits } from './ws-datagram-transport.js';

/** A WireGuard-shaped datagram: type byte, three zero bytes, then `fill`. */
function wg(type: number, length = 32, fill = 0xab): Buffer {
  const b = Buffer.alloc(length, fill);
  b[0] = type;
  b[1] = b[2] = b[3] = 0;
  return b;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let server: http.Server | undefined;
let transport: WsDatagramTransport | undefined;
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  await transport?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = transport = undefined;
});

async function start(limits: Partial<WsTransportLimits> = {}, clientIp: () => string = () => '192.0.2.7') {
  let nowMs = 1_000;
  transport = createWsDatagramTransport({ limits, now: () => nowMs, sweepIntervalMs: 0 });
  const received: Array<{ data: Buffer; from: Endpoint }> = [];
  transport.onReceive((data, from) => received.push({ data: Buffer.from(data), from }));
  server = http.createServer();
  server.on('upgrade', (req, socket, head) => transport!.handleUpgrade(req, socket, head, clientIp()));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}${WG_WEBSOCKET_PATH}`;
  const open = async (protocol: string | undefined = WG_WEBSOCKET_PROTOCOL) => {
    const ws = new WebSocket(url, protocol ? [protocol] : []);
    clients.push(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
    return ws;
  };
  const closed = (ws: WebSocket) => new Promise<number>((r) => (ws.readyState === ws.CLOSED ? r(-1) : ws.once('close', (code) => r(code))));
  return { t: transport, received, open, closed, advance: (ms: number) => (nowMs += ms) };
}

describe('WebSocket carrier', () => {
  it('delivers datagrams with a distinct Endpoint per connection and answers on the one named', async () => {
    const { t, received, open } = await start();
    const a = await open();
    const b = await open();
    a.send(wg(1, 148, 1));
    await until(() => received.length === 1, 'a');
    b.send(wg(1, 148, 2));
    await until(() => received.length === 2, 'b');
    const [ea, eb] = [received[0]!.from, received[1]!.from];
    expect(ea).not.toBe(eb);
    expect(ea).toMatchObject({ address: '192.0.2.7', transport: 'ws' });
    expect(ea.port).not.toBe(eb.port);
    expect(received[0]!.data).toEqual(wg(1, 148, 1));

    const gotB = new Promise<Buffer>((r) => b.once('message', (d: Buffer) => r(d)));
    let gotA = false;
    a.on('message', () => (gotA = true));
    t.send(wg(2, 92, 9), eb);
    expect(await gotB).toEqual(wg(2, 92, 9));
    expect(gotA).toBe(false);
    expect(t.stats).toMatchObject({ accepted: 2, open: 2, rxDatagrams: 2, txDatagrams: 1 });
    const metrics = createHubMetrics();
    instrumentWsTransport(metrics, t);
    const text = await metrics.render();
    expect(text).toContain('porthole_ws_transport_connections 2\n');
    expect(text).toContain('porthole_ws_transport_datagrams_total{direction="rx"} 2\n');
    expect(text).toContain('porthole_ws_transport_datagrams_total{direction="tx"} 1\n');
  });

  it(`closes a connection that sends a message over ${MAX_DATAGRAM_BYTES} bytes`, async () => {
    const { t, received, open, closed } = await start();
    const ws = await open();
    ws.send(wg(4, MAX_DATAGRAM_BYTES));
    await until(() => received.length === 1, 'max-size datagram');
    ws.send(wg(4, MAX_DATAGRAM_BYTES + 1));
    expect(await closed(ws)).toBe(1009);
    expect(received).toHaveLength(1);
    await until(() => t.stats.open === 0, 'close');
    expect(t.stats.closed.oversize).toBe(1);
  });

  it('drops datagrams above the per-connection rate, and text or non-WireGuard messages', async () => {
    const { t, received, open, advance } = await start({ maxMessagesPerSecond: 100, burstMessages: 10 });
    const ws = await open();
    for (let i = 0; i < 50; i++) ws.send(wg(4));
    await until(() => received.length + (t.stats.drops['rate-limited'] ?? 0) === 50, 'all 50');
    expect(received).toHaveLength(10);
    expect(t.stats.drops['rate-limited']).toBe(40);
    advance(100); // the fake clock refills 10 tokens
    for (let i = 0; i < 12; i++) ws.send(wg(4));
    await until(() => received.length + (t.stats.drops['rate-limited'] ?? 0) === 62, 'all 62');
    expect(received).toHaveLength(20);
    advance(1_000);
    ws.send('text');
    ws.send(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    ws.send(wg(4));
    await until(() => received.length === 21, 'the valid one');
    expect(t.stats.drops).toMatchObject({ 'not-binary': 1, 'not-wireguard': 1 });
  });

  it('caps connections per client address and refuses other subprotocols', async () => {
    let ip = '192.0.2.7';
    const { t, open, closed } = await start({ maxConnectionsPerIp: 2 }, () => ip);
    const first = await open();
    await open();
    await expect(open()).rejects.toThrow('HTTP 429');
    ip = '192.0.2.8';
    await open(); // another address is not affected
    ip = '192.0.2.7';
    first.close();
    await closed(first);
    await until(() => t.connectionsFrom('192.0.2.7') === 1, 'slot freed');
    await open();
    await expect(open('chat')).rejects.toThrow('HTTP 400');
    await expect(open('')).rejects.toThrow('HTTP 400');
    expect(t.stats.refused).toEqual({ 'per-ip-limit': 1, protocol: 2 });
  });

  it('closes connections that never authenticate, go idle or go stale', async () => {
    const { t, received, open, closed, advance } = await start({ handshakeTimeoutMs: 20_000, idleTimeoutMs: 60_000, staleTimeoutMs: 180_000 });
    const garbage = await open();
    const good = await open();
    garbage.send(wg(1, 148));
    await until(() => received.length === 1, 'first initiation');
    good.send(wg(1, 148));
    await until(() => received.length === 2, 'second initiation');
    const [garbageFrom, goodFrom] = [received[0]!.from, received[1]!.from];
    // The device answered `good` with a handshake response (authenticated); `garbage` only got a cookie reply.
    t.send(wg(2, 92), goodFrom);
    t.send(wg(3, 64), garbageFrom);
    advance(19_000);
    t.sweep();
    expect(t.stats.open).toBe(2);
    advance(2_000);
    garbage.send(wg(1, 148)); // still sending, still nothing authenticated
    good.send(wg(4));
    await until(() => received.length === 4, 'more');
    t.sweep();
    const codes = await Promise.all([closed(garbage)]);
    expect(codes).toEqual([1008]);
    expect(t.stats.closed).toEqual({ garbage: 1 });
    // `good` is idle past 60 s without a datagram…
    advance(61_000);
    t.sweep();
    expect(await closed(good)).toBe(1001);
    expect(t.stats.closed).toEqual({ garbage: 1, idle: 1 });
    // …and one that keeps sending but is never answered with anything authenticated goes stale.
    const chatty = await open();
    chatty.send(wg(1, 148));
    await until(() => received.length === 5, 'chatty');
    t.send(wg(4), received[4]!.from);
    for (let i = 0; i < 4; i++) {
      advance(50_000);
      chatty.send(wg(4));
      await until(() => received.length === 6 + i, 'keepalive');
      t.sweep();
    }
    expect(await closed(chatty)).toBe(1001);
    expect(t.stats.closed.stale).toBe(1);
    expect(t.stats.drops['no-connection'] ?? 0).toBe(0);
    t.send(wg(4), received[4]!.from);
    expect(t.stats.drops['no-connection']).toBe(1);
  });
});

describe('CompositeBind', () => {
  it('routes by the transport tag and merges receives', async () => {
    const sent: string[] = [];
    const handlers: Array<(d: Uint8Array, from: Endpoint) => void> = [];
    const fake = (name: string): Bind => ({
      send: (_d, to) => void sent.push(`${name}->${to.address}`),
      onReceive: (h) => void handlers.push(h),
      close: async () => void sent.push(`${name} closed`),
    });
    const bind = new CompositeBind(fake('udp'), new Map([['ws', fake('ws')]]));
    const got: string[] = [];
    bind.onReceive((_d, from) => got.push(from.transport ?? 'udp'));
    bind.send(new Uint8Array(1), { address: 'a', port: 1 });
    bind.send(new Uint8Array(1), { address: 'b', port: 1, transport: 'ws' });
    bind.send(new Uint8Array(1), { address: 'c', port: 1, transport: 'quic' });
    handlers[0]!(new Uint8Array(1), { address: 'x', port: 1 });
    handlers[1]!(new Uint8Array(1), { address: 'y', port: 1, transport: 'ws' });
    await bind.close();
    expect(sent).toEqual(['udp->a', 'ws->b', 'udp closed', 'ws closed']);
    expect(bind.unroutable).toBe(1);
    expect(got).toEqual(['udp', 'ws']);
  });
});
