// Two hub nodes of one cluster in this process, on one fresh PostgreSQL database, with an
// in-process device over loopback WireGuard (support/hub-cluster.ts): a device whose session is on
// node B is served through node A (HTTP bodies both ways, WebSocket, /.porthole/tcp) over B's
// internal listener; the API of either node names B as the holder; the internal listener refuses a
// wrong or missing secret; a device-login ticket is good once across both nodes; a disable through A
// is refused through B within a second; the guessing budgets are cluster-wide; a node with another
// WireGuard key refuses to start; SIGTERM hands B's device over to A. The packet relay for admin
// peers is in hub-cluster-relay.test.ts.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { throttles } from '@porthole/db';
import { probePostgres } from '@porthole/db/testing';
import { echoThrough } from '@porthole/hub/testing';
import { encodeKey, generatePrivateKey } from '@porthole/wireguard';
import { newDeviceKeys } from '../support/overlay-device.js';
import { requirementsMet } from '../support/requirements.js';
import { ADMIN_TOKEN, SECRET, api, clusterKit, request, until, type Node } from './support/hub-cluster.js';

const pgProblem = await probePostgres();
const ok = requirementsMet('hub cluster on PostgreSQL', { check: () => pgProblem });
const kit = clusterKit();

beforeAll(async () => {
  if (ok) await kit.open(['node-a', 'node-b']);
}, 60_000);

afterAll(() => kit.close(), 60_000);

