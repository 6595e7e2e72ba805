// Trust on first use against a local self-signed HTTPS "device" (certificates made by openssl in
// the test): first contact pins, a swapped certificate is refused with the documented 502 page,
// the owner accepts the new one on the local page (authorize-hook mode), and forwarding resumes.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirementsMet } from '../../../../test/support/requirements.js';
import { createAgent, type Agent } from '../agent.js';
import { memoryLogger } from '../log/logger.js';
import { StateStore } from '../state/state-store.js';
import { testRegistration } from '../testing/fixtures.js';
import { TestBrowser, csrfFrom } from '../testing/browser.js';
import { httpOver, rawHttp, serveApp, until, type Running } from '../testing/servers.js';
import { createFakeTunnelNetwork, type FakeTunnelNetwork } from '../testing/fake-tunnel.js';
import { createRemoteAccessRoutes } from '../web/remote-access-routes.js';

const ok = requirementsMet('agent TOFU', { tools: ['openssl'] });
const dir = mkdtempSync(join(tmpdir(), 'porthole-tofu-'));

function makeCert(name: string): { key: Buffer; cert: Buffer; fingerprint: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`,
  ], { stdio: 'ignore' });
  const pem = readFileSync(cert);
  return { key: readFileSync(key), cert: pem, fingerprint: new X509Certificate(pem).fingerprint256 };
}

describe.skipIf(!ok)('TOFU for an HTTPS target', () => {
  let certA: ReturnType<typeof makeCert>;
  let certB: ReturnType<typeof makeCert>;
  let device: Server;
  let port: number;
  let agent: Agent;
  let network: FakeTunnelNetwork;
  let store: StateStore;
  let ui: Running;
  const logger = memoryLogger();

  beforeAll(async () => {
    certA = makeCert('meter-a');
    certB = makeCert('meter-b');
    device = createHttpsServer({ key: certA.key, cert: certA.cert }, (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<a href="https://127.0.0.1:${port}/settings">settings</a> path=${req.url} host=${req.headers.host}`);
    });
    await new Promise<void>((r) => device.listen(0, '127.0.0.1', () => r()));
    port = (device.address() as AddressInfo).port;

    store = StateStore.open(join(dir, 'state'));
    store.update((s) => {
      s.enabled = true;
      s.registration = testRegistration({ serial: 'an12345678', tunnelIp: '100.64.0.7' });
    });
    network = createFakeTunnelNetwork();
    agent = createAgent({
      hubUrl: new URL('http://127.0.0.1:9/'), // unreachable: not needed with a stored registration
      serial: 'an12345678',
      target: new URL(`https://127.0.0.1:${port}`),
      store,
      tunnelFactory: network.factory,
      logger,
      resolve: async (h) => h,
    });
    await agent.start();
    await until(() => agent.status().phase === 'online');
    ui = await serveApp(createRemoteAccessRoutes(agent, { authorize: (req) => req.headers.get('x-device-user') === 'owner' }));
  });

  afterAll(async () => {
    await agent?.close();
    await ui?.close();
    device?.closeAllConnections();
    device?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = async (path: string): Promise<string> => {
    const r = await httpOver(await network.current()!.connect(80), path);
    return `HTTP/1.1 ${r.status}\n${r.body}`;
  };

  it('pins the certificate on first contact and rewrites self-links', async () => {
    const res = await get('/');
    expect(res).toMatch(/^HTTP\/1\.1 200/);
    expect(res).toContain('<a href="https://an12345678.example.io/settings">');
    expect(res).toContain(`host=127.0.0.1:${port}`);
    const origin = `https://127.0.0.1:${port}`;
    expect(store.state.pins[origin]).toBe(certA.fingerprint);
    expect(agent.status().certificate).toEqual({ origin, pinned: certA.fingerprint, pending: undefined });
    expect(logger.records.some((r) => r.msg === 'target certificate pinned on first use')).toBe(true);
  });

  it('sequential requests reuse one verified TLS connection to the target', async () => {
    let handshakes = 0;
    const count = () => handshakes++;
    device.on('secureConnection', count);
    try {
      for (let i = 0; i < 5; i++) expect(await get(`/seq${i}`)).toContain(`path=/seq${i}`);
    } finally {
      device.off('secureConnection', count);
    }
    // The connection of the test before is kept alive and verified: none of these needs a new one.
    expect(handshakes).toBe(0);
  });

  it('refuses a swapped certificate with a 502 explanation until the owner accepts it', async () => {
    // A device serves a new certificate on new connections (it restarts its server to change it);
    // connections already verified against the pin stay what they were.
    device.setSecureContext({ key: certB.key, cert: certB.cert });
    device.closeAllConnections();
    for (let i = 0; i < 2; i++) {
      const res = await get('/');
      expect(res).toMatch(/^HTTP\/1\.1 502/);
      expect(res).toContain('Device certificate changed');
      expect(res).toContain(certA.fingerprint);
      expect(res).toContain(certB.fingerprint);
      expect(res).not.toContain('settings');
    }
    const origin = `https://127.0.0.1:${port}`;
    expect(store.state.pins[origin]).toBe(certA.fingerprint);
    expect(store.state.pendingPins[origin]?.fingerprint).toBe(certB.fingerprint);
    expect(logger.records.filter((r) => r.level === 'warn' && String(r.msg).startsWith('target certificate changed')).length).toBe(2);

    // The owner sees it on the local page (device login via the authorize hook) and accepts.
    const browser = new TestBrowser();
    expect((await browser.get(`${ui.url}/`)).status).toBe(401);
    const owner = { 'x-device-user': 'owner' };
    const page = await browser.request(`${ui.url}/`, { headers: owner });
    expect(page.text).toContain('certificate changed');
    expect(page.text).toContain(certB.fingerprint);
    // A wrong fingerprint in the form does nothing.
    await browser.request(`${ui.url}/accept-certificate`, { form: { csrf: csrfFrom(page.text), fingerprint: certA.fingerprint }, headers: owner });
    expect(store.state.pins[origin]).toBe(certA.fingerprint);
    const res = await browser.request(`${ui.url}/accept-certificate`, { form: { csrf: csrfFrom(page.text), fingerprint: certB.fingerprint }, headers: owner });
    expect(res.status).toBe(303);
    expect(store.state.pins[origin]).toBe(certB.fingerprint);
    expect(store.state.pendingPins[origin]).toBeUndefined();

    expect(await get('/after')).toContain('path=/after');
  });

  it('WebSocket-style upgrades are refused too while the certificate does not match', async () => {
    device.setSecureContext({ key: certA.key, cert: certA.cert });
    device.closeAllConnections();
    const res = await rawHttp(
      await network.current()!.connect(80),
      'GET /ws HTTP/1.1\r\nHost: an12345678.example.io\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    expect(res).toMatch(/^HTTP\/1\.1 502/);
    expect(res).toContain('Device certificate changed');
  });

  it('a changed pin closes the connections verified against the old one: the next request is checked against the new pin', async () => {
    const origin = `https://127.0.0.1:${port}`;
    device.setSecureContext({ key: certB.key, cert: certB.cert });
    device.closeAllConnections();
    expect(store.state.pins[origin]).toBe(certB.fingerprint);
    expect(await get('/kept')).toContain('path=/kept'); // a connection verified against B, kept alive
    // The pin changes under it (here straight in the state; the owner's page does it on accept).
    store.update((st) => {
      st.pins[origin] = certA.fingerprint;
    });
    const res = await get('/after-repin');
    expect(res).toMatch(/^HTTP\/1\.1 502/);
    expect(res).toContain('Device certificate changed');
    expect(res).not.toContain('path=/after-repin');
  });
});
