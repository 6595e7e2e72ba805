// The browser consoles follow /.porthole/tcp's rules on a real hub with a real agent: the pages need
// a signed-in visitor even on a public device; the SSH WebSocket needs Origin equal to the device's
// own origin when a cookie authenticates it, and the connect or write scope when a token does; the
// client code is served by the hub with the digests the pages name, under a strict CSP.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startAgentHarness, type AgentHarness } from '../agent/support/agent-harness.js';
import { until, useHubHarness } from '../agent/support/hub-harness.js';

const SERIAL = 'an55100001';
const VISITOR = { email: 'console-auth@example.io', password: 'a long visitor password' };

const hub = useHubHarness();
let agent: AgentHarness;
let deviceCookie: string;
const tokens: Record<'read' | 'connect', string> = { read: '', connect: '' };
const host = `${SERIAL}.localhost`;

beforeAll(async () => {
  const { json } = await hub.api('POST', '/enrollment-tokens', { description: 'console auth', maxUses: 1 });
  agent = await startAgentHarness({ hubUrl: hub.portalUrl, serial: SERIAL, enrollmentToken: json.token });
  await until(() => agent.agent.status().phase === 'online', 'the agent online', 15_000);
  const registry = hub.hub.registry;
  const visitor = await registry.signUp(VISITOR);
  await registry.setDeviceOwner(SERIAL, visitor.id);
  tokens.read = (await registry.createApiToken({ userId: visitor.id, name: 'read', scopes: ['read'] })).token;
  tokens.connect = (await registry.createApiToken({ userId: visitor.id, name: 'connect', scopes: ['connect'] })).token;
  // A device session the way a browser gets one: the portal's ticket, redeemed on the device host.
  const login = await registry.login({ ...VISITOR, clientIp: '127.0.0.1' });
  const toTicket = await hub.request('localhost', `/auth/device?host=${host}:${hub.httpPort}&next=/`, { headers: { cookie: `porthole_session=${login.session.token}` } });
  const ticketUrl = new URL(toTicket.headers.location!);
  const redeemed = await hub.request(host, ticketUrl.pathname + ticketUrl.search);
  deviceCookie = String(redeemed.headers['set-cookie']).split(';')[0]!;
  expect(deviceCookie).toMatch(/^porthole_device=/);
});

afterAll(async () => {
  await agent?.close();
});

/** The status of a WebSocket handshake to /.porthole/ssh on the device host. */
function handshake(headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${hub.httpPort}/.porthole/ssh?port=22`, { headers: { host: `${host}:${hub.httpPort}`, ...headers } });
    ws.once('upgrade', (res) => {
      ws.terminate();
      resolve(res.statusCode!);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    ws.once('error', reject);
  });
}

describe('browser consoles: authorisation and delivery', () => {
  it('send a visitor without a session to the portal, even on a public device, and come back to the page', async () => {
    await hub.hub.registry.setAccessPolicy(SERIAL, 'public');
    try {
      for (const path of ['/.porthole/vnc?port=5900', '/.porthole/ssh?port=22']) {
        const res = await hub.request(host, path);
        expect(res.status).toBe(302);
        const location = new URL(res.headers.location!);
        expect(location.pathname).toBe('/auth/device');
        expect(location.searchParams.get('next')).toBe(path);
      }
    } finally {
      await hub.hub.registry.setAccessPolicy(SERIAL, 'owners');
    }
  });

  it('serve the page to the signed-in visitor with a strict CSP, and the assets with the digests the page names', async () => {
    const res = await hub.request(host, '/.porthole/vnc?port=5900', { headers: { cookie: deviceCookie } });
    expect(res.status).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain(`script-src http://${host}:${hub.httpPort}/.porthole/assets/ 'sha256-`);
    expect(csp).toContain(`connect-src ws://${host}:${hub.httpPort}/.porthole/tcp;`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    const importMap = JSON.parse(/<script type="importmap">(.*?)<\/script>/s.exec(res.body)![1]!) as { integrity: Record<string, string> };
    const rfb = '/.porthole/assets/novnc/core/rfb.js';
    expect(Object.keys(importMap.integrity).length).toBeGreaterThan(20);
    const asset = await hub.request(host, rfb);
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toMatch(/^text\/javascript/);
    expect(importMap.integrity[rfb]).toBe(`sha384-${createHash('sha384').update(asset.bytes).digest('base64')}`);
    // The inline import map is exactly what the CSP's hash allows.
    const inline = /<script type="importmap">(.*?)<\/script>/s.exec(res.body)![1]!;
    expect(csp).toContain(`'sha256-${createHash('sha256').update(inline).digest('base64')}'`);
    const ssh = await hub.request(host, '/.porthole/ssh?port=22', { headers: { cookie: deviceCookie } });
    const xterm = /<script src="(\/\.porthole\/assets\/xterm\/xterm\.js)" integrity="(sha384-[^"]+)"/.exec(ssh.body)!;
    const xtermBody = (await hub.request(host, xterm[1]!)).bytes;
    expect(xterm[2]).toBe(`sha384-${createHash('sha384').update(xtermBody).digest('base64')}`);
    expect((await hub.request(host, '/.porthole/assets/../../package.json')).status).not.toBe(200);
    expect((await hub.request(host, '/.porthole/vnc', { headers: { cookie: deviceCookie } })).status).toBe(400);
  });

  it('open the SSH WebSocket with the cookie only from the device’s own origin', async () => {
    expect(await handshake({ cookie: deviceCookie, origin: `http://${host}:${hub.httpPort}` })).toBe(101);
    expect(await handshake({ cookie: deviceCookie, origin: `http://an55100002.localhost:${hub.httpPort}` })).toBe(403);
    expect(await handshake({ cookie: deviceCookie })).toBe(403);
    expect(await handshake({ origin: `http://${host}:${hub.httpPort}` })).toBe(401);
  });

  it('open it with a token of the connect scope, not of the read scope', async () => {
    expect(await handshake({ authorization: `Bearer ${tokens.connect}` })).toBe(101);
    expect(await handshake({ authorization: `Bearer ${tokens.read}` })).toBe(403);
  });

  it('log each SSH session with its duration', async () => {
    const sessions = await until(async () => {
      const found = (await hub.hub.registry.searchAccessLog({ serial: SERIAL, limit: 200 })).entries.filter((e) => e.path === '/.porthole/ssh' && e.status === 101);
      return found.length >= 2 ? found : undefined;
    }, 'the SSH sessions in the access log');
    for (const s of sessions) expect(s.durationMs).toBeGreaterThanOrEqual(0);
    // Refused handshakes are logged too, with their status.
    expect((await hub.hub.registry.searchAccessLog({ serial: SERIAL, limit: 200 })).entries.some((e) => e.path === '/.porthole/ssh' && e.status === 403)).toBe(true);
  });
});
