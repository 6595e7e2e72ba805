// The Remote access routes on their own, with a stub agent whose status the test sets: rendering
// of every state, the Host allowlist, the node:http handler variant, the authorize hook, CSRF.
import { createServer } from 'node:http';
import { raw } from 'hono/html';
import { describe, expect, it } from 'vitest';
import type { Agent, AgentStatus } from '../agent.js';
import { TestBrowser, csrfFrom } from '../testing/browser.js';
import { testAgentStatus } from '../testing/fixtures.js';
import { serveHandler } from '../testing/servers.js';
import { createRemoteAccessHandler, createRemoteAccessRoutes } from './remote-access-routes.js';

const NOW = Date.UTC(2026, 10, 22, 9, 0, 0);

function stubAgent(patch: Partial<AgentStatus> = {}) {
  const calls: string[] = [];
  const status = testAgentStatus(patch);
  const agent = {
    status: () => status,
    enable: async ({ returnUrl, windowHours }: { returnUrl?: string; windowHours?: number | null }) => {
      calls.push(windowHours === null ? `enable ${returnUrl}` : `enable ${returnUrl} window ${windowHours}`);
      return { redirectTo: 'https://portal.test/claim?code=BCDF-GHJK' };
    },
    disable: async () => void calls.push('disable'),
    forgetRegistration: async () => void calls.push('forget'),
    acceptCertificate: (fp: string) => (calls.push(`accept ${fp}`), true),
    claimReturned: () => void calls.push('claim returned'),
    network: () => ({ proxy: null, transport: 'auto' }),
    setNetwork: async (n: unknown) => void calls.push(`network ${JSON.stringify(n)}`),
  } as unknown as Agent;
  return { agent, calls, status };
}

describe('remote access page rendering', () => {
  it('shows online details, clock problems and a pending certificate', async () => {
    const { agent } = stubAgent({
      phase: 'online',
      enabled: true,
      registered: true,
      publicUrl: 'https://an12345678.example.io/',
      tunnelIp: '100.64.0.2',
      onlineSinceMs: NOW - 120_000,
      lastHandshakeAtMs: NOW - 5_000,
      transport: 'WireGuard/UDP to 203.0.113.5:51820',
      clockProblems: [{ code: 'before-build-date', message: 'The device clock reads 1970-01-01T00:00:05.000Z, before this agent was built.' }],
      exposed: [{ port: 22, host: '127.0.0.1', targetPort: 22 }],
      certificate: { origin: 'https://10.11.120.2:443', pinned: 'AA:BB', pending: { fingerprint: 'CC:DD', seenAt: '2026-11-22T08:59:00.000Z' } },
    });
    const app = createRemoteAccessRoutes(agent, { password: 'pw-12345678', now: () => NOW, basePath: '/ra' });
    const b = new TestBrowser();
    const base = 'http://device.local';
    const fetchVia = async (path: string, init?: RequestInit) => app.request(`${base}${path}`, init);
    // Log in through the hono app directly (no network): token and cookie by hand.
    let res = await fetchVia('/ra/');
    // Not no-referrer: that makes browsers send `Origin: null` on the page's own posts (NAT lab).
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
    const cookie = res.headers.getSetCookie()[0]!.split(';')[0]!;
    const csrf = csrfFrom(await res.text());
    res = await fetchVia('/ra/login', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, password: 'pw-12345678' }).toString(),
    });
    expect(res.status).toBe(303);
    const session = res.headers.getSetCookie()[0]!.split(';')[0]!;
    expect(res.headers.getSetCookie()[0]).toMatch(/HttpOnly/);
    expect(res.headers.getSetCookie()[0]).toMatch(/SameSite=Strict/);
    const html = await (await fetchVia('/ra/', { headers: { cookie: `${cookie}; ${session}` } })).text();
    expect(html).toContain('id="phase">Online<');
    expect(html).toContain('since 2026-11-22 08:58:00 UTC (2 min ago)');
    expect(html).toContain('2026-11-22 08:59:55 UTC (5 s ago)');
    expect(html).toContain('WireGuard/UDP to 203.0.113.5:51820');
    expect(html).toContain('<a href="https://an12345678.example.io/">');
    expect(html).toContain('Clock problem');
    expect(html).toContain('before this agent was built');
    expect(html).toContain('port 22 → 127.0.0.1:22');
    expect(html).toContain('name="fingerprint" value="CC:DD"');
    expect(html).toContain('action="/ra/disable"');
    expect(html).not.toContain('action="/ra/enable"');
    expect(b.cookies.size).toBe(0);
  });

  it('shows the code while waiting for approval and refreshes itself', async () => {
    const { agent } = stubAgent({
      phase: 'waiting-approval',
      claim: { userCode: 'BCDF-GHJK', verificationUriComplete: 'https://portal.test/claim?code=BCDF-GHJK', expiresAtMs: NOW + 600_000 },
    });
    const app = createRemoteAccessRoutes(agent, { authorize: () => true, now: () => NOW });
    const html = await (await app.request('http://d/')).text();
    expect(html).toContain('<strong id="user-code">BCDF-GHJK</strong>');
    expect(html).toContain('href="https://portal.test/claim?code=BCDF-GHJK"');
    expect(html).toContain('<meta http-equiv="refresh" content="3"/>');
  });
});

