// The agent against an in-process fake of the registry contract and a fake tunnel: the claim
// flow as an owner does it with a browser (no JavaScript), enrollment-token mode, Disable.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent, type Agent, type AgentStatus } from './agent.js';
import { encodeKey, generatePrivateKey, publicKeyFromPrivate } from '@porthole/wireguard';
import { memoryLogger } from './log/logger.js';
import { StateStore } from './state/state-store.js';
import { TestBrowser, csrfFrom } from './testing/browser.js';
import { createFakeRegistry } from './testing/fake-registry.js';
import { FakeTimers } from './testing/fake-timers.js';
import { rawHttp, serveApp, serveHandler, until, type Running } from './testing/servers.js';
import { createFakeTunnelNetwork } from './testing/fake-tunnel.js';
import { createRemoteAccessRoutes } from './web/remote-access-routes.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'porthole-agent-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function waitFor(agent: Agent, pred: (s: AgentStatus) => boolean): Promise<AgentStatus> {
  const now = agent.status();
  if (pred(now)) return Promise.resolve(now);
  return new Promise((resolve) => {
    const off = agent.onChange((s) => {
      if (pred(s)) {
        off();
        resolve(s);
      }
    });
  });
}

const HUB_KEY = encodeKey(publicKeyFromPrivate(generatePrivateKey()));
const PASSWORD = 'meter-owner-pw';

