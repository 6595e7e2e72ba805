// The packet relay between the nodes of a cluster, for admin WireGuard peers: an admin peer's
// session is on one node, a device's may be on another. The admin's node relays the admin's IP
// packets to the device's holder, which delivers them through its own session; the device's
// answers go back to the node the admin's packets came from. Sending them through this node's own
// WireGuard instead would use an older session and pull the peer to this node.
//
// The channel: one stream per ordered pair of nodes, opened by the sender as an HTTP/1.1 upgrade
// on the receiver's internal listener, signed like every cluster request (cluster-auth.ts):
//
//   GET /cluster/v1/relay HTTP/1.1
//   Connection: Upgrade
//   Upgrade: porthole-relay
//   Authorization: PortholeCluster node="hub-1", ts="<ms>", mac="<HMAC>"
//
//   → 101, then frames one way only (sender to receiver): a 2-byte big-endian length and one IPv4
//     packet. 401 without the secret (nothing is read from the stream).
//
// The receiver passes every packet through its overlay router again (OverlayRouter.fromRelay):
// admin peer to device or a device's answer in a flow an admin opened, never device to device,
// never to the hub. A stream that fails is dropped; the next packet opens a new one (packets in
// between are lost, as on any IP path; TCP inside resends them).
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { formatIpv4Address } from '@porthole/netstack';
import type { Logger } from '../ops/logger.js';
import type { PeerRole, RouterRelay } from '../dataplane/overlay-router.js';
import { signClusterRequest } from './cluster-auth.js';
import type { ClusterView } from './cluster-view.js';
import type { Reachability } from './reachability.js';

export const RELAY_PATH = '/cluster/v1/relay';
export const RELAY_UPGRADE = 'porthole-relay';
/** Largest packet carried (the overlay MTU is 1420; anything longer is a broken or hostile peer). */
export const RELAY_MAX_PACKET = 2048;
/** Packets held while a stream opens, per node. */
const QUEUE_LIMIT = 512;
/** Bytes buffered in a stream beyond which packets are dropped (a slow receiver; TCP inside backs off). */
const BUFFER_LIMIT = 4 * 1024 * 1024;
/** After a stream failed to open, packets for that node are dropped this long before the next try. */
const RETRY_AFTER_MS = 1_000;
/** How long an admin peer's packets relayed from a node route its answers there. */
const ADMIN_ORIGIN_TTL_MS = 180_000;

export interface PacketRelayOptions {
  secret: string;
  nodeName: string;
  view: ClusterView;
  reachability: Reachability;
  /** Milliseconds since this node's last handshake with the peer at `tunnelIp` (undefined: none). */
  handshakeAgeMs(tunnelIp: string): number | undefined;
  /** A packet another node relayed here (authenticated): the router's fromRelay. */
  deliver(fromNode: string, packet: Uint8Array): void;
  logger: Logger;
  now?: () => number;
}

interface Outbound {
  socket?: Duplex;
  queue: Buffer[];
  failedAtMs?: number;
  opening: boolean;
}