describe.skipIf(!ok)('a hub cluster of two nodes', () => {
  const [a, b] = [() => kit.nodes[0]!, () => kit.nodes[1]!];

  it('serves a device held by node B through node A: HTTP both ways, WebSocket, /.porthole/tcp', async () => {
    const { registration, journals } = await kit.bringUp(b(), 'k1clus0001');
    expect(registration.hub.endpoint).toBe(`127.0.0.1:${b().wgPort}`);
    expect(new Set(registration.hub.endpoints)).toEqual(new Set([`127.0.0.1:${a().wgPort}`, `127.0.0.1:${b().wgPort}`]));
    expect((await api(a(), 'PATCH', '/devices/k1clus0001', { accessPolicy: 'public' })).status).toBe(200);
    const page = await until(async () => {
      const r = await request(a().port, 'k1clus0001.localhost', '/');
      return r.status === 200 ? r : undefined;
    }, 'the device page through node A');
    expect(page.body).toBe('hello from k1clus0001');
    expect(a().hub.reachability.locate(registration.tunnelIp)).toMatchObject({ kind: 'remote', node: { name: 'node-b' } });

    const upload = randomBytes(3 * 1024 * 1024 + 17);
    const echoed = await request(a().port, 'k1clus0001.localhost', '/echo', { method: 'POST', body: upload });
    expect(JSON.parse(echoed.body)).toEqual({ bytes: upload.length, sha256: createHash('sha256').update(upload).digest('hex') });
    const down = await request(a().port, 'k1clus0001.localhost', `/download?bytes=${4 * 1024 * 1024 + 5}`);
    expect(down.bytes.length).toBe(4 * 1024 * 1024 + 5);
    expect(createHash('sha256').update(down.bytes).digest('hex')).toBe(down.headers['x-sha256']);

    const ws = new WebSocket(`ws://127.0.0.1:${a().port}/socket`, { headers: { host: `k1clus0001.localhost:${a().port}` } });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const reply = new Promise<Buffer>((resolve) => ws.once('message', (m: Buffer) => resolve(m)));
    ws.send(Buffer.from('ping over two nodes'));
    expect((await reply).toString()).toBe('ping over two nodes');
    ws.close();

    const tcp = new WebSocket(`ws://127.0.0.1:${a().port}/.porthole/tcp?port=2222`, { headers: { host: `k1clus0001.localhost:${a().port}`, authorization: `Bearer ${ADMIN_TOKEN}` } });
    await new Promise((resolve, reject) => tcp.once('open', resolve).once('error', reject));
    const payload = randomBytes(300_000);
    expect((await echoThrough(tcp, payload)).equals(payload)).toBe(true);
    tcp.close();

    // Node A's visit journal reaches the device through node B, and the device stays on B (a
    // message straight from A would start a handshake there and pull the device over).
    const journal = await until(() => journals.find((j) => j.entries.some((e) => e.kind === 'tcp')), "node A's journal at the device", 20_000);
    expect(journal.entries.some((e) => e.port === 2222)).toBe(true);
    expect(b().hub.reachability.locate(registration.tunnelIp).kind).toBe('local');
    expect(a().hub.reachability.locate(registration.tunnelIp)).toMatchObject({ kind: 'remote', node: { name: 'node-b' } });
    // What /metrics reads: dials carried out of A, served by B.
    expect(a().hub.cluster!.dialer.remoteDials).toBeGreaterThan(0);
    expect(b().hub.cluster!.listener.stats.served).toBeGreaterThan(0);
  }, 40_000);

  it('names the holder in the device objects of either node, and lists both nodes', async () => {
    for (const node of [a(), b()]) {
      const d = await until(async () => {
        const r = await api(node, 'GET', '/devices/k1clus0001');
        return r.json.node === 'node-b' ? r.json : undefined;
      }, `node-b as holder on ${node.name}`);
      expect(d.online).toBe(true);
    }
    const list = await api(a(), 'GET', '/cluster/nodes');
    expect(list.status).toBe(200);
    const byName = Object.fromEntries(list.json.nodes.map((n: { name: string }) => [n.name, n]));
    expect(byName['node-a']).toMatchObject({ wgEndpoint: `127.0.0.1:${a().wgPort}`, alive: true, devicesOnline: 0 });
    expect(byName['node-b']).toMatchObject({ wgEndpoint: `127.0.0.1:${b().wgPort}`, alive: true, devicesOnline: 1 });
  });

  it('a portal form from node A is accepted by node B, and a device ticket issued by A is redeemed by B', async () => {
    const form = await request(a().port, 'localhost', '/login');
    expect(form.status).toBe(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!;
    const preSession = String(form.headers['set-cookie']).split(';')[0]!;
    const body = new URLSearchParams({ _csrf: csrf, email: 'admin@example.io', password: 'correct horse battery staple 42', next: '/' }).toString();
    const login = await request(b().port, 'localhost', '/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: preSession, origin: `http://localhost:${b().port}` },
      body,
    });
    expect(login.status).toBe(303);
    const session = (login.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
    // The admins' page of hub nodes lists both, alive, with the device on node B.
    const page = (await request(a().port, 'localhost', '/admin/cluster', { headers: { cookie: session } })).body;
    expect(page).toMatch(/node-a<\/td><td class="mono">127\.0\.0\.1:\d+<\/td><td>alive<\/td>/);
    expect(page).toMatch(/node-b<\/td><td class="mono">127\.0\.0\.1:\d+<\/td><td>alive<\/td><td[^>]*>[^<]*<\/td><td>1<\/td>/);
    const auth = await request(a().port, 'localhost', `/auth/device?host=k1clus0001.localhost:${a().port}&next=/`, { headers: { cookie: session } });
    expect(auth.status).toBe(303);
    const target = new URL(String(auth.headers.location));
    expect(target.pathname).toBe('/.porthole/auth');
    const redeemed = await request(b().port, 'k1clus0001.localhost', `${target.pathname}${target.search}`);
    expect(redeemed.status).toBe(302);
    expect(String(redeemed.headers['set-cookie'])).toMatch(/porthole_device/);
    // One use, cluster-wide: the same ticket is refused on A now.
    const again = await request(a().port, 'k1clus0001.localhost', `${target.pathname}${target.search}`);
    expect(again.status).not.toBe(302);
    // And when the visitor's redirect and a replay reach both nodes at once, exactly one gets in.
    for (let round = 0; round < 5; round++) {
      const issued = await request(b().port, 'localhost', `/auth/device?host=k1clus0001.localhost:${b().port}&next=/`, { headers: { cookie: session } });
      const link = new URL(String(issued.headers.location));
      const tries = await Promise.all([a(), b(), a(), b()].map((n) => request(n.port, 'k1clus0001.localhost', `${link.pathname}${link.search}`)));
      expect(tries.filter((r) => r.status === 302)).toHaveLength(1);
    }
  });

  it('refuses a dial to the internal listener without the secret or with another one', async () => {
    const tunnelIp = (await api(a(), 'GET', '/devices/k1clus0001')).json.tunnelIp;
    const path = `/cluster/v1/dial?address=${tunnelIp}&port=80`;
    for (const authorization of [undefined, `PortholeCluster node="node-a", ts="${Date.now()}", mac="${'A'.repeat(43)}"`, `Bearer ${SECRET}`]) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: b().clusterPort, path, headers: { connection: 'Upgrade', upgrade: 'porthole-dial', ...(authorization ? { authorization } : {}) } });
        req.once('upgrade', () => resolve(101));
        req.once('response', (res) => resolve(res.statusCode!));
        req.once('error', reject);
        req.end();
      });
      expect(status).toBe(401);
    }
    expect(b().hub.cluster!.listener.stats.unauthorized).toBeGreaterThanOrEqual(3);
  });

  it('a disable through node A is refused through node B within a second', async () => {
    expect((await request(b().port, 'k1clus0001.localhost', '/')).status).toBe(200);
    expect((await request(a().port, 'k1clus0001.localhost', '/')).status).toBe(200);
    expect((await api(a(), 'PATCH', '/devices/k1clus0001', { status: 'disabled' })).status).toBe(200);
    const started = Date.now();
    const refused = await until(
      async () => {
        const r = await request(b().port, 'k1clus0001.localhost', '/');
        return r.status !== 200 ? r : undefined;
      },
      'node B to refuse the disabled device',
      1_000,
    );
    expect(refused.body).not.toContain('hello from');
    expect(Date.now() - started).toBeLessThanOrEqual(1_000);
    expect((await api(b(), 'PATCH', '/devices/k1clus0001', { status: 'enabled' })).status).toBe(200);
  });

  it('the per-address guessing budgets are cluster-wide: failures on node A and node B count against one', async () => {
    // Refused enrollment tokens: 10 per address (a window of 10 minutes), wherever they were tried.
    const register = (node: Node) =>
      request(node.port, 'localhost', '/api/v1/devices/register', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ serial: 'k3budget01', publicKey: newDeviceKeys().publicKey, enrollmentToken: `ph_enr_${randomBytes(24).toString('base64url')}` }),
      });
    const enrollment: number[] = [];
    for (let i = 0; i < 12; i++) enrollment.push((await register(i % 2 === 0 ? a() : b())).status);
    expect(enrollment.slice(0, 10).every((s) => s === 401 || s === 400 || s === 404), JSON.stringify(enrollment)).toBe(true);
    expect(enrollment.slice(10)).toEqual([429, 429]);
    // Failed bearer authentications: 20 per address, then 429 on either node.
    const bad = (node: Node) => request(node.port, 'localhost', '/api/v1/devices', { headers: { authorization: `Bearer ph_api_${randomBytes(24).toString('base64url')}` } });
    const auth: number[] = [];
    for (let i = 0; i < 22; i++) auth.push((await bad(i % 2 === 0 ? a() : b())).status);
    expect(auth.slice(0, 20)).toEqual(Array(20).fill(401));
    expect(auth.slice(20)).toEqual([429, 429]);
    // A valid token is not held back by the address's failures.
    expect((await api(b(), 'GET', '/devices/k1clus0001')).status).toBe(200);
    // The counters are rows of the throttles table: gone from there, both nodes take registrations again.
    await kit.db.db.delete(throttles);
    expect((await register(b())).status).not.toBe(429);
    // Request rates too: claim starts (10 per address) alternating between the nodes, then 429 on both.
    await kit.db.db.delete(throttles);
    const claim = (node: Node, i: number) =>
      request(node.port, 'localhost', '/api/v1/claims', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ serial: `k3claim${String(i).padStart(3, '0')}`, publicKey: newDeviceKeys().publicKey }),
      });
    const claims: number[] = [];
    for (let i = 0; i < 12; i++) claims.push((await claim(i % 2 === 0 ? a() : b(), i)).status);
    expect(claims).toEqual([...Array(10).fill(201), 429, 429]);
    await kit.db.db.delete(throttles);
  });

  it('a node with another WireGuard key refuses to start and says why', async () => {
    await expect(kit.startNode('node-c', { PORTHOLE_WG_KEY: encodeKey(generatePrivateKey()) })).rejects.toThrow(/not the hub's: the database records public key/);
  });

  it('SIGTERM: node B tells its device to move, the device handshakes with A, and A serves it', async () => {
    const { registration, moves } = await kit.bringUp(b(), 'k1clus0002');
    expect((await api(a(), 'PATCH', '/devices/k1clus0002', { accessPolicy: 'public' })).status).toBe(200);
    await until(async () => ((await request(a().port, 'k1clus0002.localhost', '/')).status === 200 ? true : undefined), 'k1clus0002 through node A');
    expect(a().hub.reachability.locate(registration.tunnelIp).kind).toBe('remote');
    const nodeB = b();
    const closing = kit.stop(nodeB);
    await until(() => (moves.length > 0 ? true : undefined), 'the move message');
    expect(moves[0]).toEqual({ from: 'node-b', fromEndpoint: `127.0.0.1:${nodeB.wgPort}`, endpoints: [`127.0.0.1:${a().wgPort}`] });
    await closing;
    const page = await until(async () => {
      const r = await request(a().port, 'k1clus0002.localhost', '/');
      return r.status === 200 ? r : undefined;
    }, 'k1clus0002 served by node A itself');
    expect(page.body).toBe('hello from k1clus0002');
    expect(a().hub.reachability.locate(registration.tunnelIp).kind).toBe('local');
  });
});
