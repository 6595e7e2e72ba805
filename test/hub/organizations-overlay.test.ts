// Organisations on a real hub with in-process devices over loopback WireGuard, one device in each
// of two organisations. Organisation API tokens on device hosts: technician, admin and owner tokens
// open their organisation's devices (HTTP, any method, /.porthole/tcp) without the token reaching
// the device; a viewer token is refused; another organisation's device answers exactly like an
// unknown serial, public or not; personal tokens keep their scope rules (read = GET and HEAD only).
// Admin WireGuard peers: an organisation's admins add them, and a userspace peer reaches its own
// organisation's device but not the other's (the overlay router drops those packets).
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createNetstack, type Netstack } from '@porthole/netstack';
import { UdpBind, startWireGuardNode } from '@porthole/wireguard';
import { startTestHub, type TestHub } from '@porthole/hub/testing';
import { until } from '../agent/support/hub-harness.js';
import { enrollDevice, newDeviceKeys, startOverlayDevice, type OverlayDevice } from '../support/overlay-device.js';

interface Reply {
  status: number;
  body: string;
}

let t: TestHub;
const devices: OverlayDevice[] = [];
/** The Authorization header each request reaching a device carried (undefined: none). */
const authorizationSeen: Array<string | undefined> = [];

function request(host: string, path: string, init: { method?: string; token?: string; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: `${host}:${t.httpPort}`, accept: 'application/json' };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const req = http.request({ host: '127.0.0.1', port: t.httpPort, path, method: init.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

async function api(method: string, path: string, body?: unknown, token = t.adminToken): Promise<{ status: number; json: any }> {
  const res = await request('localhost', `/api/v1${path}`, { method, token, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, json: res.body ? JSON.parse(res.body) : undefined };
}

const tunnelIps: Record<string, string> = {};
const organizations = { acme: '', globex: '' };

async function bringUp(serial: string, organizationId: string): Promise<void> {
  const { keys, registration } = await enrollDevice(t, serial, { organizationId });
  tunnelIps[serial] = registration.tunnelIp;
  const device = await startOverlayDevice(keys, registration, (req, res) => {
    authorizationSeen.push(req.headers.authorization);
    req.resume();
    req.on('end', () => res.end(`${req.method} on ${serial}`));
  });
  devices.push(device);
}

/** The answer without its request id (which differs on every request). */
const withoutRequestId = (r: Reply) => ({ status: r.status, body: r.body.replace(/"requestId":"[^"]*"/, '').replace(/<dt>Request<\/dt><dd>[^<]*<\/dd>/, '') });

/** Opens /.porthole/tcp to port 80 of the device: the status of a refusal, or the device's answer to a raw HTTP request. */
function tcp(serial: string, token: string): Promise<{ refused: number } | { reply: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${t.httpPort}/.porthole/tcp?port=80`, { headers: { host: `${serial}.localhost:${t.httpPort}`, authorization: `Bearer ${token}` } });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve({ refused: res.statusCode! });
    });
    ws.once('error', reject);
    ws.once('open', () => {
      let reply = '';
      ws.on('message', (m: Buffer) => {
        reply += m.toString();
        if (reply.includes(`on ${serial}`)) {
          ws.close();
          resolve({ reply });
        }
      });
      ws.send(Buffer.from(`GET / HTTP/1.1\r\nHost: device\r\nConnection: close\r\n\r\n`));
    });
  });
}

const tokens: Record<'technician' | 'admin' | 'owner' | 'viewer' | 'otherTechnician' | 'otherAdmin', string> = { technician: '', admin: '', owner: '', viewer: '', otherTechnician: '', otherAdmin: '' };

beforeAll(async () => {
  t = await startTestHub({ name: 'org-tokens' });
  const acme = (organizations.acme = (await api('POST', '/organizations', { name: 'Acme meters' })).json.id as string);
  const globex = (organizations.globex = (await api('POST', '/organizations', { name: 'Globex' })).json.id as string);
  for (const role of ['technician', 'admin', 'owner', 'viewer'] as const) {
    const made = await api('POST', `/organizations/${acme}/api-tokens`, { name: `acme ${role}`, role });
    expect(made.status).toBe(201);
    tokens[role] = made.json.token;
  }
  tokens.otherTechnician = (await api('POST', `/organizations/${globex}/api-tokens`, { name: 'globex technician', role: 'technician' })).json.token;
  tokens.otherAdmin = (await api('POST', `/organizations/${globex}/api-tokens`, { name: 'globex admin', role: 'admin' })).json.token;
  await bringUp('ot10000001', acme);
  await bringUp('ot20000001', globex);
  // Globex's device is public: anyone opens it anonymously, but an Acme token still does not.
  expect((await api('PATCH', '/devices/ot20000001', { accessPolicy: 'public' })).status).toBe(200);
  await until(async () => ((await request('ot20000001.localhost', '/')).status === 200 ? true : undefined), 'the public device online');
  await until(async () => ((await request('ot10000001.localhost', '/', { token: tokens.technician })).status === 200 ? true : undefined), 'the Acme device online');
}, 60_000);

afterAll(async () => {
  for (const d of devices) await d.close();
  await t?.close();
});

describe('organisation tokens on device hosts', () => {
  it('technician, admin and owner tokens open their organisation device with any method; the token never reaches the device', async () => {
    authorizationSeen.length = 0;
    for (const role of ['technician', 'admin', 'owner'] as const) {
      const get = await request('ot10000001.localhost', '/page', { token: tokens[role] });
      expect(get).toEqual({ status: 200, body: 'GET on ot10000001' });
      const post = await request('ot10000001.localhost', '/settings', { method: 'POST', token: tokens[role], body: '{}' });
      expect(post).toEqual({ status: 200, body: 'POST on ot10000001' });
    }
    expect(authorizationSeen).toHaveLength(6);
    expect(authorizationSeen.every((a) => a === undefined)).toBe(true);
  });

  it('forwards TCP for a technician token and refuses the viewer role', async () => {
    const opened = await tcp('ot10000001', tokens.technician);
    expect('reply' in opened && opened.reply).toMatch(/^HTTP\/1\.1 200[\s\S]*GET on ot10000001$/);
    expect(await tcp('ot10000001', tokens.viewer)).toEqual({ refused: 403 });
  });

  it('refuses a viewer token on its own organisation device, for every method', async () => {
    const get = await request('ot10000001.localhost', '/', { token: tokens.viewer });
    expect(get.status).toBe(403);
    expect(get.body).toContain('viewer role');
    expect((await request('ot10000001.localhost', '/', { method: 'POST', token: tokens.viewer, body: '{}' })).status).toBe(403);
  });

  it("answers another organisation's device exactly like an unknown serial, even a public one, and over TCP", async () => {
    const unknown = withoutRequestId(await request('ot99999999.localhost', '/'));
    expect(unknown.status).toBe(404);
    for (const token of [tokens.technician, tokens.owner, tokens.viewer]) {
      expect(withoutRequestId(await request('ot20000001.localhost', '/', { token }))).toEqual(unknown);
    }
    expect(withoutRequestId(await request('ot10000001.localhost', '/', { token: tokens.otherTechnician }))).toEqual(unknown);
    expect(await tcp('ot20000001', tokens.technician)).toEqual({ refused: 404 });
    // Anonymously the public device opens as before, and Globex's own token opens it.
    expect((await request('ot20000001.localhost', '/')).status).toBe(200);
    expect((await request('ot20000001.localhost', '/', { token: tokens.otherTechnician })).status).toBe(200);
  });

  it('stops a revoked organisation token at once', async () => {
    const { acme } = organizations;
    const made = await api('POST', `/organizations/${acme}/api-tokens`, { name: 'short-lived', role: 'technician' });
    expect((await request('ot10000001.localhost', '/', { token: made.json.token })).status).toBe(200);
    expect((await api('DELETE', `/organizations/${acme}/api-tokens/${made.json.id}`)).status).toBeLessThan(300);
    expect((await request('ot10000001.localhost', '/', { token: made.json.token })).status).toBe(401);
  });

  it('keeps the scope rules of personal tokens: read allows GET and HEAD only', async () => {
    const read = await api('POST', '/api-tokens', { name: 'reader', scopes: ['read'] });
    expect(read.status).toBe(201);
    expect((await request('ot10000001.localhost', '/', { token: read.json.token })).status).toBe(200);
    expect((await request('ot10000001.localhost', '/', { method: 'POST', token: read.json.token, body: '{}' })).status).toBe(403);
    expect(await tcp('ot10000001', read.json.token)).toEqual({ refused: 403 });
  });
});

/** A userspace admin peer (WireGuard + netstack) on the hub's overlay, from the wg-quick file the API gave. */
async function startAdminPeer(created: { tunnelIp: string; config: string }, privateKey: Uint8Array) {
  const hubKey = /^PublicKey = (\S+)$/m.exec(created.config)![1]!;
  const overlayCidr = /^AllowedIPs = (\S+)$/m.exec(created.config)![1]!;
  const bind = await UdpBind.open({ host: '127.0.0.1' });
  let stack: Netstack | undefined;
  const wg = await startWireGuardNode({ privateKey, bind, onPacket: (p) => stack!.receive(p) });
  stack = createNetstack({ address: created.tunnelIp, onTransmit: (p) => void wg.send(p) });
  wg.device.addPeer({ publicKey: hubKey, allowedIps: [overlayCidr], endpoint: { address: '127.0.0.1', port: t.udpPort }, persistentKeepaliveSeconds: 25 });
  const admin = stack;
  return {
    /** GET / on port 80 of `host` over the overlay: the answer's text, or undefined when no connection opened in time. */
    get: (host: string, timeoutMs: number) =>
      new Promise<string | undefined>((resolve) => {
        const socket = admin.connect({ host, port: 80, timeoutMs });
        let text = '';
        socket.on('error', () => resolve(undefined));
        socket.on('connect', () => socket.write('GET / HTTP/1.1\r\nHost: device\r\nConnection: close\r\n\r\n'));
        socket.on('data', (c: Buffer) => (text += c.toString()));
        socket.on('end', () => resolve(text));
      }),
    async close() {
      admin.close();
      await wg.close();
    },
  };
}

describe("an organisation's admin WireGuard peers", () => {
  it('owners and admins add them, technicians and viewers may not; other organisations neither see nor delete them', async () => {
    const body = (n: string) => ({ name: `laptop ${n}`, publicKey: newDeviceKeys().publicKey });
    for (const role of ['technician', 'viewer'] as const) expect((await api('POST', '/admin-peers', body(role), tokens[role])).status).toBe(403);
    const made = await api('POST', '/admin-peers', body('owner'), tokens.owner);
    expect(made.status).toBe(201);
    expect(made.json.organizationId).toBe(organizations.acme);
    // Globex's token cannot name Acme, does not see the peer, and deleting it answers like an unknown peer.
    const named = await api('POST', '/admin-peers', { ...body('x'), organizationId: organizations.acme }, tokens.otherAdmin);
    expect(named.status).toBe(404);
    expect((await api('GET', '/admin-peers', undefined, tokens.otherAdmin)).json).toEqual([]);
    const unknownId = '00000000-0000-4000-8000-0000000000aa';
    const asOther = await api('DELETE', `/admin-peers/${made.json.id}`, undefined, tokens.otherAdmin);
    const asUnknown = await api('DELETE', `/admin-peers/${unknownId}`, undefined, tokens.otherAdmin);
    expect({ status: asOther.status, body: JSON.stringify(asOther.json).replace(made.json.id, 'ID') }).toEqual({ status: asUnknown.status, body: JSON.stringify(asUnknown.json).replace(unknownId, 'ID') });
    expect((await api('GET', '/admin-peers', undefined, tokens.viewer)).json.map((p: { id: string }) => p.id)).toContain(made.json.id);
    expect((await api('DELETE', `/admin-peers/${made.json.id}`, undefined, tokens.admin)).status).toBe(204);
  });

  it("reaches its own organisation's device over the overlay, and nothing of another organisation's", async () => {
    const keys = newDeviceKeys();
    const created = await api('POST', '/admin-peers', { name: 'acme laptop', publicKey: keys.publicKey }, tokens.admin);
    expect(created.status).toBe(201);
    const peer = await startAdminPeer(created.json, keys.privateKey);
    try {
      const own = await until(async () => {
        const text = await peer.get(tunnelIps.ot10000001!, 2_000);
        return text?.includes('GET on ot10000001') ? text : undefined;
      }, "the admin peer to reach its organisation's device", 20_000);
      expect(own).toMatch(/^HTTP\/1\.1 200/);
      const dropsBefore = t.hub.overlay.router.drops.get('other_organization') ?? 0;
      expect(await peer.get(tunnelIps.ot20000001!, 3_000)).toBeUndefined();
      expect(t.hub.overlay.router.drops.get('other_organization') ?? 0).toBeGreaterThan(dropsBefore);
    } finally {
      await peer.close();
    }
    // A superadmin names the organisation: the same laptop, now Globex's peer, reaches Globex's device only.
    expect((await api('DELETE', `/admin-peers/${created.json.id}`)).status).toBe(204);
    const moved = await api('POST', '/admin-peers', { name: 'globex laptop', publicKey: keys.publicKey, organizationId: organizations.globex });
    expect(moved.json.organizationId).toBe(organizations.globex);
    const again = await startAdminPeer(moved.json, keys.privateKey);
    try {
      await until(async () => ((await again.get(tunnelIps.ot20000001!, 2_000))?.includes('GET on ot20000001') ? true : undefined), "the peer to reach Globex's device", 20_000);
      expect(await again.get(tunnelIps.ot10000001!, 3_000)).toBeUndefined();
    } finally {
      await again.close();
    }
  });
});
