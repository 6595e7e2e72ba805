// The Remote access routes on their own, with a stub agent whose status the test sets: rendering
// of every state, the Host allowlist, the node:http handler variant, the authorize hook, CSRF.
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { Agent, AgentStatus } from '../agent.js';
import { TestBrowser, csrfFrom } from '../testing/browser.js';
import { serveHandler } from '../testing/servers.js';
import { createRemoteAccessHandler, createRemoteAccessRoutes } from './remote-access-routes.js';

const NOW = Date.UTC(2026, 10, 22, 9, 0, 0);

function stubAgent(patch: Partial<AgentStatus> = {}) {
  const calls: string[] = [];
  const status: AgentStatus = {
    phase: 'off',
    serial: 'an12345678',
    enabled: false,
    registered: false,
    publicUrl: undefined,
    tunnelIp: undefined,
    onlineSinceMs: undefined,
    lastHandshakeAtMs: undefined,
    transport: undefined,
    transportReason: undefined,
    transportProblems: [],
    network: { source: 'command line', transport: 'auto', proxy: undefined },
    claim: undefined,
    lastError: undefined,
    nextRetryAtMs: undefined,
    clockProblems: [],
    target: 'http://127.0.0.1:8080',
    exposed: [],
    certificate: undefined,
    exposure: { untilMs: undefined, endedAtMs: undefined, maxHours: undefined, choices: [1, 8, 24, null] },
    journal: [],
    ...patch,
  };
  const agent = {
    status: () => status,
    enable: async ({ returnUrl }: { returnUrl?: string }) => {
      calls.push(`enable ${returnUrl}`);
      return { redirectTo: 'https://portal.test/claim?code=BCDF-GHJK' };
    },
    disable: async () => void calls.push('disable'),
    forgetRegistration: async () => void calls.push('forget'),
    acceptCertificate: (fp: string) => (calls.push(`accept ${fp}`), true),
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
