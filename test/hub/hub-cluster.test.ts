// Two hub nodes of one cluster in this process, on one fresh PostgreSQL database, with an
// in-process device over loopback WireGuard: a device whose session is on node B is served through
// node A (HTTP bodies both ways, WebSocket, /.porthole/tcp) over B's internal listener; the API of
// either node names B as the holder; the internal listener refuses a wrong or missing secret; a
// disable through A is refused through B within a second; a node with another WireGuard key
// refuses to start; SIGTERM hands B's device over to A. An admin WireGuard peer (userspace) on node
// A reaches B's device over the packet relay, and the relay refuses strangers and devices.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createControlServer, DEVICE_CONTROL_PORT, journalMessageSchema, moveMessageSchema, route, type JournalMessage } from '@porthole/device-control';
import { throttles } from '@porthole/db';
import { createTestDatabase, probePostgres, type TestDatabase } from '@porthole/db/testing';
import { createHub, loadConfig, type Hub } from '@porthole/hub';
import { createNetstack, type Netstack } from '@porthole/netstack';
import { UdpBind, encodeKey, generatePrivateKey, startWireGuardNode } from '@porthole/wireguard';
import { freePort } from '../support/free-port.js';
import { newDeviceKeys, startOverlayDevice, type OverlayDevice, type Registration } from '../support/overlay-device.js';
import { requirementsMet } from '../support/requirements.js';

const pgProblem = await probePostgres();
const ok = requirementsMet('hub cluster on PostgreSQL', { check: () => pgProblem });

const ADMIN_TOKEN = `ph_api_${randomBytes(24).toString('base64url')}`;
const SECRET = randomBytes(32).toString('base64');
const WG_KEY = encodeKey(generatePrivateKey());

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface Node {
  name: string;
  hub: Hub;
  port: number;
  clusterPort: number;
  wgPort: number;
  dataDir: string;
}

let db: TestDatabase;
const nodes: Node[] = [];
const devices: OverlayDevice[] = [];

/** The internal listener's Authorization header, as the hub README documents it. */
function signClusterRequest(secret: string, node: string, method: string, path: string): string {
  const ts = Date.now();
  const mac = createHmac('sha256', secret).update(`porthole-cluster-v1\n${node}\n${ts}\n${method}\n${path}`).digest('base64url');
  return `PortholeCluster node="${node}", ts="${ts}", mac="${mac}"`;
}

