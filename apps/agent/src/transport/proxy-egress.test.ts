// Egress through a SOCKS proxy on loopback (testing/socks5-server.ts): WireGuard-style datagrams over
// SOCKS5 UDP ASSOCIATE with username/password, re-association after the control connection drops,
// datagrams not from the relay dropped, refused credentials reported; the hub client's fetch and the
// WebSocket carrier over SOCKS5 CONNECT, and SOCKS4a with the host name resolved by the proxy.
import { createSocket } from 'node:dgram';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WG_WEBSOCKET_PATH, WG_WEBSOCKET_PROTOCOL } from '@porthole/datagram-transport';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { startTestSocksServer, type TestSocksServer } from '../testing/socks5-server.js';
import { until } from '../testing/servers.js';
import type { ProxySettings } from './network-settings.js';
import { createProxiedFetch } from './proxied-fetch.js';
import { createTcpDialer } from './proxy-dialer.js';
import { Socks5UdpBind } from './socks5-udp-bind.js';
import { WsClientBind } from './ws-client-bind.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function socks(auth?: { username: string; password: string }): Promise<{ server: TestSocksServer; proxy: ProxySettings }> {
  const server = await startTestSocksServer(auth ?? {});
  cleanups.push(() => server.close());
  return { server, proxy: { kind: 'socks5', host: '127.0.0.1', port: server.port, ...(auth ?? {}) } };
}

async function udpEcho(): Promise<number> {
  const s = createSocket('udp4');
  s.on('message', (msg, rinfo) => s.send(Buffer.concat([Buffer.from('echo:'), msg]), rinfo.port, rinfo.address));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
  return s.address().port;
}

describe('Socks5UdpBind', () => {
  it('carries datagrams through UDP ASSOCIATE with username/password and associates again when the control connection drops', async () => {
    const { server, proxy } = await socks({ username: 'device', password: 's3cret pass' });
    const echoPort = await udpEcho();
    const states: string[] = [];
    const bind = await Socks5UdpBind.open({ proxy, onStateChange: (s) => states.push(s) });
    cleanups.push(() => bind.close());
    const got: Array<{ text: string; from: string }> = [];
    bind.onReceive((d, from) => got.push({ text: Buffer.from(d).toString(), from: `${from.address}:${from.port}` }));
    bind.send(Buffer.from('too early'), { address: '127.0.0.1', port: echoPort });
    expect(bind.drops['not-associated']).toBe(1);
    await until(() => bind.state === 'associated');
    bind.send(Buffer.from('ping 1'), { address: '127.0.0.1', port: echoPort });
    await until(() => got.length === 1);
    expect(got[0]).toEqual({ text: 'echo:ping 1', from: `127.0.0.1:${echoPort}` });
    expect(server.udpRelayed).toBe(1);

    // A datagram from anyone but the relay is dropped.
    const stranger = createSocket('udp4');
    await new Promise<void>((r) => stranger.send(Buffer.from([0, 0, 0, 1, 127, 0, 0, 1, 0, 1, 9]), bind.localPort, '127.0.0.1', () => r()));
    stranger.close();
    await until(() => bind.drops['not-from-relay'] === 1);

    server.dropAssociations();
    await until(() => bind.state === 'down');
    expect(bind.lastError).toBe('the proxy closed the UDP ASSOCIATE control connection');
    await until(() => bind.state === 'associated', 5_000);
    expect(server.associations).toBe(2);
    bind.send(Buffer.from('ping 2'), { address: '127.0.0.1', port: echoPort });
    await until(() => got.length === 2);
    expect(got[1]!.text).toBe('echo:ping 2');
    expect(states.slice(0, 5)).toEqual(['associating', 'associated', 'down', 'associating', 'associated']);
    expect(got).toHaveLength(2);
  });

  it('reports refused credentials and keeps retrying', async () => {
    const { server, proxy } = await socks({ username: 'device', password: 'right' });
    const bind = await Socks5UdpBind.open({ proxy: { ...proxy, password: 'wrong' } });
    cleanups.push(() => bind.close());
    await until(() => bind.state === 'down');
    expect(bind.lastError).toMatch(/^SOCKS5 UDP ASSOCIATE failed: .*auth/i);
    expect(server.authFailures).toBe(1);
    expect(bind.lastError).not.toContain('wrong');
  });
});

