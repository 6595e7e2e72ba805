// Network settings: proxy URLs, the page's form, the command-line flags, and the Network
// card of the Remote access page — shown to a logged-in owner only, saved only with a valid CSRF
// token, refused with the field named when wrong, the password never echoed.
import { describe, expect, it } from 'vitest';
import type { Agent } from '../agent.js';
import { loadAgentConfig } from '../config.js';
import { csrfFrom } from '../testing/browser.js';
import { testAgentStatus } from '../testing/fixtures.js';
import { createRemoteAccessRoutes } from '../web/remote-access-routes.js';
import { describeProxy, networkFromForm, parseProxyUrl, redactProxyUrl, type NetworkSettings } from './network-settings.js';

describe('proxy URLs', () => {
  it('parses the three kinds with defaults and credentials', () => {
    expect(parseProxyUrl('socks5://dev:p%40ss@10.0.0.1:1080')).toEqual({ ok: true, proxy: { kind: 'socks5', host: '10.0.0.1', port: 1080, username: 'dev', password: 'p@ss' } });
    expect(parseProxyUrl('socks5h://proxy.site')).toEqual({ ok: true, proxy: { kind: 'socks5', host: 'proxy.site', port: 1080 } });
    expect(parseProxyUrl('socks4://gw:1081')).toEqual({ ok: true, proxy: { kind: 'socks4a', host: 'gw', port: 1081 } });
    expect(parseProxyUrl('http://[fd00::1]:3128')).toEqual({ ok: true, proxy: { kind: 'http', host: 'fd00::1', port: 3128 } });
    expect(parseProxyUrl('http://proxy')).toMatchObject({ ok: true, proxy: { port: 8080 } });
  });

  it('refuses what it cannot use, never echoing a password', () => {
    expect(parseProxyUrl('https://p:443')).toEqual({ ok: false, problem: 'proxy scheme "https" must be socks5, socks4a or http' });
    expect(parseProxyUrl('socks5://p:1080/path')).toEqual({ ok: false, problem: 'the proxy URL must be scheme://host:port only' });
    expect(parseProxyUrl('socks4a://u:pw@p:1080')).toEqual({ ok: false, problem: 'SOCKS4a has a user id but no password' });
    const bad = parseProxyUrl('socks5://u:hunter2@exa mple:1');
    expect(bad.ok).toBe(false);
    expect(JSON.stringify(bad)).not.toContain('hunter2');
    expect(redactProxyUrl('socks5://u:hunter2@h:1')).toBe('socks5://u:***@h:1');
    expect(describeProxy({ kind: 'socks5', host: 'fd00::1', port: 1080, username: 'u', password: 'x' })).toBe('SOCKS5 proxy u@[fd00::1]:1080');
  });

  it('form fields → settings; a blank password keeps the stored one for the same user', () => {
    const current: NetworkSettings = { proxy: { kind: 'socks5', host: 'p', port: 1080, username: 'u', password: 'old' }, transport: 'auto' };
    expect(networkFromForm({ transport: 'websocket', proxyKind: 'socks5', proxyHost: 'p2', proxyPort: '1081', proxyUsername: 'u', proxyPassword: '' }, current)).toEqual({
      ok: true,
      settings: { transport: 'websocket', proxy: { kind: 'socks5', host: 'p2', port: 1081, username: 'u', password: 'old' } },
    });
    expect(networkFromForm({ transport: 'auto', proxyKind: 'socks5', proxyHost: 'p', proxyPort: '1080', proxyUsername: 'other' }, current)).toEqual({
      ok: true,
      settings: { transport: 'auto', proxy: { kind: 'socks5', host: 'p', port: 1080, username: 'other' } },
    });
    expect(networkFromForm({ transport: 'udp', proxyKind: 'none', proxyHost: 'ignored' }, current)).toEqual({ ok: true, settings: { transport: 'udp', proxy: null } });
    expect(networkFromForm({ transport: 'auto', proxyKind: 'http', proxyHost: 'p', proxyPort: '99999' }, current)).toEqual({ ok: false, problem: 'Proxy port "99999" must be a number from 1 to 65535.' });
    expect(networkFromForm({ transport: 'auto', proxyKind: 'http', proxyHost: 'a b', proxyPort: '1' }, current)).toEqual({ ok: false, problem: 'Proxy host "a b" must be a host name or IP address.' });
    expect(networkFromForm({ transport: 'quic' }, current)).toEqual({ ok: false, problem: 'Transport "quic" must be auto, udp or websocket.' });
    expect(networkFromForm({ transport: 'udp', proxyKind: 'socks4a', proxyHost: 'p', proxyPort: '1' }, current)).toEqual({ ok: false, problem: 'SOCKS4a cannot carry UDP: choose Automatic or WebSocket with it.' });
  });
});

