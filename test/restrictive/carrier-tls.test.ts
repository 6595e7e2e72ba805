// The WebSocket carrier and the hub client over TLS through a SOCKS5 proxy (loopback): the agent
// dials the tunnel through the proxy, then speaks TLS itself with SNI `portal.test` and verifies the
// hub's certificate (the test CA); an untrusted certificate keeps the carrier down with the reason.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxiedFetch, createTcpDialer, WsClientBind, type TcpDialer } from '@porthole/agent';
import { startTestSocksServer, until, type TestSocksServer } from '@porthole/agent/testing';
import { createWsDatagramTransport, type WsDatagramTransport } from '@porthole/hub';
import { TEST_CERT, TEST_KEY } from '@porthole/hub/testing';

describe('carrier and API over TLS through SOCKS5', () => {
  let server: https.Server;
  let transport: WsDatagramTransport;
  let socks: TestSocksServer;
  let hubUrl: URL;
  let dialer: TcpDialer;
  const received: Buffer[] = [];
  const binds: WsClientBind[] = [];

  beforeAll(async () => {
    transport = createWsDatagramTransport();
    transport.onReceive((d, from) => {
      received.push(Buffer.from(d));
      transport.send(Buffer.from([4, 0, 0, 0, 42]), from);
    });
    server = https.createServer({ cert: TEST_CERT, key: TEST_KEY }, (_req, res) => res.end('{"ok":true}'));
    server.on('upgrade', (req, socket, head) => transport.handleUpgrade(req, socket, head, '127.0.0.1'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    socks = await startTestSocksServer({ username: 'dev', password: 'pw' });
    const port = (server.address() as AddressInfo).port;
    hubUrl = new URL(`https://portal.test:${port}/`);
    // The proxy would resolve portal.test; on loopback the test maps it to 127.0.0.1 before asking.
    const viaSocks = createTcpDialer({ kind: 'socks5', host: '127.0.0.1', port: socks.port, username: 'dev', password: 'pw' });
    dialer = (host, p) => viaSocks(host === 'portal.test' ? '127.0.0.1' : host, p);
  });

  afterAll(async () => {
    for (const b of binds) await b.close();
    await transport.close();
    await socks.close();
    await new Promise((r) => server.close(r));
  });

  it('verifies the hub certificate and carries datagrams both ways', async () => {
    const bind = new WsClientBind({ hubUrl, dialer, tls: { ca: TEST_CERT } });
    binds.push(bind);
    const back: number[][] = [];
    bind.onReceive((d) => back.push([...d]));
    bind.connect();
    await until(() => bind.state === 'open', 5_000);
    expect(bind.url.href).toBe(`wss://portal.test:${hubUrl.port}/.porthole/wg`);
    bind.send(new Uint8Array([1, 0, 0, 0, 7]));
    await until(() => back.length === 1, 5_000);
    expect(back).toEqual([[4, 0, 0, 0, 42]]);
    expect([...received[0]!]).toEqual([1, 0, 0, 0, 7]);
    expect(socks.connects).toContain(`127.0.0.1:${hubUrl.port}`);
  });

  it('an untrusted certificate keeps the carrier down, saying why', async () => {
    const bind = new WsClientBind({ hubUrl, dialer });
    binds.push(bind);
    bind.connect();
    await until(() => bind.state === 'down', 5_000);
    expect(bind.lastError).toMatch(/self[- ]signed certificate/);
    bind.disconnect();
  });

  it('the hub client fetch over https through the proxy', async () => {
    const res = await createProxiedFetch(dialer, { ca: TEST_CERT })(new URL('/api/v1/x', hubUrl));
    expect([res.status, await res.text()]).toEqual([200, '{"ok":true}']);
    await expect(createProxiedFetch(dialer)(new URL('/api/v1/x', hubUrl))).rejects.toThrow(/self[- ]signed certificate/);
  });
});