function request(port: number, host: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: { host: `${host}:${port}`, ...init.headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

async function api(node: Node, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await request(node.port, 'localhost', `/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: res.body.length ? JSON.parse(res.body.toString()) : undefined };
}

async function until<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function startNode(name: string, overrides: Record<string, string> = {}): Promise<Node> {
  const dataDir = mkdtempSync(join(tmpdir(), `k1-${name}-`));
  const port = await freePort();
  const clusterPort = await freePort();
  const bind = await UdpBind.open({ host: '127.0.0.1' });
  const config = loadConfig(
    {
      DATABASE_URL: db.url!,
      PORTHOLE_DATA_DIR: dataDir,
      PORTHOLE_HTTP_PORT: String(port),
      PORTHOLE_LISTEN_HOST: '127.0.0.1',
      PORTHOLE_WG_ENDPOINT: `127.0.0.1:${bind.localPort}`,
      PORTHOLE_ADMIN_EMAIL: 'admin@example.io',
      PORTHOLE_ADMIN_PASSWORD: 'correct horse battery staple 42',
      PORTHOLE_ADMIN_TOKEN: ADMIN_TOKEN,
      PORTHOLE_NODE_NAME: name,
      PORTHOLE_CLUSTER_LISTEN: `127.0.0.1:${clusterPort}`,
      PORTHOLE_CLUSTER_SECRET: SECRET,
      PORTHOLE_WG_KEY: WG_KEY,
      PORTHOLE_SHUTDOWN_GRACE_MS: '3000',
      ...overrides,
    },
    (path) => readFileSync(path, 'utf8'),
  );
  try {
    const hub = await createHub({ config, bind, statusFlushMs: 200 });
    await hub.listen();
    const node = { name, hub, port, clusterPort, wgPort: bind.localPort!, dataDir };
    nodes.push(node);
    return node;
  } catch (err) {
    await bind.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

function deviceApp(serial: string): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url!, 'http://device');
    if (url.pathname === '/echo' && req.method === 'POST') {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        bytes += c.length;
      });
      req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
      return;
    }
    if (url.pathname === '/download') {
      const body = randomBytes(Number(url.searchParams.get('bytes')));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-sha256': createHash('sha256').update(body).digest('hex') });
      res.end(body);
      return;
    }
    res.end(`hello from ${serial}`);
  };
}

/** Registers through `node` (so the device dials that node's endpoint) and brings the device up. */
async function bringUp(node: Node, serial: string) {
  const token = await api(node, 'POST', '/enrollment-tokens', { description: serial, maxUses: 1 });
  expect(token.status).toBe(201);
  const keys = newDeviceKeys();
  const res = await request(node.port, 'localhost', '/api/v1/devices/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ serial, publicKey: keys.publicKey, enrollmentToken: token.json.token }),
  });
  expect(res.status).toBe(201);
  const registration = JSON.parse(res.body.toString()) as Registration & { hub: { endpoints?: string[] } };
  const device = await startOverlayDevice(keys, registration, deviceApp(serial));
  // WebSocket echo on port 80, a TCP echo on overlay port 2222.
  const upgrades = new WebSocketServer({ noServer: true });
  device.server.on('upgrade', (req, socket, head) => upgrades.handleUpgrade(req, socket, head, (ws) => ws.on('message', (d, binary) => ws.send(d, { binary }))));
  device.netstack.listen(2222, (socket) => socket.pipe(socket));
  // The agent's side of `move`: point the hub peer at the first endpoint offered and handshake there.
  const moves: unknown[] = [];
  const journals: JournalMessage[] = [];
  const control = createControlServer({
    accept: () => true,
    handlers: {
      journal: route(journalMessageSchema, (message) => void journals.push(message)),
      move: route(moveMessageSchema, (message) => {
        moves.push(message);
        const target = message.endpoints[0]!;
        const i = target.lastIndexOf(':');
        // After the answer has left through the old session: a fresh peer (no session) at the new
        // endpoint, and a packet to start its handshake (a SYN to the hub's tunnel address).
        setTimeout(() => {
          const peer = device.wireguard.device.getPeer(registration.hub.publicKey)!;
          device.wireguard.device.removePeer(registration.hub.publicKey);
          device.wireguard.device.addPeer({
            publicKey: registration.hub.publicKey,
            allowedIps: peer.allowedIps,
            endpoint: { address: target.slice(0, i), port: Number(target.slice(i + 1)) },
            persistentKeepaliveSeconds: registration.persistentKeepalive,
          });
          device.netstack.connect({ host: registration.hub.tunnelIp, port: 9 }).on('error', () => {});
        }, 50);
      }),
    },
  });
  device.netstack.listen(DEVICE_CONTROL_PORT, (socket) => control.handle(socket));
  devices.push(device);
  return { device, registration, moves, journals };
}

beforeAll(async () => {
  if (!ok) return;
  db = await createTestDatabase('postgres');
  await startNode('node-a');
  await startNode('node-b');
}, 60_000);

afterAll(async () => {
  for (const d of devices) await d.close().catch(() => {});
  for (const n of nodes) {
    await n.hub.close().catch(() => {});
    rmSync(n.dataDir, { recursive: true, force: true });
  }
  await db?.drop();
}, 60_000);

describe.skipIf(!ok)('a hub cluster of two nodes', () => {
  const [a, b] = [() => nodes[0]!, () => nodes[1]!];

  it('serves a device held by node B through node A: HTTP both ways, WebSocket, /.porthole/tcp', async () => {
    const { registration, journals } = await bringUp(b(), 'k1clus0001');
    expect(registration.hub.endpoint).toBe(`127.0.0.1:${b().wgPort}`);
    expect(new Set(registration.hub.endpoints)).toEqual(new Set([`127.0.0.1:${a().wgPort}`, `127.0.0.1:${b().wgPort}`]));
    expect((await api(a(), 'PATCH', '/devices/k1clus0001', { accessPolicy: 'public' })).status).toBe(200);
    const page = await until(async () => {
      const r = await request(a().port, 'k1clus0001.localhost', '/');
      return r.status === 200 ? r : undefined;
    }, 'the device page through node A');
    expect(page.body.toString()).toBe('hello from k1clus0001');
    expect(a().hub.reachability.locate(registration.tunnelIp)).toMatchObject({ kind: 'remote', node: { name: 'node-b' } });

    const upload = randomBytes(3 * 1024 * 1024 + 17);
    const echoed = await request(a().port, 'k1clus0001.localhost', '/echo', { method: 'POST', body: upload });
    expect(JSON.parse(echoed.body.toString())).toEqual({ bytes: upload.length, sha256: createHash('sha256').update(upload).digest('hex') });
    const down = await request(a().port, 'k1clus0001.localhost', `/download?bytes=${4 * 1024 * 1024 + 5}`);
    expect(down.body.length).toBe(4 * 1024 * 1024 + 5);
    expect(createHash('sha256').update(down.body).digest('hex')).toBe(down.headers['x-sha256']);

    const ws = new WebSocket(`ws://127.0.0.1:${a().port}/socket`, { headers: { host: `k1clus0001.localhost:${a().port}` } });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const reply = new Promise<Buffer>((resolve) => ws.once('message', (m: Buffer) => resolve(m)));
    ws.send(Buffer.from('ping over two nodes'));
    expect((await reply).toString()).toBe('ping over two nodes');
    ws.close();

    const tcp = new WebSocket(`ws://127.0.0.1:${a().port}/.porthole/tcp?port=2222`, { headers: { host: `k1clus0001.localhost:${a().port}`, authorization: `Bearer ${ADMIN_TOKEN}` } });
    await new Promise((resolve, reject) => tcp.once('open', resolve).once('error', reject));
    const payload = randomBytes(300_000);
    let got = Buffer.alloc(0);
    const all = new Promise<void>((resolve) =>
      tcp.on('message', (m: Buffer) => {
        got = Buffer.concat([got, m]);
        if (got.length >= payload.length) resolve();
      }),
    );
    tcp.send(payload);
    await all;
    expect(got.equals(payload)).toBe(true);
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
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body.toString())![1]!;
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
    const page = (await request(a().port, 'localhost', '/admin/cluster', { headers: { cookie: session } })).body.toString();
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

  it('an admin WireGuard peer on node A reaches a device held by node B over the packet relay, both ways; the relay refuses strangers and devices', async () => {
    const tunnelIp = (await api(a(), 'GET', '/devices/k1clus0001')).json.tunnelIp as string;
    expect(a().hub.reachability.locate(tunnelIp)).toMatchObject({ kind: 'remote', node: { name: 'node-b' } });
    // A userspace admin peer (WireGuard + netstack) whose session is with node A.
    const adminKeys = newDeviceKeys();
    const created = await api(a(), 'POST', '/admin-peers', { name: 'k3 laptop', publicKey: adminKeys.publicKey });
    expect(created.status).toBe(201);
    const config = created.json.config as string;
    const hubKey = /^PublicKey = (\S+)$/m.exec(config)![1]!;
    const overlayCidr = /^AllowedIPs = (\S+)$/m.exec(config)![1]!;
    const bind = await UdpBind.open({ host: '127.0.0.1' });
    let stack: Netstack | undefined;
    const wg = await startWireGuardNode({ privateKey: adminKeys.privateKey, bind, onPacket: (p) => stack!.receive(p) });
    stack = createNetstack({ address: created.json.tunnelIp, onTransmit: (p) => void wg.send(p) });
    const admin = stack;
    wg.device.addPeer({ publicKey: hubKey, allowedIps: [overlayCidr], endpoint: { address: '127.0.0.1', port: a().wgPort }, persistentKeepaliveSeconds: 25 });
    try {
      const relayedBefore = b().hub.cluster!.relay.stats.received;
      // A TCP connection from the admin peer to the device's echo port (2222), data both ways.
      const payload = randomBytes(200_000);
      const echoed = await until(
        () =>
          new Promise<Buffer | undefined>((resolve) => {
            const socket = admin.connect({ host: tunnelIp, port: 2222, timeoutMs: 3_000 });
            const chunks: Buffer[] = [];
            let bytes = 0;
            socket.on('error', () => resolve(undefined));
            socket.on('connect', () => socket.write(payload));
            socket.on('data', (c: Buffer) => {
              chunks.push(c);
              bytes += c.length;
              if (bytes >= payload.length) {
                socket.destroy();
                resolve(Buffer.concat(chunks));
              }
            });
          }),
        'the admin peer to reach the device held by node B',
        20_000,
      );
      expect(echoed.equals(payload)).toBe(true);
      // It went over the relay (A's router sent, B's received and passed), and the device stayed on B.
      expect(a().hub.overlay.router.relayedOut).toBeGreaterThan(0);
      expect(b().hub.cluster!.relay.stats.received).toBeGreaterThan(relayedBefore);
      expect(b().hub.overlay.router.relayedIn).toBeGreaterThan(0);
      expect(b().hub.overlay.router.relayedOut).toBeGreaterThan(0); // the device's answers, back to A
      expect(a().hub.overlay.router.relayedIn).toBeGreaterThan(0);
      expect(b().hub.reachability.locate(tunnelIp).kind).toBe('local');
    } finally {
      admin.close();
      await wg.close();
    }

    // The relay channel without the secret, or under another one: 401, nothing read from it.
    const frame = (packet: Uint8Array) => Buffer.concat([Buffer.from([packet.length >> 8, packet.length & 0xff]), packet]);
    const deviceToDevice = (src: string, dst: string) => {
      const p = Buffer.alloc(40);
      p[0] = 0x45;
      p.writeUInt16BE(40, 2);
      p[8] = 64;
      p[9] = 6;
      p.set(src.split('.').map(Number), 12);
      p.set(dst.split('.').map(Number), 16);
      p.writeUInt16BE(40000, 20);
      p.writeUInt16BE(2222, 22);
      p[32] = 0x50;
      p[33] = 0x02; // SYN
      return p;
    };
    const other = await bringUp(a(), 'k1clus0003');
    const openRelay = (authorization: string | undefined) =>
      new Promise<{ status: number; socket?: import('node:net').Socket }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: b().clusterPort, path: '/cluster/v1/relay', headers: { connection: 'Upgrade', upgrade: 'porthole-relay', ...(authorization ? { authorization } : {}) } });
        req.once('upgrade', (_res, socket) => resolve({ status: 101, socket }));
        req.once('response', (res) => resolve({ status: res.statusCode! }));
        req.once('error', reject);
        req.end(frame(deviceToDevice(other.registration.tunnelIp, tunnelIp)));
      });
    const unauthorizedBefore = b().hub.cluster!.listener.stats.unauthorized;
    const receivedBefore = b().hub.cluster!.relay.stats.received;
    for (const authorization of [undefined, signClusterRequest(randomBytes(32).toString('base64'), 'node-a', 'GET', '/cluster/v1/relay')]) {
      expect((await openRelay(authorization)).status).toBe(401);
    }
    expect(b().hub.cluster!.listener.stats.unauthorized).toBe(unauthorizedBefore + 2);
    expect(b().hub.cluster!.relay.stats.received).toBe(receivedBefore);

    // A device cannot use the relay to reach another device: from its own node (dropped there,
    // nothing relayed) nor as a packet on the channel with the secret (dropped by B's router).
    other.device.netstack.connect({ host: other.registration.hub.tunnelIp, port: 9 }).on('error', () => {});
    await until(() => (a().hub.reachability.locate(other.registration.tunnelIp).kind === 'local' ? true : undefined), 'the second device online on node A');
    const d2dA = a().hub.overlay.router.drops.get('device_to_device') ?? 0;
    const relayedOutA = a().hub.overlay.router.relayedOut;
    const refused = await new Promise<string>((resolve) => {
      const socket = other.device.netstack.connect({ host: tunnelIp, port: 2222, timeoutMs: 2_000 });
      socket.on('connect', () => resolve('connected'));
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(refused).not.toBe('connected');
    expect(a().hub.overlay.router.drops.get('device_to_device') ?? 0, JSON.stringify(Object.fromEntries(a().hub.overlay.router.drops))).toBeGreaterThan(d2dA);
    expect(a().hub.overlay.router.relayedOut).toBe(relayedOutA);
    const d2dB = b().hub.overlay.router.drops.get('device_to_device') ?? 0;
    const relayedInB = b().hub.overlay.router.relayedIn;
    const signed = await openRelay(signClusterRequest(SECRET, 'node-a', 'GET', '/cluster/v1/relay'));
    expect(signed.status).toBe(101);
    await until(() => ((b().hub.overlay.router.drops.get('device_to_device') ?? 0) > d2dB ? true : undefined), "node B's router to drop the relayed device-to-device packet");
    expect(b().hub.overlay.router.relayedIn).toBe(relayedInB);
    signed.socket!.destroy();
  }, 60_000);

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
    expect(refused.body.toString()).not.toContain('hello from');
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
    await db.db.delete(throttles);
    expect((await register(b())).status).not.toBe(429);
    // Request rates too: claim starts (10 per address) alternating between the nodes, then 429 on both.
    await db.db.delete(throttles);
    const claim = (node: Node, i: number) =>
      request(node.port, 'localhost', '/api/v1/claims', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ serial: `k3claim${String(i).padStart(3, '0')}`, publicKey: newDeviceKeys().publicKey }),
      });
    const claims: number[] = [];
    for (let i = 0; i < 12; i++) claims.push((await claim(i % 2 === 0 ? a() : b(), i)).status);
    expect(claims).toEqual([...Array(10).fill(201), 429, 429]);
    await db.db.delete(throttles);
  });

  it('a node with another WireGuard key refuses to start and says why', async () => {
    await expect(startNode('node-c', { PORTHOLE_WG_KEY: encodeKey(generatePrivateKey()) })).rejects.toThrow(/not the hub's: the database records public key/);
  });

  it('SIGTERM: node B tells its device to move, the device handshakes with A, and A serves it', async () => {
    const { registration, moves } = await bringUp(b(), 'k1clus0002');
    expect((await api(a(), 'PATCH', '/devices/k1clus0002', { accessPolicy: 'public' })).status).toBe(200);
    await until(async () => ((await request(a().port, 'k1clus0002.localhost', '/')).status === 200 ? true : undefined), 'k1clus0002 through node A');
    expect(a().hub.reachability.locate(registration.tunnelIp).kind).toBe('remote');
    const closing = b().hub.close();
    await until(() => (moves.length > 0 ? true : undefined), 'the move message');
    expect(moves[0]).toEqual({ from: 'node-b', fromEndpoint: `127.0.0.1:${b().wgPort}`, endpoints: [`127.0.0.1:${a().wgPort}`] });
    await closing;
    nodes.splice(1, 1);
    const page = await until(async () => {
      const r = await request(a().port, 'k1clus0002.localhost', '/');
      return r.status === 200 ? r : undefined;
    }, 'k1clus0002 served by node A itself');
    expect(page.body.toString()).toBe('hello from k1clus0002');
    expect(a().hub.reachability.locate(registration.tunnelIp).kind).toBe('local');
  });
});
