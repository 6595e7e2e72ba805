// An in-process hub and in-process devices (WireGuard + netstack + HTTP app) over real
// loopback UDP: registration, proxied GET/POST/streaming/WebSocket by Host header, the owner auth
// flow with cookies, disable taking effect within a second, and device-to-device isolation.
import { createHash, randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { Hub } from '@porthole/hub';
import { TEST_ADMIN_EMAIL as ADMIN_EMAIL, TEST_ADMIN_PASSWORD as ADMIN_PASSWORD, request as hubRequest, startTestHub, type HubRequestInit, type TestHub } from '@porthole/hub/testing';
import { until } from '../support/until.js';
import { streamBytes } from '../support/stream-bytes.js';
import { answerDigest, enrollDevice, startOverlayDevice, type OverlayDevice, type Registration } from '../support/overlay-device.js';


let t: TestHub;
let hub: Hub;
let port: number;
let dataDir: string;
const devices: OverlayDevice[] = [];
/** Every request the device app saw, to check what the proxy let through. */
const seen: http.IncomingHttpHeaders[] = [];

/** A request to the hub's HTTP port under `host`. */
const request = (host: string, path: string, init: Omit<HubRequestInit, 'hostWithPort'> = {}) => hubRequest(port, host, path, { timeoutMs: 30_000, ...init, hostWithPort: true });

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await request('localhost', `/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${t.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: res.body ? JSON.parse(res.body) : undefined };
}

function deviceApp(serial: string): http.RequestListener {
  return (req, res) => {
    seen.push(req.headers);
    const url = new URL(req.url!, 'http://device');
    if (url.pathname === '/echo' && req.method === 'POST') return answerDigest(req, res);
    if (url.pathname === '/download') {
      const size = Number(url.searchParams.get('bytes'));
      const seed = createHash('sha256').update(serial).digest();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
      return streamBytes(res, size, (sent, n) => Buffer.alloc(n, seed[(sent / 65536) % 32]!));
    }
    if (url.pathname === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let n = 0;
      const timer = setInterval(() => {
        res.write(`data: tick ${++n}\n\n`);
        if (n === 3) {
          clearInterval(timer);
          res.end();
        }
      }, 20);
      return;
    }
    res.setHeader('set-cookie', 'device_sid=abc; Domain=localhost; Path=/; HttpOnly');
    res.end(`hello from ${serial}`);
  };
}

async function bringUp(serial: string) {
  const { keys, registration } = await enrollDevice({ httpPort: port, adminToken: t.adminToken }, serial);
  const device = await startOverlayDevice(keys, registration, deviceApp(serial));
  const upgrades = new WebSocketServer({ noServer: true });
  device.server.on('upgrade', (req, socket, head) =>
    upgrades.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data, binary) => ws.send(data, { binary }))),
  );
  devices.push(device);
  return { device, registration };
}

beforeAll(async () => {
  t = await startTestHub({ name: 'overlay' });
  ({ hub, httpPort: port, dataDir } = t);
});

afterAll(async () => {
  for (const d of devices) await d.close();
  await t?.close();
});

describe('hub over the overlay', () => {
  it('keeps its WireGuard key in the data directory with mode 0600', () => {
    expect(statSync(join(dataDir, 'hub.key')).mode & 0o777).toBe(0o600);
  });

  it('registers a device, completes a handshake and proxies a public device by Host header', async () => {
    const { registration } = await bringUp('an10000001');
    expect(registration.url).toBe(`http://an10000001.localhost:${port}/`);
    expect((await api('PATCH', '/devices/an10000001', { accessPolicy: 'public' })).status).toBe(200);
    const res = await until(async () => {
      const r = await request('an10000001.localhost', '/');
      return r.status === 200 ? r : undefined;
    }, 'the device page through the proxy');
    expect(res.body).toBe('hello from an10000001');
    // A device cookie with a Domain attribute comes back host-only.
    expect(String(res.headers['set-cookie'])).not.toMatch(/domain=/i);
    // Status flows back to the database: the device shows a handshake and an endpoint.
    await until(async () => {
      const d = (await api('GET', '/devices/an10000001')).json;
      return d.lastHandshakeAt && d.lastEndpoint?.startsWith('127.0.0.1:') ? d : undefined;
    }, 'peer status in the registry');
  });

  it('streams uploads and downloads through the tunnel intact', async () => {
    const upload = randomBytes(3 * 1024 * 1024 + 17);
    const echoed = await request('an10000001.localhost', '/echo', { method: 'POST', body: upload, headers: { 'content-type': 'application/octet-stream' } });
    expect(echoed.status).toBe(200);
    expect(JSON.parse(echoed.body)).toEqual({ bytes: upload.length, sha256: createHash('sha256').update(upload).digest('hex') });

    const size = 5 * 1024 * 1024 + 3;
    const down = await request('an10000001.localhost', `/download?bytes=${size}`);
    expect(down.status).toBe(200);
    expect(down.bytes.length).toBe(size);
  });

  it('passes Server-Sent Events and WebSocket upgrades through', async () => {
    const sse = await request('an10000001.localhost', '/events');
    expect(sse.headers['content-type']).toBe('text/event-stream');
    expect(sse.body).toBe('data: tick 1\n\ndata: tick 2\n\ndata: tick 3\n\n');

    const ws = new WebSocket(`ws://127.0.0.1:${port}/live`, { headers: { host: `an10000001.localhost:${port}` } });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const payload = randomBytes(100_000);
    const echoed = new Promise<Buffer>((resolve) => ws.once('message', (d) => resolve(d as Buffer)));
    ws.send(payload);
    expect(Buffer.compare(await echoed, payload)).toBe(0);
    ws.close();
  });

  it('sends a visitor of an owners-only device through portal login, and never forwards portal credentials', async () => {
    await bringUp('an10000002');
    const first = await request('an10000002.localhost', '/settings?x=1');
    expect(first.status).toBe(302);
    const login = new URL(first.headers.location!);
    expect(login.host).toBe(`localhost:${port}`);
    expect(login.pathname).toBe('/auth/device');

    const { session } = await hub.registry.login({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD, clientIp: '127.0.0.1' });
    const portalCookie = `porthole_session=${session.token}`;
    const ticketHop = await request('localhost', `${login.pathname}${login.search}`, { headers: { cookie: portalCookie } });
    expect([302, 303]).toContain(ticketHop.status);
    const redeem = new URL(ticketHop.headers.location!);
    expect(redeem.host).toBe(`an10000002.localhost:${port}`);
    expect(redeem.pathname).toBe('/.porthole/auth');

    const landed = await request('an10000002.localhost', `${redeem.pathname}${redeem.search}`);
    expect([302, 303]).toContain(landed.status);
    expect(landed.headers.location).toMatch(/\/settings\?x=1$/);
    const deviceCookie = String(landed.headers['set-cookie']).split(';')[0]!;
    expect(deviceCookie).toMatch(/^porthole_device=/);
    expect(String(landed.headers['set-cookie'])).toMatch(/HttpOnly/i);
    expect(String(landed.headers['set-cookie'])).not.toMatch(/domain=/i);

    // A replayed ticket is refused.
    const replay = await request('an10000002.localhost', `${redeem.pathname}${redeem.search}`);
    expect(replay.status).not.toBe(302);

    seen.length = 0;
    const page = await until(async () => {
      const r = await request('an10000002.localhost', '/settings?x=1', {
        headers: { cookie: `${deviceCookie}; ${portalCookie}; theme=dark`, authorization: `Bearer ${t.adminToken}` },
      });
      return r.status === 200 ? r : undefined;
    }, 'the owners-only device page');
    expect(page.body).toBe('hello from an10000002');
    const headers = seen.at(-1)!;
    expect(headers.cookie).toBe('theme=dark');
    expect(headers.authorization).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain(session.token);
    expect(JSON.stringify(seen)).not.toContain(t.adminToken);
  });

  it('refuses a disabled device from the first request after the change is answered, with a page that says why', async () => {
    const before = await request('an10000001.localhost', '/');
    expect(before.status).toBe(200);
    expect((await api('PATCH', '/devices/an10000001', { status: 'disabled' })).status).toBe(200);
    // Ordering, not a stopwatch: once the API has answered, no request reaches the device.
    const refused = await request('an10000001.localhost', '/');
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/disabled/i);
    expect(hub.overlay.wireguard.device.getPeer(devices[0]!.wireguard.device.publicKey)).toBeUndefined();
    expect((await api('PATCH', '/devices/an10000001', { status: 'enabled' })).status).toBe(200);
  });

  it('drops a device trying to reach another device through the hub', async () => {
    const a = (await hub.registry.getDevice('an10000002')).tunnelIp;
    // Device B routes the whole overlay into its tunnel (as the agent does), so its packets do reach the hub.
    const { device: b } = await bringUp('an10000003');
    const dropsBefore = hub.overlay.router.drops.get('device_to_device') ?? 0;
    // B may talk to the hub (its tunnel works) ...
    const toHub = await new Promise<string>((resolve) => {
      const s = b.netstack.connect({ host: hub.registry.hub.tunnelIp, port: 80, timeoutMs: 5000 });
      s.once('connect', () => resolve('connected')).once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      s.once('connect', () => s.destroy());
    });
    expect(toHub).toBe('ECONNREFUSED'); // the hub answers with RST: nothing listens on its port 80
    // ... but its SYNs towards device A never arrive.
    const toA = await new Promise<string>((resolve) => {
      const s = b.netstack.connect({ host: a, port: 80, timeoutMs: 2000 });
      s.once('connect', () => resolve('connected')).once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(toA).toBe('ETIMEDOUT');
    expect(hub.overlay.router.drops.get('device_to_device') ?? 0).toBeGreaterThan(dropsBefore);
    // The drop and the data plane's activity are visible to Prometheus.
    const scrape = await hub.http.metrics.render();
    expect(scrape).toMatch(/porthole_dataplane_drops_total\{layer="router",reason="device_to_device"\} [1-9]/);
    expect(scrape).toMatch(/porthole_wg_handshakes_total [1-9]/);
    expect(scrape).toMatch(/porthole_wg_peers\{state="configured"\} 3/);
    // Active: the peers whose status says they have a session (counted without building the statuses).
    const active = hub.overlay.wireguard.device.peers().filter((p) => p.hasSession).length;
    expect(active).toBeGreaterThan(0);
    expect(scrape).toContain(`porthole_wg_peers{state="active"} ${active}\n`);
    expect(scrape).toMatch(/porthole_wg_bytes_total\{direction="rx"\} [1-9]/);
    expect(scrape).toMatch(/porthole_proxy_requests_total\{status="200",kind="http"\} [1-9]/);
  });
});
