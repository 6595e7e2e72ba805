// The whole device side over the real overlay: a hub made of a WireGuard node and a netstack on
// loopback UDP, the agent registering with an enrollment token at the fake registry, then the hub
// opening TCP connections to the device's tunnel IP like its proxy does: HTTP to the target (Host
// rewritten, 4 MiB each way intact), an exposed port, an unexposed port refused with RST, Disable.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetstack, type Netstack } from '@porthole/netstack';
import { UdpBind, startWireGuardNode, type WireGuardNode, encodeKey, generatePrivateKey, publicKeyFromPrivate } from '@porthole/wireguard';
import { createAgent, type Agent } from './agent.js';
import { StateStore } from './state/state-store.js';
import { createFakeRegistry } from './testing/fake-registry.js';
import { serveApp, serveHandler, until, type Running } from './testing/servers.js';
import { createDefaultTunnelFactory } from './tunnel/default-factory.js';
import { seededBytes, seededRandom } from '@porthole/wireguard/testing';

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const prngBytes = (seed: number, n: number): Buffer => Buffer.from(seededBytes(seededRandom(seed))(n));

describe('agent over the real WireGuard + netstack overlay', () => {
  let hubNode: WireGuardNode;
  let hubStack: Netstack;
  let agent: Agent;
  let device: Running;
  const download = prngBytes(7, 4 * 1024 * 1024);
  const upload = prngBytes(8, 4 * 1024 * 1024);

  beforeAll(async () => {
    const hubKey = generatePrivateKey();
    const bind = await UdpBind.open({ host: '127.0.0.1' });
    hubNode = await startWireGuardNode({ privateKey: hubKey, bind, onPacket: (p) => hubStack.receive(p) });
    hubStack = createNetstack({ address: '100.64.0.1', onTransmit: (p) => hubNode.send(p) });
    cleanups.push(() => hubNode.close(), () => hubStack.close());

    const registry = createFakeRegistry({
      hubPublicKey: encodeKey(publicKeyFromPrivate(hubKey)),
      endpoint: `127.0.0.1:${bind.localPort}`,
      urlFor: (s) => `https://${s}.devices.test/`,
      enrollmentTokens: ['tok'],
    });
    const registryServer = await serveApp(registry.app);
    cleanups.push(() => registryServer.close());

    device = await serveHandler((req, res) => {
      if (req.url === '/download') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(download.length) });
        res.end(download);
        return;
      }
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => {
        h.update(c);
        n += c.length;
      });
      req.on('end', () => res.end(`${req.method} ${req.url} host=${req.headers.host} bytes=${n} sha256=${h.digest('hex')}`));
    });
    cleanups.push(() => device.close());
    const echo = createTcpServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => echo.close());

    const dir = mkdtempSync(join(tmpdir(), 'porthole-overlay-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    agent = createAgent({
      hubUrl: new URL(registryServer.url),
      serial: 'an12345678',
      target: new URL(device.url),
      expose: [{ port: 22, host: '127.0.0.1', targetPort: (echo.address() as AddressInfo).port }],
      enrollmentToken: 'tok',
      store: StateStore.open(dir),
      tunnelFactory: createDefaultTunnelFactory(),
    });
    cleanups.push(() => agent.close());
    // The hub learns the device's key from the registry (here: directly).
    hubNode.device.addPeer({ publicKey: agent.publicKey, allowedIps: ['100.64.0.2/32'] });
    await agent.start();
    await until(() => agent.status().phase === 'online', 15_000, 'agent online');
  });

  const request = (path: string, body?: Buffer) =>
    new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const req = http.request(
        {
          host: '100.64.0.2',
          port: 80,
          path,
          method: body ? 'POST' : 'GET',
          headers: { host: 'an12345678.devices.test' },
          createConnection: (() => hubStack.connect({ host: '100.64.0.2', port: 80 })) as never,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  it('registers, handshakes and serves HTTP from the hub side with Host rewritten', async () => {
    const s = agent.status();
    expect(s.tunnelIp).toBe('100.64.0.2');
    expect(s.transport).toMatch(/^WireGuard\/UDP to 127\.0\.0\.1:\d+$/);
    const res = await request('/hello?x=1');
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(`GET /hello?x=1 host=127.0.0.1:${device.port} bytes=0 sha256=${createHash('sha256').digest('hex')}`);
  });

  it('moves 4 MiB each way intact', async () => {
    let t = performance.now();
    const down = await request('/download');
    const downMs = performance.now() - t;
    expect(down.body.length).toBe(download.length);
    expect(createHash('sha256').update(down.body).digest('hex')).toBe(createHash('sha256').update(download).digest('hex'));
    t = performance.now();
    const up = await request('/upload', upload);
    const upMs = performance.now() - t;
    expect(up.body.toString()).toContain(`bytes=${upload.length} sha256=${createHash('sha256').update(upload).digest('hex')}`);
    console.log(`overlay HTTP via agent: download ${((4 * 8) / (downMs / 1000)).toFixed(0)} Mbit/s, upload ${((4 * 8) / (upMs / 1000)).toFixed(0)} Mbit/s (loopback, one process)`);
  });

  it('forwards an exposed port and refuses an unexposed one with RST', async () => {
    const sock = hubStack.connect({ host: '100.64.0.2', port: 22 });
    const echoed = await new Promise<string>((resolve, reject) => {
      let data = '';
      sock.on('data', (d: Buffer) => {
        data += d.toString();
        if (data.length >= 11) {
          sock.end();
          resolve(data);
        }
      });
      sock.on('error', reject);
      sock.write('ssh-ish\r\n\r\n');
    });
    expect(echoed).toBe('ssh-ish\r\n\r\n');
    const refused = hubStack.connect({ host: '100.64.0.2', port: 23 });
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => refused.on('error', resolve));
    expect(err.code).toBe('ECONNREFUSED');
  });

  it('Disable tears the tunnel down at once: the hub can no longer connect', async () => {
    await agent.disable();
    expect(agent.status().phase).toBe('off');
    const sock = hubStack.connect({ host: '100.64.0.2', port: 80, timeoutMs: 1500 });
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => sock.on('error', resolve));
    expect(err.code).toBe('ETIMEDOUT');
  });
});
