// A real hub (createHub, PGlite, WireGuard on loopback) with two recording devices: hub API tokens
// never reach a device, whatever its policy; a read-scope token is held to GET and HEAD on device
// hosts (no POST, no device WebSocket, no /.porthole/tcp); connect gives full device access.
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { metricValue } from '@porthole/hub/testing';
import { startHubHarness, until, type HubHarness } from '../agent/support/hub-harness.js';
import { DEVICE_TCP_PORT, startRecordingDevice, type RecordingDevice } from './support/recording-device.js';

const OWNERS = 'an51000001';
const PUBLIC = 'an51000002';

describe('hub credentials on device hosts (real hub)', () => {
  let h: HubHarness;
  let owned: RecordingDevice;
  let open: RecordingDevice;
  const tokens = { read: '', connect: '', revoked: '' };

  beforeAll(async () => {
    h = await startHubHarness();
    const registry = h.hub.registry;
    const alice = await registry.signUp({ email: 'alice@example.io', password: 'correct horse battery' });
    const { token } = await registry.createEnrollmentToken({ createdBy: null, maxUses: 2 });
    owned = await startRecordingDevice(registry, OWNERS, token);
    open = await startRecordingDevice(registry, PUBLIC, token);
    await registry.setDeviceOwner(OWNERS, alice.id);
    await registry.setAccessPolicy(PUBLIC, 'public');
    tokens.read = (await registry.createApiToken({ userId: alice.id, name: 'dashboard', scopes: ['read'] })).token;
    tokens.connect = (await registry.createApiToken({ userId: alice.id, name: 'tunnels', scopes: ['connect'] })).token;
    const revoked = await registry.createApiToken({ userId: alice.id, name: 'old', scopes: ['read', 'write'] });
    await registry.revokeApiToken(revoked.info.id);
    tokens.revoked = revoked.token;
    await until(() => h.hub.overlay.isOnline(owned.registration.tunnelIp) && h.hub.overlay.isOnline(open.registration.tunnelIp), 'both devices online');
  });

  afterAll(async () => {
    await owned?.stop();
    await open?.stop();
    await h?.close();
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const host = (serial: string) => `${serial}.localhost`;

  it('never forwards a hub API token to a public device; the device’s own bearer token passes', async () => {
    for (const token of [tokens.read, tokens.connect, h.adminToken]) {
      const n = open.http.length;
      const res = await h.request(host(PUBLIC), '/status', { headers: bearer(token) });
      expect(res.status).toBe(200);
      expect(open.http[n]!.headers.authorization).toBeUndefined();
    }
    const own = 'a-device-issued-api-token-0123456789abcdef';
    const n = open.http.length;
    expect((await h.request(host(PUBLIC), '/status', { headers: bearer(own) })).status).toBe(200);
    expect(open.http[n]!.headers.authorization).toBe(`Bearer ${own}`);
  });

  it('refuses a revoked hub token with 401 on both policies, without reaching the device', async () => {
    const before = owned.total() + open.total();
    for (const serial of [OWNERS, PUBLIC]) {
      const res = await h.request(host(serial), '/', { headers: bearer(tokens.revoked) });
      expect(res.status).toBe(401);
      expect(res.body).toContain('API token in the Authorization header is unknown, revoked or expired');
    }
    expect(owned.total() + open.total()).toBe(before);
  });

  it('holds a read token to GET and HEAD: POST, the device WebSocket and /.porthole/tcp are refused before the device', async () => {
    const get = await h.request(host(OWNERS), '/status', { headers: bearer(tokens.read) });
    expect(get.status).toBe(200);
    expect((await h.request(host(OWNERS), '/status', { method: 'HEAD', headers: bearer(tokens.read) })).status).toBe(200);

    const before = owned.total();
    const post = await h.request(host(OWNERS), '/settings', { method: 'POST', headers: { ...bearer(tokens.read), 'content-type': 'text/plain' }, body: 'reboot' });
    expect(post.status).toBe(403);
    expect(post.body).toContain('read');
    expect(await upgradeStatus(`/.porthole/tcp?port=${DEVICE_TCP_PORT}`, bearer(tokens.read))).toBe(403);
    expect(await upgradeStatus('/ws', bearer(tokens.read))).toBe(403);
    expect(owned.total()).toBe(before);
    expect(await metricValue(h.hub.http.metrics.drops, { reason: 'token_scope' })).toBeGreaterThanOrEqual(3);
  });

  it('gives a connect token full device access: POST, the device WebSocket and /.porthole/tcp', async () => {
    const n = owned.http.length;
    const post = await h.request(host(OWNERS), '/settings', { method: 'POST', headers: bearer(tokens.connect), body: 'reboot' });
    expect(post.status).toBe(200);
    expect(JSON.parse(post.body)).toMatchObject({ method: 'POST', body: 'reboot' });
    expect(owned.http[n]!.headers.authorization).toBeUndefined();

    const tcp = await openSocket(`/.porthole/tcp?port=${DEVICE_TCP_PORT}`, bearer(tokens.connect));
    tcp.send(Buffer.from('ping'));
    const [echo] = (await once(tcp, 'message')) as [Buffer];
    expect(echo.toString()).toBe('ping');
    tcp.close();
    expect(owned.tcpConnections).toBe(1);

    const ws = await openSocket('/ws', bearer(tokens.connect));
    ws.send('hello');
    const [back] = (await once(ws, 'message')) as [Buffer];
    expect(back.toString()).toBe('hello');
    ws.close();
    expect(owned.websockets.at(-1)!.headers.authorization).toBeUndefined();
  });

  function socketTo(path: string, headers: Record<string, string>): WebSocket {
    return new WebSocket(`ws://127.0.0.1:${h.httpPort}${path}`, { headers: { host: `${host(OWNERS)}:${h.httpPort}`, ...headers } });
  }

  async function openSocket(path: string, headers: Record<string, string>): Promise<WebSocket> {
    const ws = socketTo(path, headers);
    await once(ws, 'open');
    return ws;
  }

  /** The HTTP status a WebSocket handshake is refused with (101 when it opens). */
  function upgradeStatus(path: string, headers: Record<string, string>): Promise<number> {
    const ws = socketTo(path, headers);
    return new Promise((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
        ws.terminate();
      });
      ws.once('open', () => {
        resolve(101);
        ws.close();
      });
      ws.once('error', (err) => reject(err));
    });
  }
});