describe('remote access protection', () => {
  it('refuses foreign Host headers (DNS rebinding)', async () => {
    const { agent } = stubAgent();
    const app = createRemoteAccessRoutes(agent, { authorize: () => true, allowedHosts: ['192.168.1.20', 'localhost'] });
    expect((await app.request('http://192.168.1.20:8088/')).status).toBe(200);
    expect((await app.request('http://localhost/')).status).toBe(200);
    expect((await app.request('http://attacker.example/')).status).toBe(421);
    expect((await app.request('http://192.168.1.20.attacker.example/')).status).toBe(421);
  });

  it('sends visitors the hook refuses to the device login, and requires CSRF on writes', async () => {
    const { agent, calls } = stubAgent();
    let allowed = false;
    const handler = createRemoteAccessHandler(agent, { basePath: '/remote-access', authorize: () => allowed, loginUrl: '/login' });
    const server = createServer();
    const running = await serveHandler((req, res) => {
      if (req.url?.startsWith('/remote-access')) void handler(req, res);
      else res.end('device page');
    }, server);
    try {
      const b = new TestBrowser();
      let res = await b.get(`${running.url}/remote-access/`);
      expect(res.status).toBe(303);
      expect(res.location).toBe('/login');
      allowed = true;
      res = await b.get(`${running.url}/remote-access`);
      expect(res.location).toBe('/remote-access/');
      res = await b.get(`${running.url}/remote-access/`);
      const csrf = csrfFrom(res.text);
      expect((await b.post(`${running.url}/remote-access/enable`, { csrf: csrf + 'x' })).status).toBe(403);
      expect(calls).toEqual([]);
      res = await b.post(`${running.url}/remote-access/enable`, { csrf }, { origin: running.url, 'sec-fetch-site': 'same-origin' });
      expect(res.status).toBe(303);
      expect(res.location).toBe('https://portal.test/claim?code=BCDF-GHJK');
      expect(calls).toEqual([`enable ${running.url}/remote-access/`]);
      // A token is bound to its browser: another browser's cookie does not validate it.
      const other = new TestBrowser();
      await other.get(`${running.url}/remote-access/`);
      expect((await other.post(`${running.url}/remote-access/disable`, { csrf })).status).toBe(403);
      const status = await b.get(`${running.url}/remote-access/status.json`);
      expect(JSON.parse(status.text).serial).toBe('an12345678');
    } finally {
      await running.close();
    }
  });

  it('throttles password guessing', async () => {
    const { agent } = stubAgent();
    const app = createRemoteAccessRoutes(agent, { password: 'right-password' });
    const first = await app.request('http://d/');
    const cookie = first.headers.getSetCookie()[0]!.split(';')[0]!;
    const csrf = csrfFrom(await first.text());
    const attempt = (password: string) =>
      app.request('http://d/login', {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf, password }).toString(),
      });
    for (let i = 0; i < 10; i++) expect((await attempt('guess')).status).toBe(401);
    expect((await attempt('right-password')).status).toBe(429);
  });

  it('refuses to build without a protection', () => {
    expect(() => createRemoteAccessRoutes(stubAgent().agent, {})).toThrow(/authorize/);
  });
});

