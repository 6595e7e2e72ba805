// The hub's WebSocket carrier for WireGuard: `GET /.porthole/wg` on the portal host,
// one binary message per datagram (libs/datagram-transport). Each connection is its own Endpoint
// (`transport: 'ws'`), so the device's roaming rule answers a peer on whichever carrier it last
// used. Abuse limits: message size, per-connection message rate, connections per client address,
// idle and "nothing authenticated" timeouts; bad input is dropped and counted, never thrown.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  MAX_DATAGRAM_BYTES,
  TokenBucket,
  WG_WEBSOCKET_PROTOCOL,
  wireGuardMessageType,
} from '@porthole/datagram-transport';
import type { Bind, Endpoint } from '@porthole/wireguard';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../ops/logger.js';

export const WS_TRANSPORT = 'ws';

export interface WsTransportLimits {
  /**
   * Open carrier connections per client address. A device needs one, but a site's devices behind
   * one NAT or proxy share its address (a solar park behind a corporate proxy), hence not 1.
   */
  maxConnectionsPerIp: number;
  /** Sustained datagrams per second per connection (a 100 Mbit/s stream is ~9 000/s); over it: dropped. */
  maxMessagesPerSecond: number;
  /** Datagrams allowed at once above the rate. */
  burstMessages: number;
  /** No datagram received for this long: closed (the agent keeps it alive every 25 s). */
  idleTimeoutMs: number;
  /** A new connection the hub never sent an authenticated message to within this: closed (garbage). */
  handshakeTimeoutMs: number;
  /** An authenticated connection the hub has sent nothing authenticated to for this long: closed. */
  staleTimeoutMs: number;
  /** Outgoing bytes queued on one connection before the hub drops datagrams (a stalled reader). */
  maxBufferedBytes: number;
}

export const DEFAULT_WS_LIMITS: WsTransportLimits = {
  maxConnectionsPerIp: 64,
  maxMessagesPerSecond: 20_000,
  burstMessages: 4_000,
  idleTimeoutMs: 60_000,
  handshakeTimeoutMs: 20_000,
  // REJECT_AFTER_TIME: past it no session can exist on this connection any more.
  staleTimeoutMs: 180_000,
  maxBufferedBytes: 1 << 20,
};

export interface WsTransportStats {
  accepted: number;
  open: number;
  /** Upgrades refused, by reason (`per-ip-limit`, `protocol`, `closing`). */
  refused: Record<string, number>;
  /** Datagrams dropped, by reason (`rate-limited`, `not-binary`, `not-wireguard`, `backpressure`, `no-connection`). */
  drops: Record<string, number>;
  /** Connections closed by the hub, by reason (`idle`, `garbage`, `stale`, `oversize`, `shutdown`). */
  closed: Record<string, number>;
  rxDatagrams: number;
  txDatagrams: number;
}

export interface WsDatagramTransportOptions {
  limits?: Partial<WsTransportLimits>;
  logger?: Logger;
  /** Monotonic milliseconds (tests pass a fake clock and call sweep()). */
  now?: () => number;
  /** Sweep interval for the timeouts; 0 = no timer (tests). Default 5 s. */
  sweepIntervalMs?: number;
}

interface Connection {
  readonly ws: WebSocket;
  readonly endpoint: Endpoint;
  readonly ip: string;
  readonly bucket: TokenBucket;
  readonly openedMs: number;
  lastReceivedMs: number;
  /** Last time the hub sent a handshake response or transport data here: proof a peer authenticated. */
  lastAuthenticatedMs: number | undefined;
}