describe('TCP through SOCKS', () => {
  async function httpServer(): Promise<number> {
    const server = http.createServer((req, res) => {
      res.setHeader('date', 'Sun, 22 Nov 2026 08:00:00 GMT');
      res.writeHead(req.url === '/moved' ? 302 : 200, { 'content-type': 'application/json', ...(req.url === '/moved' ? { location: '/' } : {}) });
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => res.end(JSON.stringify({ method: req.method, url: req.url, body, host: req.headers.host })));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    return (server.address() as AddressInfo).port;
  }

  it("the hub client's fetch goes through SOCKS5 with credentials, and SOCKS4a resolves names at the proxy", async () => {
    const port = await httpServer();
    const { server, proxy } = await socks({ username: 'device', password: 'pw' });
    const fetch5 = createProxiedFetch(createTcpDialer(proxy));
    const res = await fetch5(`http://127.0.0.1:${port}/api/v1/claims`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(res.status).toBe(200);
    expect(res.headers.get('date')).toBe('Sun, 22 Nov 2026 08:00:00 GMT');
    expect(await res.json()).toEqual({ method: 'POST', url: '/api/v1/claims', body: '{"a":1}', host: `127.0.0.1:${port}` });
    await expect(fetch5(`http://127.0.0.1:${port}/moved`, { redirect: 'error' })).rejects.toThrow(/redirect/);
    expect(server.connects).toEqual([`127.0.0.1:${port}`, `127.0.0.1:${port}`]);

    const { server: server4 } = await socks();
    const fetch4 = createProxiedFetch(createTcpDialer({ kind: 'socks4a', host: '127.0.0.1', port: server4.port }));
    const res4 = await fetch4(`http://localhost:${port}/x`);
    expect(await res4.json()).toMatchObject({ method: 'GET', url: '/x' });
    expect(server4.connects).toEqual([`localhost:${port}`]);
  });

  it('the WebSocket carrier connects through SOCKS5', async () => {
    const received: Buffer[] = [];
    const upgradeUrls: (string | undefined)[] = [];
    const wss = new WebSocketServer({ noServer: true, handleProtocols: () => WG_WEBSOCKET_PROTOCOL });
    const hub = http.createServer();
    // Handlers only record: an expect thrown inside an event handler would not fail this test.
    hub.on('upgrade', (req, socket, head) => {
      upgradeUrls.push(req.url);
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (d: Buffer) => {
          received.push(d);
          ws.send(Buffer.from([4, 0, 0, 0, 7]));
        });
      });
    });
    await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => hub.close(r)));
    cleanups.push(() => wss.close());
    const { server, proxy } = await socks({ username: 'device', password: 'pw' });
    const port = (hub.address() as AddressInfo).port;
    const bind = new WsClientBind({ hubUrl: new URL(`http://127.0.0.1:${port}/`), dialer: createTcpDialer(proxy) });
    cleanups.push(() => bind.close());
    const back: Buffer[] = [];
    const senders: unknown[] = [];
    bind.onReceive((d, from) => {
      back.push(Buffer.from(d));
      senders.push(from);
    });
    bind.connect();
    bind.send(Buffer.from([1, 0, 0, 0, 1])); // queued while connecting
    await until(() => back.length === 1);
    expect(upgradeUrls).toEqual([WG_WEBSOCKET_PATH]);
    expect(received.map((b) => [...b])).toEqual([[1, 0, 0, 0, 1]]);
    expect(back.map((b) => [...b])).toEqual([[4, 0, 0, 0, 7]]);
    expect(senders).toEqual([{ address: '127.0.0.1', port, transport: 'ws' }]);
    expect(server.connects).toEqual([`127.0.0.1:${port}`]);
    expect(bind.state).toBe('open');
    bind.disconnect();
    expect(bind.state).toBe('idle');
  });
});