/** A logged-in browser on the stub agent's page (authorize hook); returns the page HTML and a poster. */
async function pageOf(agent: Agent, options: Partial<Parameters<typeof createRemoteAccessRoutes>[1]> = {}, headers: Record<string, string> = {}) {
  const app = createRemoteAccessRoutes(agent, { authorize: () => true, now: () => NOW, ...options });
  const first = await app.request('http://device.local/', { headers });
  const cookie = first.headers.getSetCookie()[0]!.split(';')[0]!;
  const html = await first.text();
  const post = (path: string, form: Record<string, string>) =>
    app.request(`http://device.local${path}`, {
      method: 'POST',
      headers: { ...headers, cookie, origin: 'http://device.local', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: csrfFrom(html), ...form }).toString(),
    });
  return { app, html, first, post, get: (path: string) => app.request(`http://device.local${path}`, { headers: { ...headers, cookie } }) };
}

describe('owner controls on the page', () => {
  it('offers the exposure windows the fleet maximum allows and passes the choice on; refuses others', async () => {
    const { agent, calls } = stubAgent({ exposure: { untilMs: undefined, endedAtMs: undefined, maxHours: 8, choices: [1, 8] } });
    const p = await pageOf(agent);
    expect(p.html).toContain('name="window" value="1"');
    expect(p.html).toContain('name="window" value="8" checked');
    expect(p.html).not.toContain('value="off"');
    expect(p.html).toContain('allows at most 8 hours');
    expect((await p.post('/enable', { window: '8' })).status).toBe(303);
    const refused = await p.post('/enable', { window: 'off' });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('not one of the offered durations');
    expect(calls).toEqual(['enable http://device.local/ window 8']);
  });

  it('counts down a running window with a nonce script the CSP allows, and says when a window ended', async () => {
    const running = stubAgent({ phase: 'online', enabled: true, registered: true, exposure: { untilMs: NOW + 2 * 3600_000 + 5 * 60_000, endedAtMs: undefined, maxHours: null, choices: [1, 8, 24, null] } });
    const p = await pageOf(running.agent);
    expect(p.html).toContain('turns itself off at <strong>2026-11-22 11:05 UTC</strong>');
    expect(p.html).toContain(`<strong id="countdown" data-until="${NOW + 2 * 3600_000 + 5 * 60_000}">2 h 5 min</strong>`);
    const nonce = /script-src 'nonce-([^']+)'/.exec(p.first.headers.get('content-security-policy')!)![1]!;
    expect(p.html).toContain(`<script nonce="${nonce}">`);
    const second = await pageOf(running.agent);
    expect(/nonce-([^']+)/.exec(second.first.headers.get('content-security-policy')!)![1]).not.toBe(nonce);

    const ended = stubAgent({ exposure: { untilMs: undefined, endedAtMs: NOW - 60_000, maxHours: null, choices: [1, 8, 24, null] } });
    const q = await pageOf(ended.agent);
    expect(q.html).toContain('The access window ended at 2026-11-22 08:59 UTC');
    expect(q.html).not.toContain('<script');
  });

  it('lists the access journal', async () => {
    const { agent } = stubAgent({
      journal: [
        { id: 'a', startedAt: '2026-11-22T08:40:00.000Z', lastAt: '2026-11-22T08:52:00.000Z', ended: true, user: { email: 'installer@example.io', organisation: 'Example Service GmbH' }, clientIp: '198.51.100.7', kind: 'http', port: 80, requests: 14, refused: 0, bytesIn: 0, bytesOut: 0 },
        { id: 'b', startedAt: '2026-11-22T08:55:00.000Z', lastAt: '2026-11-22T08:56:00.000Z', ended: false, user: null, clientIp: '203.0.113.9', kind: 'tcp', port: 502, requests: 1, refused: 0, bytesIn: 0, bytesOut: 0 },
      ],
    });
    const text = (await pageOf(agent)).html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    expect(text).toContain('2026-11-22 08:40 – 08:52 installer@example.io Example Service GmbH 198.51.100.7 web interface, 14 requests');
    expect(text).toContain('2026-11-22 08:55 (now) not signed in (public device) 203.0.113.9 TCP port 502');
  });

  it('offers Cancel for a pending claim, and says "Approved, connecting" (polling at once) on the way back from the portal', async () => {
    const { agent, calls } = stubAgent({
      phase: 'waiting-approval',
      claim: { userCode: 'BCDF-GHJK', verificationUriComplete: 'https://portal.test/claim?code=BCDF-GHJK', expiresAtMs: NOW + 600_000 },
    });
    const p = await pageOf(agent);
    expect(p.html).toContain('id="cancel">Cancel the request<');
    expect(p.html).not.toContain('id="disable"');
    const back = await (await p.get('/?claim=approved')).text();
    expect(back).toContain('id="phase">Approved, connecting<');
    expect(back).not.toContain('Waiting for approval');
    expect(back).not.toContain('id="user-code"');
    expect(back).toContain('Approved on the portal.');
    expect(calls).toEqual(['claim returned']);
  });

  it('asks a visitor who came through the hub to confirm Disable; a local visitor disables at once', async () => {
    const online = { phase: 'online' as const, enabled: true, registered: true, publicUrl: 'https://an12345678.example.io/' };
    const remote = stubAgent(online);
    const via = await pageOf(remote.agent, {}, { 'x-forwarded-host': 'an12345678.example.io' });
    expect(via.html).toContain('id="remote-warning"');
    const confirm = await via.post('/disable', {});
    expect(confirm.status).toBe(200);
    expect(await confirm.text()).toContain('Disabling it cuts your own connection');
    expect(remote.calls).toEqual([]);
    expect((await via.post('/disable', { confirm: '1' })).status).toBe(303);
    expect(remote.calls).toEqual(['disable']);

    const local = stubAgent(online);
    const here = await pageOf(local.agent);
    expect(here.html).not.toContain('id="remote-warning"');
    expect((await here.post('/disable', {})).status).toBe(303);
    expect(local.calls).toEqual(['disable']);
  });

  it("shows the target so that the forwarder's self-link rewriting cannot change it, and no favicon request", async () => {
    const { agent } = stubAgent({ target: 'http://127.0.0.1:8080' });
    const { html } = await pageOf(agent);
    expect(html).not.toContain('http://127.0.0.1:8080');
    expect(html).toContain('<dd id="forwards-to">http&#58;//127.0.0.1:8080');
    expect(html).toContain('<link rel="icon" href="data:,"/>');
  });

  it('renders inside the embedding device’s frame', async () => {
    const { agent } = stubAgent();
    const frame = ({ title, children }: { title: string; children?: unknown }) =>
      raw(`<!doctype html><html><body><header>My meter · ${title}</header>${String(children)}</body></html>`);
    const { html } = await pageOf(agent, { frame: frame as never });
    expect(html).toContain('<header>My meter · Remote access · an12345678</header>');
    expect(html).toContain('<div class="ra">');
  });
});
