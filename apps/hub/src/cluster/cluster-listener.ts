// A node's internal listener (PORTHOLE_CLUSTER_LISTEN) and the dialer that uses the others'. The
// protocol is one verb: "open a TCP connection to port P of the device at tunnel address A from
// your netstack and give me the byte stream" — an HTTP/1.1 upgrade, like CONNECT:
//
//   GET /cluster/v1/dial?address=100.64.0.7&port=80 HTTP/1.1
//   Connection: Upgrade
//   Upgrade: porthole-dial
//   Authorization: PortholeCluster node="hub-1", ts="<ms>", mac="<HMAC>"   (cluster-auth.ts)
//
//   → 101 Switching Protocols (Upgrade: porthole-dial), then raw bytes both ways
//   → 401 (no or wrong secret: logged, nothing reaches a device), 404 (not a device address),
//     409 not_here (the device's session is not on this node), 502 (the device refused or the
//     tunnel dial failed), 400 (bad query)
//
// The entry node decides authorisation and writes the access log; the holder only dials. Since
// the stream replaces the entry node's own tunnel socket, HTTP (streamed both ways, kept alive),
// WebSocket, /.porthole/tcp and the browser consoles all work unchanged through it.
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../ops/logger.js';
import type { DeviceDialer, DeviceRoute } from '../proxy/contracts.js';
import { signClusterRequest, verifyClusterRequest } from './cluster-auth.js';
import type { Reachability } from './reachability.js';
import { RELAY_PATH, RELAY_UPGRADE } from './cluster-relay.js';

export const DIAL_PATH = '/cluster/v1/dial';
export const DIAL_UPGRADE = 'porthole-dial';

export interface ClusterListenerOptions {
  secret: string;
  nodeName: string;
  /** Whether a tunnel address belongs to a device (admin peers and unknown addresses are refused). */
  isDeviceAddress(address: string): boolean;
  reachability: Reachability;
  /** This node's own tunnel dialer (the overlay netstack). */
  localDialer: DeviceDialer;
  dialTimeoutMs: number;
  logger: Logger;
  /** The packet relay for admin WireGuard peers (cluster-relay.ts): takes authenticated relay upgrades. */
  relay?: { accept(socket: Duplex, head: Buffer, from: string): void };
}