export function createPacketRelay(o: PacketRelayOptions) {
  const log = o.logger.child({ component: 'cluster-relay' });
  const now = o.now ?? Date.now;
  const out = new Map<string, Outbound>();
  const inbound = new Set<Duplex>();
  /** Admin peer address → the node its packets last came relayed from, and when. */
  const adminOrigin = new Map<number, { node: string; atMs: number }>();
  const stats = { sent: 0, received: 0, dropped: 0, refused: 0, streamsOpened: 0 };
  let closed = false;

  function frame(packet: Uint8Array): Buffer {
    const b = Buffer.allocUnsafe(2 + packet.length);
    b.writeUInt16BE(packet.length, 0);
    b.set(packet, 2);
    return b;
  }

  function open(name: string, entry: Outbound): void {
    const url = o.view.node(name)?.clusterUrl;
    if (!url || closed) {
      entry.queue.length = 0;
      entry.failedAtMs = now();
      return;
    }
    entry.opening = true;
    const req = http.request(new URL(RELAY_PATH, url), {
      method: 'GET',
      agent: false,
      timeout: 5_000,
      headers: { connection: 'Upgrade', upgrade: RELAY_UPGRADE, authorization: signClusterRequest(o.secret, o.nodeName, 'GET', RELAY_PATH) },
    });
    const failed = (why: string) => {
      if (!entry.opening) return;
      entry.opening = false;
      entry.failedAtMs = now();
      stats.dropped += entry.queue.length;
      entry.queue.length = 0;
      log.debug('relay stream not opened', { node: name, why });
    };
    req.once('upgrade', (_res, socket: Socket) => {
      entry.opening = false;
      if (closed || out.get(name) !== entry) return void socket.destroy();
      stats.streamsOpened++;
      socket.setNoDelay(true);
      socket.setTimeout(0);
      socket.on('error', () => {});
      socket.on('data', () => {}); // the receiver never writes; keep the stream flowing
      socket.once('close', () => {
        if (out.get(name) === entry) out.delete(name);
      });
      entry.socket = socket;
      for (const b of entry.queue.splice(0)) socket.write(b);
    });
    req.once('response', (res) => {
      res.resume();
      failed(`status ${res.statusCode}`);
    });
    req.once('timeout', () => req.destroy(new Error('timed out')));
    req.once('error', (err) => failed(String(err)));
    req.end();
  }

  const relay = {
    stats,
    /** What the overlay router asks: relay a packet for `dst` to which node, if any. */
    route(dst: number, role: PeerRole): string | undefined {
      const ip = formatIpv4Address(dst);
      if (role === 'device') {
        const reach = o.reachability.locate(ip);
        return reach.kind === 'remote' ? reach.node.name : undefined;
      }
      // An admin peer: back to the node its packets came from, unless it has handshaken here since.
      const origin = adminOrigin.get(dst);
      if (!origin) return undefined;
      const t = now();
      if (t - origin.atMs > ADMIN_ORIGIN_TTL_MS || !o.view.isAlive(origin.node)) {
        adminOrigin.delete(dst);
        return undefined;
      }
      const age = o.handshakeAgeMs(ip);
      if (age !== undefined && t - age > origin.atMs) return undefined;
      return origin.node;
    },
    learned(admin: number, node: string): void {
      adminOrigin.set(admin, { node, atMs: now() });
    },
    send(name: string, packet: Uint8Array): void {
      if (closed || name === o.nodeName || packet.length > RELAY_MAX_PACKET) return void stats.dropped++;
      let entry = out.get(name);
      if (!entry) out.set(name, (entry = { queue: [], opening: false }));
      if (entry.socket) {
        if (entry.socket.writableLength > BUFFER_LIMIT) return void stats.dropped++;
        stats.sent++;
        entry.socket.write(frame(packet));
        return;
      }
      if (entry.opening) {
        if (entry.queue.length >= QUEUE_LIMIT) return void stats.dropped++;
        stats.sent++;
        entry.queue.push(frame(packet));
        return;
      }
      if (entry.failedAtMs !== undefined && now() - entry.failedAtMs < RETRY_AFTER_MS) return void stats.dropped++;
      stats.sent++;
      entry.queue.push(frame(packet));
      open(name, entry);
    },
    /** The listener's side: an authenticated relay upgrade from node `from`. */
    accept(socket: Duplex, head: Buffer, from: string): void {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${RELAY_UPGRADE}\r\n\r\n`);
      inbound.add(socket);
      socket.once('close', () => inbound.delete(socket));
      let pending: Buffer = head.length > 0 ? Buffer.from(head) : Buffer.alloc(0);
      const drain = () => {
        while (pending.length >= 2) {
          const length = pending.readUInt16BE(0);
          if (length === 0 || length > RELAY_MAX_PACKET) {
            stats.refused++;
            log.warn('relay stream sent a bad frame', { from, length });
            return void socket.destroy();
          }
          if (pending.length < 2 + length) return;
          const packet = new Uint8Array(pending.subarray(2, 2 + length));
          pending = pending.subarray(2 + length);
          stats.received++;
          o.deliver(from, packet);
        }
      };
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        drain();
      });
      drain();
    },
    close(): void {
      closed = true;
      for (const entry of out.values()) entry.socket?.destroy();
      out.clear();
      for (const s of inbound) s.destroy();
      inbound.clear();
    },
  } satisfies RouterRelay & Record<string, unknown>;
  return relay;
}

export type PacketRelay = ReturnType<typeof createPacketRelay>;
