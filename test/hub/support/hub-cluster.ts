// Two (or more) hub nodes of one cluster in this process, on one fresh PostgreSQL database, each
// started with startTestHub, and in-process devices over loopback WireGuard that answer the hub's
// control messages (the journal, and `move` as the agent does it). The cluster tests build on it.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import { expect } from 'vitest';
import { WebSocketServer } from 'ws';
import { createControlServer, DEVICE_CONTROL_PORT, journalMessageSchema, moveMessageSchema, route, type JournalMessage } from '@porthole/device-control';
import { createTestDatabase, type TestDatabase } from '@porthole/db/testing';
import type { Hub } from '@porthole/hub';
import { request as hubRequest, startTestHub, type HubRequestInit, type TestHub } from '@porthole/hub/testing';
import { encodeKey, generatePrivateKey } from '@porthole/wireguard';
import { freePort } from '../../support/free-port.js';
import { answerDigest, enrollDevice, startOverlayDevice, type OverlayDevice, type Registration } from '../../support/overlay-device.js';

export type { SimpleResponse as Reply } from '@porthole/hub/testing';

/** A request to node `port` as a browser sends it there: `Host: <host>:<port>`. */
export const request = (port: number, host: string, path: string, init: Omit<HubRequestInit, 'hostWithPort'> = {}) =>
  hubRequest(port, host, path, { timeoutMs: 30_000, ...init, hostWithPort: true });
export { until } from '../../support/until.js';

export const ADMIN_TOKEN = `ph_api_${randomBytes(24).toString('base64url')}`;
export const SECRET = randomBytes(32).toString('base64');
const WG_KEY = encodeKey(generatePrivateKey());

export interface Node {
  name: string;
  readonly hub: Hub;
  port: number;
  clusterPort: number;
  wgPort: number;
  /** Closes the hub (handing its devices over) and removes its data dir. */
  close(): Promise<void>;
}

/** The internal listener's Authorization header, as the hub README documents it. */
export function signClusterRequest(secret: string, node: string, method: string, path: string): string {
  const ts = Date.now();
  const mac = createHmac('sha256', secret).update(`porthole-cluster-v1\n${node}\n${ts}\n${method}\n${path}`).digest('base64url');
  return `PortholeCluster node="${node}", ts="${ts}", mac="${mac}"`;
}

export async function api(node: Node, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await request(node.port, 'localhost', `/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: res.body ? JSON.parse(res.body) : undefined };
}

export interface ClusterKit {
  readonly db: TestDatabase;
  /** The running nodes, in start order (a node closed by a test is taken out). */
  readonly nodes: Node[];
  /** The fresh database and the named nodes; call from beforeAll. */
  open(names: string[]): Promise<void>;
  startNode(name: string, overrides?: Record<string, string>): Promise<Node>;
  /** Registers through `node` (so the device dials that node's endpoint) and brings the device up. */
  bringUp(node: Node, serial: string): Promise<{ device: OverlayDevice; registration: Registration & { hub: { endpoints?: string[] } }; moves: unknown[]; journals: JournalMessage[] }>;
  /** Removes `node` from `nodes` and closes it. */
  stop(node: Node): Promise<void>;
  close(): Promise<void>;
}

export function clusterKit(): ClusterKit {
  let db: TestDatabase | undefined;
  const nodes: Node[] = [];
  const devices: OverlayDevice[] = [];

  async function startNode(name: string, overrides: Record<string, string> = {}): Promise<Node> {
    const clusterPort = await freePort();
    const test: TestHub = await startTestHub({
      name: `cluster-${name}`,
      env: {
        DATABASE_URL: db!.url!,
        PORTHOLE_ADMIN_TOKEN: ADMIN_TOKEN,
        PORTHOLE_NODE_NAME: name,
        PORTHOLE_CLUSTER_LISTEN: `127.0.0.1:${clusterPort}`,
        PORTHOLE_CLUSTER_SECRET: SECRET,
        PORTHOLE_WG_KEY: WG_KEY,
        PORTHOLE_SHUTDOWN_GRACE_MS: '3000',
        ...overrides,
      },
    });
    const node: Node = {
      name,
      get hub() {
        return test.hub;
      },
      port: test.httpPort,
      clusterPort,
      wgPort: test.udpPort,
      close: () => test.close(),
    };
    nodes.push(node);
    return node;
  }

  async function bringUp(node: Node, serial: string) {
    const { keys, registration } = await enrollDevice({ httpPort: node.port, adminToken: ADMIN_TOKEN }, serial);
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

  return {
    get db() {
      return db!;
    },
    nodes,
    async open(names) {
      db = await createTestDatabase('postgres');
      for (const name of names) await startNode(name);
    },
    startNode,
    bringUp,
    async stop(node) {
      nodes.splice(nodes.indexOf(node), 1);
      await node.close();
    },
    async close() {
      for (const d of devices) await d.close().catch(() => {});
      for (const n of nodes) await n.close().catch(() => {});
      await db?.drop();
    },
  };
}

/** The device's web server: POST /echo answers the body's length and hash, /download?bytes=n sends n random bytes with their hash, anything else a greeting. */
function deviceApp(serial: string): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url!, 'http://device');
    if (url.pathname === '/echo' && req.method === 'POST') return answerDigest(req, res);
    if (url.pathname === '/download') {
      const body = randomBytes(Number(url.searchParams.get('bytes')));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-sha256': createHash('sha256').update(body).digest('hex') });
      res.end(body);
      return;
    }
    res.end(`hello from ${serial}`);
  };
}