function answer(socket: Duplex, status: number, reason: string, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

export function createClusterListener(o: ClusterListenerOptions) {
  const log = o.logger.child({ component: 'cluster' });
  /** Dials other nodes asked of this one, by outcome (read by /metrics). */
  const stats = { served: 0, unauthorized: 0, refused: 0, failed: 0 };
  const open = new Set<Duplex>();
  /** Open tunnels by device address: closed when the device moves away (see closeTunnels). */
  const byAddress = new Map<string, Set<Duplex>>();
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 10_000 }, (req, res) => {
    const auth = verifyClusterRequest(o.secret, req.headers.authorization, req.method ?? 'GET', req.url ?? '');
    if (!auth.ok) {
      stats.unauthorized++;
      log.warn('cluster request refused', { reason: auth.reason, remote: req.socket.remoteAddress, path: (req.url ?? '').slice(0, 100) });
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'unauthorized', message: 'cluster secret missing or wrong' } }));
      return;
    }
    if (req.url === '/cluster/v1/ping') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ node: o.nodeName }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'no such cluster endpoint' } }));
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => {});
    const path = req.url ?? '';
    const auth = verifyClusterRequest(o.secret, req.headers.authorization, req.method ?? 'GET', path);
    if (!auth.ok) {
      stats.unauthorized++;
      log.warn('cluster dial refused', { reason: auth.reason, remote: socket.remoteAddress, path: path.slice(0, 100) });
      return answer(socket, 401, 'Unauthorized', 'unauthorized', 'cluster secret missing or wrong');
    }
    const url = new URL(path, 'http://node');
    if (o.relay && path === RELAY_PATH && req.method === 'GET' && String(req.headers.upgrade).toLowerCase() === RELAY_UPGRADE) {
      socket.setNoDelay(true);
      return o.relay.accept(socket, head, auth.node);
    }
    if (url.pathname !== DIAL_PATH || req.method !== 'GET' || String(req.headers.upgrade).toLowerCase() !== DIAL_UPGRADE) {
      return answer(socket, 404, 'Not Found', 'not_found', 'no such cluster endpoint');
    }
    const address = url.searchParams.get('address') ?? '';
    const port = Number(url.searchParams.get('port'));
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(address) || !Number.isInteger(port) || port < 1 || port > 65535) {
      return answer(socket, 400, 'Bad Request', 'invalid_request', 'address must be a tunnel IPv4 address and port 1-65535');
    }
    if (!o.isDeviceAddress(address)) {
      stats.refused++;
      return answer(socket, 404, 'Not Found', 'no_device', `no device at ${address}`);
    }
    const reach = o.reachability.locate(address);
    if (reach.kind !== 'local') {
      stats.refused++;
      return answer(socket, 409, 'Conflict', 'not_here', `the device at ${address} has no session on ${o.nodeName}`);
    }
    if (head.length > 0) socket.unshift(head);
    const route = { tunnelIp: address, serial: address } as DeviceRoute;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error('dial timed out')), o.dialTimeoutMs);
    socket.once('close', () => ac.abort(new Error('entry node went away')));
    o.localDialer.dial(route, port, ac.signal).then(
      (tunnel) => {
        clearTimeout(timer);
        if (socket.destroyed) return void tunnel.destroy();
        stats.served++;
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${DIAL_UPGRADE}\r\n\r\n`);
        socket.setNoDelay(true);
        open.add(socket);
        let set = byAddress.get(address);
        if (!set) byAddress.set(address, (set = new Set()));
        set.add(socket);
        splice(socket, tunnel, () => {
          open.delete(socket);
          set.delete(socket);
          if (set.size === 0 && byAddress.get(address) === set) byAddress.delete(address);
        });
      },
      (err: unknown) => {
        clearTimeout(timer);
        stats.failed++;
        log.debug('cluster dial failed', { address, port, from: auth.node, err: String(err) });
        answer(socket, 502, 'Bad Gateway', 'dial_failed', `device at ${address} refused port ${port} or did not answer`);
      },
    );
  });

  return {
    server,
    stats,
    async listen(hostPort: string): Promise<{ address: string; port: number }> {
      const i = hostPort.lastIndexOf(':');
      const host = hostPort.slice(0, i).replace(/^\[|\]$/g, '');
      const port = Number(hostPort.slice(i + 1));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.removeListener('error', reject);
          resolve();
        });
      });
      const a = server.address() as { address: string; port: number };
      return { address: a.address, port: a.port };
    },
    /**
     * Closes the tunnels to a device that moved to another node: an entry node reusing one would
     * send through this node's older session and pull the device back here.
     */
    closeTunnels(address: string): void {
      for (const s of byAddress.get(address) ?? []) s.destroy();
    },
    /** Open tunnels through this node. */
    get openTunnels() {
      return open.size;
    },
    async close(): Promise<void> {
      for (const s of open) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type ClusterListener = ReturnType<typeof createClusterListener>;

/** Pipes two streams into each other; either end closing or failing closes both. */
function splice(a: Duplex, b: Duplex, onClose: () => void): void {
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    a.destroy();
    b.destroy();
    onClose();
  };
  a.on('error', finish).on('close', finish);
  b.on('error', finish).on('close', finish);
  // Half-close is passed on: an HTTP client may end its side and still read the answer.
  a.pipe(b);
  b.pipe(a);
}

export interface ClusterDialerOptions {
  secret: string;
  nodeName: string;
  reachability: Reachability;
  /** This node's own tunnel dialer. */
  localDialer: DeviceDialer;
}

/** Why a dial through another node failed, as its listener said. */
export class ClusterDialError extends Error {
  constructor(
    readonly node: string,
    readonly status: number,
    message: string,
  ) {
    super(`through node ${node}: ${status} ${message}`);
    this.name = 'ClusterDialError';
  }
}

/** Dials through the holder when another node holds the device; here otherwise. */
export function createClusterDialer(o: ClusterDialerOptions): DeviceDialer & { remoteDials: number } {
  const dialer = {
    remoteDials: 0,
    dial(device: DeviceRoute, port: number, signal?: AbortSignal): Promise<Duplex> {
      const reach = o.reachability.locate(device.tunnelIp);
      if (reach.kind !== 'remote' || !reach.node.clusterUrl) return o.localDialer.dial(device, port, signal);
      dialer.remoteDials++;
      return dialThrough(reach.node.clusterUrl, reach.node.name, device.tunnelIp, port, o, signal);
    },
  };
  return dialer;
}

function dialThrough(clusterUrl: string, node: string, tunnelIp: string, port: number, o: ClusterDialerOptions, signal?: AbortSignal): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('dial aborted'));
    const path = `${DIAL_PATH}?address=${tunnelIp}&port=${port}`;
    const url = new URL(path, clusterUrl);
    const req = http.request(url, {
      method: 'GET',
      agent: false,
      headers: { connection: 'Upgrade', upgrade: DIAL_UPGRADE, authorization: signClusterRequest(o.secret, o.nodeName, 'GET', path) },
      ...(signal ? { signal } : {}),
    });
    req.once('upgrade', (_res, socket: Socket, head: Buffer) => {
      socket.setNoDelay(true);
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.length < 16 && chunks.push(c));
      res.once('end', () => {
        let message = res.statusMessage ?? '';
        try {
          message = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error: { message: string } }).error.message;
        } catch {}
        reject(new ClusterDialError(node, res.statusCode ?? 0, message));
      });
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end();
  });
}