export interface WsDatagramTransport extends Bind {
  /** Takes over an upgrade request already routed to the carrier path; `clientIp` as the server determined it. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, clientIp: string): void;
  /** Applies the timeouts now (the timer calls it every sweepIntervalMs). */
  sweep(): void;
  readonly stats: WsTransportStats;
  /** Open connections per client address (for tests and diagnostics). */
  connectionsFrom(ip: string): number;
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

function refuse(socket: Duplex, status: number, reason: string): void {
  const body = `${reason}\n`;
  socket.end(`HTTP/1.1 ${status} ${status === 429 ? 'Too Many Requests' : status === 503 ? 'Service Unavailable' : 'Bad Request'}\r\n` +
    `content-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

export function createWsDatagramTransport(options: WsDatagramTransportOptions = {}): WsDatagramTransport {
  const limits: WsTransportLimits = { ...DEFAULT_WS_LIMITS, ...options.limits };
  const now = options.now ?? (() => performance.now());
  const logger = options.logger?.child({ component: 'ws-transport' });
  const stats: WsTransportStats = { accepted: 0, open: 0, refused: {}, drops: {}, closed: {}, rxDatagrams: 0, txDatagrams: 0 };
  const byEndpoint = new WeakMap<Endpoint, Connection>();
  const connections = new Set<Connection>();
  const perIp = new Map<string, number>();
  let handler: ((datagram: Uint8Array, from: Endpoint) => void) | undefined;
  let closing = false;
  let fallbackPort = 0;

  const server = new WebSocketServer({
    noServer: true,
    // ws closes the connection (1009) on a bigger message before buffering it: the size limit.
    maxPayload: MAX_DATAGRAM_BYTES,
    perMessageDeflate: false,
    skipUTF8Validation: true,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has(WG_WEBSOCKET_PROTOCOL) ? WG_WEBSOCKET_PROTOCOL : false),
  });

  function close(conn: Connection, reason: string, code = 1008): void {
    bump(stats.closed, reason);
    logger?.debug('closing carrier connection', { reason, clientIp: conn.ip });
    conn.ws.close(code, reason);
    // A peer that ignores the close handshake is cut off after a moment.
    setTimeout(() => conn.ws.terminate(), 2_000).unref();
  }

  function attach(ws: WebSocket, ip: string, port: number | undefined): void {
    const t = now();
    const endpoint: Endpoint = { address: ip, port: port ?? (fallbackPort = (fallbackPort % 65535) + 1), transport: WS_TRANSPORT };
    const conn: Connection = {
      ws,
      endpoint,
      ip,
      bucket: new TokenBucket(limits.maxMessagesPerSecond, limits.burstMessages, t),
      openedMs: t,
      lastReceivedMs: t,
      lastAuthenticatedMs: undefined,
    };
    byEndpoint.set(endpoint, conn);
    connections.add(conn);
    stats.accepted++;
    stats.open++;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const at = now();
      conn.lastReceivedMs = at;
      if (!isBinary) return void bump(stats.drops, 'not-binary');
      if (!conn.bucket.take(at)) return void bump(stats.drops, 'rate-limited');
      if (wireGuardMessageType(data) === 0) return void bump(stats.drops, 'not-wireguard');
      stats.rxDatagrams++;
      handler?.(data, endpoint);
    });
    ws.on('error', (err: Error & { code?: string }) => {
      // ws reports an oversized message as an error and closes with 1009.
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') bump(stats.closed, 'oversize');
      else logger?.debug('carrier connection error', { err: err.message, clientIp: ip });
    });
    ws.once('close', () => {
      connections.delete(conn);
      stats.open--;
      const left = (perIp.get(ip) ?? 1) - 1;
      if (left <= 0) perIp.delete(ip);
      else perIp.set(ip, left);
    });
  }

  function sweep(): void {
    const t = now();
    for (const conn of connections) {
      if (conn.ws.readyState !== conn.ws.OPEN) continue;
      if (t - conn.lastReceivedMs > limits.idleTimeoutMs) close(conn, 'idle', 1001);
      else if (conn.lastAuthenticatedMs === undefined && t - conn.openedMs > limits.handshakeTimeoutMs) close(conn, 'garbage');
      else if (conn.lastAuthenticatedMs !== undefined && t - conn.lastAuthenticatedMs > limits.staleTimeoutMs) close(conn, 'stale', 1001);
    }
  }

  const sweepMs = options.sweepIntervalMs ?? 5_000;
  const sweeper = sweepMs > 0 ? setInterval(sweep, sweepMs) : undefined;
  sweeper?.unref();

  return {
    stats,
    sweep,
    connectionsFrom: (ip) => perIp.get(ip) ?? 0,

    handleUpgrade(req, socket, head, clientIp) {
      if (closing) {
        bump(stats.refused, 'closing');
        return refuse(socket, 503, 'shutting down');
      }
      const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      if (!offered.includes(WG_WEBSOCKET_PROTOCOL)) {
        bump(stats.refused, 'protocol');
        return refuse(socket, 400, `this endpoint speaks the ${WG_WEBSOCKET_PROTOCOL} subprotocol only`);
      }
      const n = perIp.get(clientIp) ?? 0;
      if (n >= limits.maxConnectionsPerIp) {
        bump(stats.refused, 'per-ip-limit');
        logger?.debug('carrier connection refused: per-address limit', { clientIp });
        return refuse(socket, 429, 'too many connections from this address');
      }
      // Counted before the handshake completes, so a burst of parallel upgrades cannot overshoot.
      perIp.set(clientIp, n + 1);
      let attached = false;
      socket.once('close', () => {
        if (attached) return;
        const left = (perIp.get(clientIp) ?? 1) - 1;
        if (left <= 0) perIp.delete(clientIp);
        else perIp.set(clientIp, left);
      });
      server.handleUpgrade(req, socket, head, (ws) => {
        attached = true;
        attach(ws, clientIp, req.socket.remotePort);
      });
    },

    send(datagram, to) {
      const conn = byEndpoint.get(to);
      if (!conn || conn.ws.readyState !== conn.ws.OPEN) return void bump(stats.drops, 'no-connection');
      if (conn.ws.bufferedAmount > limits.maxBufferedBytes) return void bump(stats.drops, 'backpressure');
      // Only a peer that authenticated gets anything but a cookie reply (type 3) from the device.
      if (wireGuardMessageType(datagram) !== 3) conn.lastAuthenticatedMs = now();
      stats.txDatagrams++;
      conn.ws.send(datagram, { binary: true });
    },

    onReceive(h) {
      handler = h;
    },

    async close() {
      closing = true;
      if (sweeper) clearInterval(sweeper);
      for (const conn of connections) {
        bump(stats.closed, 'shutdown');
        conn.ws.terminate();
      }
      server.close();
    },
  };
}