async function setup(opts: { enrollmentToken?: string; tokens?: string[] } = {}) {
  const timers = new FakeTimers(Date.UTC(2026, 10, 22, 8), 42);
  const registry = createFakeRegistry({
    hubPublicKey: HUB_KEY,
    endpoint: '127.0.0.1:51820',
    urlFor: (s) => `https://${s}.devices.test/`,
    enrollmentTokens: opts.tokens,
    now: timers.now,
  });
  const hub = await serveApp(registry.app);
  cleanups.push(() => hub.close());
  // The device's own web UI: echoes method, path and Host; redirects /login to an absolute self-URL.
  let device: Running;
  device = await serveHandler((req, res) => {
    if (req.url === '/login') {
      res.writeHead(302, { location: `${device.url}/home` });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${req.method} ${req.url} host=${req.headers.host} xfh=${req.headers['x-forwarded-host']}`);
  });
  cleanups.push(() => device.close());
  const network = createFakeTunnelNetwork(timers.now);
  const store = StateStore.open(tempDir());
  const logger = memoryLogger();
  const agent = createAgent({
    hubUrl: new URL(hub.url),
    serial: 'an12345678',
    target: new URL(device.url),
    expose: [{ port: 22, host: '127.0.0.1', targetPort: device.port }],
    enrollmentToken: opts.enrollmentToken,
    store,
    tunnelFactory: network.factory,
    timers,
    logger,
    resolve: async (h) => h,
  });
  cleanups.push(() => agent.close());
  const ui = await serveApp(createRemoteAccessRoutes(agent, { password: PASSWORD, basePath: '/remote-access' }));
  cleanups.push(() => ui.close());
  return { timers, registry, hub, device, network, store, agent, ui, logger };
}

describe('claim flow (Enable remote access)', () => {
  it('login, Enable with CSRF, approve on the portal, online, forward, Disable', async () => {
    const { timers, registry, hub, device, network, store, agent, ui } = await setup();
    await agent.start();
    const page = `${ui.url}/remote-access/`;
    const browser = new TestBrowser();

    // Locked until logged in.
    let res = await browser.get(page);
    expect(res.status).toBe(200);
    expect(res.text).toContain('Enter the device password');
    expect(res.text).not.toContain('Enable remote access');
    res = await browser.post(`${ui.url}/remote-access/login`, { csrf: csrfFrom(res.text), password: 'wrong' });
    expect(res.status).toBe(401);
    res = await browser.post(`${ui.url}/remote-access/login`, { csrf: csrfFrom(res.text), password: PASSWORD });
    expect(res.status).toBe(303);

    res = await browser.get(page);
    expect(res.text).toContain('id="phase">Off<');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const csrf = csrfFrom(res.text);

    // Forms without the token, or from another origin, change nothing.
    expect((await browser.post(`${ui.url}/remote-access/enable`, {})).status).toBe(403);
    expect((await browser.post(`${ui.url}/remote-access/enable`, { csrf }, { origin: 'http://evil.test' })).status).toBe(403);
    expect((await browser.post(`${ui.url}/remote-access/enable`, { csrf }, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    await expect(new TestBrowser().post(`${ui.url}/remote-access/enable`, { csrf }).then((r) => r.status)).resolves.toBe(303); // no session → back to login
    expect(registry.claims).toHaveLength(0);

    res = await browser.post(`${ui.url}/remote-access/enable`, { csrf });
    expect(res.status).toBe(303);
    const claim = registry.claims[0]!;
    expect(res.location).toBe(`${hub.url}/claim?code=${claim.userCode}`);
    expect(claim.returnUrl).toBe(page);
    expect(claim.publicKey).toBe(agent.publicKey);
    expect(agent.status().phase).toBe('waiting-approval');
    res = await browser.get(page);
    expect(res.text).toContain(claim.userCode);
    expect(res.text).toContain('http-equiv="refresh"');

    // A pending poll, then the owner approves on the portal and is sent back to the device page.
    timers.fireNext();
    await until(() => registry.requests.filter((r) => r === 'POST /api/v1/claims/poll').length === 1 && timers.pending().length > 0);
    const back = registry.approve(claim.userCode);
    expect(back).toBe(`${page}?claim=approved`);
    timers.fireNext();
    const online = await waitFor(agent, (s) => s.phase === 'online');
    expect(online.publicUrl).toBe('https://an12345678.devices.test/');
    expect(online.transport).toBe('WireGuard/UDP to 127.0.0.1:51820');
    expect(store.state.enabled).toBe(true);
    expect(store.state.registration?.tunnelIp).toBe('100.64.0.2');
    expect(store.state.lastTai64n).not.toBeNull();
    res = await browser.get(back!);
    expect(res.text).toContain('Approved on the portal');
    expect(res.text).toContain('href="https://an12345678.devices.test/"');
    expect(res.text).toContain('id="phase">Online<');

    // The hub reaches the device UI through the tunnel: Host rewritten, absolute redirects mapped.
    const tunnel = network.current()!;
    let raw = await rawHttp(await tunnel.connect(80), 'GET /x?y=1 HTTP/1.1\r\nHost: an12345678.devices.test\r\nConnection: close\r\n\r\n');
    expect(raw).toContain(`GET /x?y=1 host=127.0.0.1:${device.port} xfh=an12345678.devices.test`);
    raw = await rawHttp(await tunnel.connect(80), 'GET /login HTTP/1.1\r\nHost: an12345678.devices.test\r\nConnection: close\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 302/);
    expect(raw.toLowerCase()).toContain('location: https://an12345678.devices.test/home');
    // An exposed port is forwarded as raw TCP; an unexposed one is reset.
    raw = await rawHttp(await tunnel.connect(22), 'GET /ssh HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(raw).toContain('GET /ssh host=x');
    await expect(tunnel.connect(23).then((s) => rawHttp(s, 'x'))).rejects.toThrow(/ECONNRESET/);

    // Disable works with the hub gone and tears the tunnel down before the response returns.
    await hub.close();
    res = await browser.post(`${ui.url}/remote-access/disable`, { csrf: csrfFrom((await browser.get(page)).text) });
    expect(res.status).toBe(303);
    expect(tunnel.closed).toBe(true);
    expect(tunnel.notifiedHub).toBe(true); // Disable tells the hub (best effort, no wait)
    expect(agent.status().phase).toBe('off');
    expect(store.state.enabled).toBe(false);
    expect(store.state.registration).not.toBeNull(); // only the session is forgotten
    await expect(tunnel.connect(80)).rejects.toThrow();

    // Enable again: registered already, so no new claim — straight back online.
    res = await browser.post(`${ui.url}/remote-access/enable`, { csrf: csrfFrom((await browser.get(page)).text) });
    expect(res.location).toBe('/remote-access/');
    await waitFor(agent, (s) => s.phase === 'online');
    expect(registry.claims).toHaveLength(1);
  });

  it('reports a denied claim and an expired one', async () => {
    const { timers, registry, agent } = await setup();
    await agent.start();
    await agent.enable({ returnUrl: 'http://127.0.0.1/' });
    registry.deny(registry.claims[0]!.userCode);
    timers.fireNext();
    let s = await waitFor(agent, (x) => x.phase === 'off');
    expect(s.lastError).toBe('The request was denied on the portal.');

    await agent.enable({});
    timers.advance(601_000);
    s = await waitFor(agent, (x) => x.phase === 'off');
    expect(s.lastError).toMatch(/expired/);
  });

  it('backs off when told slow_down', async () => {
    const { timers, registry, agent } = await setup();
    await agent.start();
    await agent.enable({});
    // First poll at +2 s, then force a too-early poll by rewinding the fake registry's view.
    timers.fireNext();
    await until(() => registry.claims[0]!.lastPollAt !== undefined && timers.pending().length > 0);
    expect(timers.pending()).toEqual([2000]);
    registry.claims[0]!.lastPollAt = timers.now() + 1; // the next poll will look too fast
    timers.fireNext();
    // RFC 8628 §3.5: the interval grows by 5 s after slow_down.
    await until(() => timers.pending().length > 0);
    expect(timers.pending()).toEqual([7000]);
  });
});

describe('enrollment-token mode', () => {
  it('registers unattended at start and comes online; restart reuses the registration', async () => {
    const { registry, agent, store, network } = await setup({ enrollmentToken: 'tok-1', tokens: ['tok-1'] });
    await agent.start();
    const s = await waitFor(agent, (x) => x.phase === 'online');
    expect(s.registered).toBe(true);
    expect(registry.registrations.get('an12345678')?.publicKey).toBe(agent.publicKey);
    expect(network.tunnels).toHaveLength(1);
    expect(network.tunnels[0]!.params.registration.hub.publicKey).toBe(HUB_KEY);
    expect(network.tunnels[0]!.params.registration.persistentKeepalive).toBe(25);
    expect(store.state.enabled).toBe(true);
    expect(registry.requests.filter((r) => r.includes('register'))).toHaveLength(1);
  });

  it('shows a refused token and does not retry it', async () => {
    const { registry, agent, timers } = await setup({ enrollmentToken: 'bad', tokens: ['tok-1'] });
    await agent.start();
    const s = await waitFor(agent, (x) => x.lastError !== undefined && x.phase === 'off');
    expect(s.lastError).toBe('Registration failed: enrollment token invalid');
    expect(timers.pending()).toEqual([]);
    expect(registry.registrations.size).toBe(0);
  });
});
