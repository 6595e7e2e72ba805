// The admin peers' packet relay on loopback: packets framed over one signed stream per node pair
// reach the other node with the sender's name; a stream that breaks is opened again by the next
// packet; a bad frame closes the stream; answers to an admin peer go back to the node its packets
// came from until that peer handshakes here (fake clock).
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIpv4Address } from '@porthole/netstack';
import { silentLogger } from '../ops/logger.js';
import { verifyClusterRequest } from './cluster-auth.js';
import { createPacketRelay, RELAY_PATH, RELAY_UPGRADE, type PacketRelay } from './cluster-relay.js';
import { ClusterView } from './cluster-view.js';
import type { Reachability } from './reachability.js';

const SECRET = 'relay test secret';
const ADMIN = '100.64.0.2';
const DEVICE = '100.64.0.10';

let clock = 1_000_000;
const now = () => clock;
let server: http.Server;
let url: string;
const received: Array<{ from: string; packet: Uint8Array }> = [];
const inbound: Duplex[] = [];
let receiver: PacketRelay;

function view(self: string): ClusterView {
  const v = new ClusterView(self, now);
  const lease = { startedAtMs: 0, lastSeenAtMs: clock, leaseExpiresAtMs: Number.MAX_SAFE_INTEGER };
  v.setNodes([
    { name: 'node-a', wgEndpoint: '127.0.0.1:1', clusterUrl: 'http://127.0.0.1:9', ...lease },
    { name: 'node-b', wgEndpoint: '127.0.0.1:2', clusterUrl: url, ...lease },
  ]);
  return v;
}

const reachability = (remote: Record<string, string>): Reachability => ({
  locate: (ip) => (remote[ip] ? { kind: 'remote', node: { name: remote[ip]!, wgEndpoint: '', clusterUrl: url, startedAtMs: 0, lastSeenAtMs: 0, leaseExpiresAtMs: 0 } } : { kind: 'local' }),
  nodeOf: () => null,
});

function packet(n: number, length = 40): Uint8Array {
  const p = new Uint8Array(length);
  p[0] = 0x45;
  p[length - 1] = n;
  return p;
}

async function until<T>(fn: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const auth = verifyClusterRequest(SECRET, req.headers.authorization, req.method ?? '', req.url ?? '');
    if (!auth.ok || req.url !== RELAY_PATH || req.headers.upgrade !== RELAY_UPGRADE) return void socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n');
    inbound.push(socket);
    receiver.accept(socket, head, auth.node);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  receiver = createPacketRelay({
    secret: SECRET,
    nodeName: 'node-b',
    view: view('node-b'),
    reachability: reachability({}),
    handshakeAgeMs: () => undefined,
    deliver: (from, p) => void received.push({ from, packet: p }),
    logger: silentLogger,
    now,
  });
});

afterAll(async () => {
  receiver.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('the packet relay between cluster nodes', () => {
  it('carries packets to the node named, whole and in order, with the sender authenticated; the next packet reopens a broken stream', async () => {
    const sender = createPacketRelay({ secret: SECRET, nodeName: 'node-a', view: view('node-a'), reachability: reachability({}), handshakeAgeMs: () => undefined, deliver: () => {}, logger: silentLogger, now });
    try {
      for (let i = 0; i < 50; i++) sender.send('node-b', packet(i, 40 + i * 20));
      await until(() => (received.length >= 50 ? true : undefined), '50 packets');
      expect(received.map((r) => r.from)).toEqual(Array(50).fill('node-a'));
      expect(received.map((r) => [r.packet.length, r.packet[r.packet.length - 1]])).toEqual(Array.from({ length: 50 }, (_, i) => [40 + i * 20, i]));
      expect(sender.stats).toMatchObject({ sent: 50, dropped: 0, streamsOpened: 1 });
      // The stream breaks: the next packet after it opens another one.
      inbound.splice(0).forEach((s) => s.destroy());
      await new Promise((r) => setTimeout(r, 100)); // the sender sees its stream close
      sender.send('node-b', packet(99));
      await until(() => (received.length >= 51 ? true : undefined), 'the packet on a new stream');
      expect(sender.stats.streamsOpened).toBe(2);
      // Too long for the overlay: never sent.
      sender.send('node-b', packet(1, 4000));
      expect(sender.stats.dropped).toBe(1);
    } finally {
      sender.close();
    }
  });

  it('refuses a stream under another secret, and closes one that sends a frame longer than a packet', async () => {
    const before = received.length;
    const stranger = createPacketRelay({ secret: 'another secret', nodeName: 'node-a', view: view('node-a'), reachability: reachability({}), handshakeAgeMs: () => undefined, deliver: () => {}, logger: silentLogger, now });
    stranger.send('node-b', packet(7));
    await until(() => (stranger.stats.dropped === 1 ? true : undefined), 'the refusal');
    stranger.close();
    expect(received.length).toBe(before);
    // A signed stream with a frame of 65535 bytes: closed, nothing delivered.
    const { signClusterRequest } = await import('./cluster-auth.js');
    const socket = await new Promise<Duplex>((resolve, reject) => {
      const req = http.request(`${url}${RELAY_PATH}`, { headers: { connection: 'Upgrade', upgrade: RELAY_UPGRADE, authorization: signClusterRequest(SECRET, 'node-a', 'GET', RELAY_PATH) } });
      req.once('upgrade', (_res, s: Duplex) => resolve(s));
      req.once('error', reject);
      req.end();
    });
    const closed = new Promise((r) => socket.once('close', r));
    socket.on('error', () => {});
    socket.write(Buffer.from([0xff, 0xff, 1, 2, 3]));
    await closed;
    expect(receiver.stats.refused).toBe(1);
    expect(received.length).toBe(before);
  });

  it("routes a device's packet to its holder, and an admin peer's answers to the node its packets came from until the peer handshakes here", () => {
    let handshakeAge: number | undefined;
    const relay = createPacketRelay({
      secret: SECRET,
      nodeName: 'node-a',
      view: view('node-a'),
      reachability: reachability({ [DEVICE]: 'node-b' }),
      handshakeAgeMs: () => handshakeAge,
      deliver: () => {},
      logger: silentLogger,
      now,
    });
    expect(relay.route(parseIpv4Address(DEVICE), 'device')).toBe('node-b');
    expect(relay.route(parseIpv4Address('100.64.0.11'), 'device')).toBeUndefined();
    expect(relay.route(parseIpv4Address(ADMIN), 'admin')).toBeUndefined();
    relay.learned(parseIpv4Address(ADMIN), 'node-b');
    expect(relay.route(parseIpv4Address(ADMIN), 'admin')).toBe('node-b');
    // A handshake here older than the last relayed packet changes nothing; a newer one wins.
    clock += 10_000;
    handshakeAge = 20_000;
    expect(relay.route(parseIpv4Address(ADMIN), 'admin')).toBe('node-b');
    handshakeAge = 1_000;
    expect(relay.route(parseIpv4Address(ADMIN), 'admin')).toBeUndefined();
    // Without packets for longer than a session lives, the record is forgotten.
    handshakeAge = undefined;
    relay.learned(parseIpv4Address(ADMIN), 'node-b');
    clock += 181_000;
    expect(relay.route(parseIpv4Address(ADMIN), 'admin')).toBeUndefined();
    relay.close();
  });
});