describe('network flags', () => {
  const base = ['--hub-url', 'https://portal.example.io', '--serial', 'an1', '--listen', 'off'];
  const readFile = (p: string) => {
    if (p === '/run/proxy-pw') return 'pw from file\n';
    throw Object.assign(new Error('no'), { code: 'ENOENT' });
  };
  it('--proxy, --proxy-password-file, --transport, --udp-probe-interval and their defaults', () => {
    const d = loadAgentConfig({ argv: base, env: {}, readFile });
    expect(d.ok === true && [d.config.network, d.config.udpProbeIntervalMs]).toEqual([{ proxy: null, transport: 'auto' }, 30_000]);
    const r = loadAgentConfig({
      argv: [...base, '--proxy', 'socks5://dev@10.0.0.1:1080', '--proxy-password-file', '/run/proxy-pw', '--udp-probe-interval', '5'],
      env: { PORTHOLE_AGENT_TRANSPORT: 'websocket' },
      readFile,
    });
    expect(r.ok === true && [r.config.network, r.config.udpProbeIntervalMs]).toEqual([
      { proxy: { kind: 'socks5', host: '10.0.0.1', port: 1080, username: 'dev', password: 'pw from file' }, transport: 'websocket' },
      5_000,
    ]);
  });
  it('reports every network problem at once', () => {
    const r = loadAgentConfig({ argv: [...base, '--proxy', 'ftp://u:secret@x', '--transport', 'tcp', '--udp-probe-interval', '0', '--proxy-password-file', '/nope'], env: {}, readFile });
    expect(r).toEqual({
      ok: false,
      problems: [
        '--proxy ftp://u:***@x: proxy scheme "ftp" must be socks5, socks4a or http',
        '--proxy-password-file needs --proxy',
        '--transport "tcp" must be auto, udp or websocket',
        '--udp-probe-interval "0" must be a whole number of seconds, 1–3600',
      ],
    });
  });
});

describe('the Network card on the Remote access page', () => {
  function setup() {
    const saved: Array<NetworkSettings | null> = [];
    let network: NetworkSettings = { proxy: { kind: 'http', host: 'gw.site', port: 3128, username: 'site', password: 'pr0xy-secret' }, transport: 'auto' };
    const status = testAgentStatus({
      phase: 'online',
      enabled: true,
      registered: true,
      publicUrl: 'https://an12345678.example.io/',
      tunnelIp: '100.64.0.2',
      onlineSinceMs: 0,
      lastHandshakeAtMs: 0,
      transport: 'WireGuard over WebSocket (wss://portal.example.io/.porthole/wg) via HTTP CONNECT proxy site@gw.site:3128',
      transportReason: 'no WireGuard handshake over UDP within 6 s',
      network: { source: 'command line', transport: 'auto', proxy: { kind: 'http', host: 'gw.site', port: 3128, username: 'site', hasPassword: true, text: 'HTTP CONNECT proxy site@gw.site:3128' } },
    });
    const agent = {
      status: () => status,
      network: () => network,
      setNetwork: async (n: NetworkSettings | null) => {
        saved.push(n);
        if (n) network = n;
      },
    } as unknown as Agent;
    const app = createRemoteAccessRoutes(agent, { password: 'pw-12345678', now: () => 0 });
    const base = 'http://device.local';
    let cookies = '';
    const req = async (path: string, form?: Record<string, string>, extra: Record<string, string> = {}) => {
      const res = await app.request(`${base}${path}`, {
        method: form ? 'POST' : 'GET',
        headers: { cookie: cookies, ...(form ? { 'content-type': 'application/x-www-form-urlencoded', origin: base } : {}), ...extra },
        ...(form ? { body: new URLSearchParams(form).toString() } : {}),
      });
      for (const c of res.headers.getSetCookie()) cookies = [cookies, c.split(';')[0]].filter(Boolean).join('; ');
      return { status: res.status, location: res.headers.get('location'), html: await res.text() };
    };
    return { req, saved };
  }

  it('shows the transport and why, saves a new proxy only for a logged-in owner with a CSRF token', async () => {
    const { req, saved } = setup();
    let page = await req('/');
    // Not logged in: the login page, and a post is refused without touching the settings.
    expect(page.html).not.toContain('id="network"');
    expect((await req('/network', { csrf: csrfFrom(page.html), transport: 'udp', proxyKind: 'none' })).status).toBe(303);
    expect(saved).toEqual([]);
    await req('/login', { csrf: csrfFrom(page.html), password: 'pw-12345678' });
    page = await req('/');
    expect(page.html).toContain('<dd id="transport">WireGuard over WebSocket (wss://portal.example.io/.porthole/wg) via HTTP CONNECT proxy site@gw.site:3128</dd>');
    expect(page.html).toContain('<dd id="transport-reason">no WireGuard handshake over UDP within 6 s</dd>');
    expect(page.html).toContain('Currently: HTTP CONNECT proxy site@gw.site:3128');
    expect(page.html).toContain('<option value="http" selected="">HTTP CONNECT</option>');
    expect(page.html).toContain('placeholder="(unchanged)"');
    expect(page.html).not.toContain('pr0xy-secret');

    const form = { transport: 'auto', proxyKind: 'socks5', proxyHost: '10.0.0.1', proxyPort: '1080', proxyUsername: 'site', proxyPassword: '' };
    expect((await req('/network', { ...form, csrf: 'forged' })).status).toBe(403);
    expect((await req('/network', { ...form, csrf: csrfFrom(page.html) }, { origin: 'https://evil.example' })).status).toBe(403);
    const bad = await req('/network', { ...form, proxyPort: 'x', csrf: csrfFrom(page.html) });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('Proxy port &quot;x&quot; must be a number from 1 to 65535.');
    expect(saved).toEqual([]);
    const ok = await req('/network', { ...form, csrf: csrfFrom(page.html) });
    expect([ok.status, ok.location]).toEqual([303, '/']);
    expect(saved).toEqual([{ transport: 'auto', proxy: { kind: 'socks5', host: '10.0.0.1', port: 1080, username: 'site', password: 'pr0xy-secret' } }]);
    await req('/network', { reset: '1', csrf: csrfFrom(page.html) });
    expect(saved.at(-1)).toBeNull();
  });
});
