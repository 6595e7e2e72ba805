// Organisation API tokens on device hosts, on a real hub with in-process devices over loopback
// WireGuard: technician, admin and owner tokens open their organisation's devices (HTTP, any method,
// /.porthole/tcp) without the token reaching the device; a viewer token is refused; another
// organisation's device answers exactly like an unknown serial, public or not; personal tokens keep
// their scope rules (read = GET and HEAD only).
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestHub, type TestHub } from '@porthole/hub/testing';
import { until } from '../agent/support/hub-harness.js';
import { newDeviceKeys, startOverlayDevice, type OverlayDevice, type Registration } from '../support/overlay-device.js';

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

async function bringUp(serial: string, organizationId: string): Promise<void> {
  const enrollment = await api('POST', '/enrollment-tokens', { description: serial, maxUses: 1, organizationId });
  expect(enrollment.status).toBe(201);
  const keys = newDeviceKeys();
  const res = await request('localhost', '/api/v1/devices/register', {
    method: 'POST',
    body: JSON.stringify({ serial, publicKey: keys.publicKey, enrollmentToken: enrollment.json.token }),
  });
  expect(res.status).toBe(201);
  const device = await startOverlayDevice(keys, JSON.parse(res.body) as Registration, (req, res) => {
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

const tokens: Record<'technician' | 'admin' | 'owner' | 'viewer' | 'otherTechnician', string> = { technician: '', admin: '', owner: '', viewer: '', otherTechnician: '' };

beforeAll(async () => {
  t = await startTestHub({ name: 'org-tokens' });
  const acme = (await api('POST', '/organizations', { name: 'Acme meters' })).json.id as string;
  const globex = (await api('POST', '/organizations', { name: 'Globex' })).json.id as string;
  for (const role of ['technician', 'admin', 'owner', 'viewer'] as const) {
    const made = await api('POST', `/organizations/${acme}/api-tokens`, { name: `acme ${role}`, role });
    expect(made.status).toBe(201);
    tokens[role] = made.json.token;
  }
  tokens.otherTechnician = (await api('POST', `/organizations/${globex}/api-tokens`, { name: 'globex technician', role: 'technician' })).json.token;
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
    const acme = (await api('GET', '/organizations')).json.find((o: { name: string }) => o.name === 'Acme meters').id as string;
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
