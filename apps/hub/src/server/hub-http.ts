// The hub's HTTP(S) edge: node:http/https servers with strict
// limits, host dispatch (portal host → portal/API hono apps, `<serial>.<domain>` → device proxy, the
// single device host → the visitor's selected device, then the same device proxy; anything else →
// 404), HTTP→HTTPS redirect, ops endpoints and graceful shutdown.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { getRequestListener } from '@hono/node-server';
import { WG_WEBSOCKET_PATH } from '@porthole/datagram-transport';
import type { HubConfig } from '../config/config-schema.js';
import { setClientIp } from '../http/client-ip.js';
import type { RateLimiter } from '../http/rate-limit.js';
import { type Health, OPS_PATHS, type ReadinessCheck, createHealth, handleOpsRequest } from '../ops/health.js';
import { type HubMetrics, createHubMetrics } from '../ops/hub-metrics.js';
import { type Logger, silentLogger } from '../ops/logger.js';
import type { AccessLogSink, DeviceDialer, DeviceDirectory, InstallerLinks, TcpPortPolicy, VisitorAuth } from '../proxy/contracts.js';
import { type DeviceSessions, createDeviceSessions } from '../proxy/device-sessions.js';
import { type DeviceProxy, createDeviceProxy } from '../proxy/device-proxy.js';
import { clientInfo } from '../proxy/forward-headers.js';
import { parseDeviceHostSetting, routeHost } from '../proxy/host-router.js';
import { type SingleHostRoute, createSingleHost } from '../proxy/single-host.js';
import { guardRequest } from '../proxy/request-guard.js';
import { type StatusPage, sendStatusPage, writeRawResponse, writeRawStatusPage } from '../proxy/status-page.js';
import type { TicketStore } from '../proxy/ticket-store.js';
import { createVisitorGate } from '../proxy/visitor-gate.js';
import { ConnectionTracker, closeServer } from './connection-tracker.js';
import { type EdgeServerDeps, edgeServerOptions, listenOn, setupEdgeServer } from './edge-servers.js';

type FetchApp = { fetch: (request: Request, env: never) => Response | Promise<Response> | unknown };

export type HubHttpConfig = Pick<
  HubConfig,
  | 'domain'
  | 'portalHost'
  | 'deviceHost'
  | 'listenHost'
  | 'httpPort'
  | 'httpsPort'
  | 'tls'
  | 'trustProxy'
  | 'opsPort'
  | 'opsHost'
  | 'dialTimeoutMs'
  | 'responseTimeoutMs'
  | 'idleTimeoutMs'
  | 'headersTimeoutMs'
  | 'maxHeaderBytes'
  | 'maxConnectionsPerIp'
  | 'shutdownGraceMs'
  | 'deviceSessionTtlMs'
>;

export interface HubHttpOptions {
  config: HubHttpConfig;
  directory: DeviceDirectory;
  dialer: DeviceDialer;
  auth: VisitorAuth;
  tickets: TicketStore;
  /** Installer links opened on device hosts (`/.porthole/link`); none by default. */
  links?: InstallerLinks;
  /** Device sessions; in memory by default. */
  sessions?: DeviceSessions;
  accessLog: AccessLogSink;
  /** The portal (and admin API) hono app, served on the portal host. */
  portalApp?: FetchApp;
  /** A separate API app for `/api/*` on the portal host, when not part of portalApp. */
  apiApp?: FetchApp;
  metrics?: HubMetrics;
  logger?: Logger;
  /** Readiness checks for /readyz, e.g. `{ database: () => db.ping(), wireguard: () => wg.bound }`. */
  readiness?: Record<string, ReadinessCheck>;
  /** PEM certificate chain and key when the hub terminates TLS (config.tls). */
  tlsCredentials?: { cert: string | Buffer; key: string | Buffer };
  tcpPortPolicy?: TcpPortPolicy;
  /** Overlay port of the device web UI (agent maps it); 80. */
  devicePort?: number;
  /** Millisecond clock for sessions and access re-checks (tests). */
  now?: () => number;
  /** Throttle for unknown-serial and bad-ticket misses per client address (see device-proxy.ts). */
  missLimiter?: RateLimiter;
  /** Caps on open WebSocket/TCP tunnels (defaults 256 per device, 64 per visitor). */
  maxTunnelsPerDevice?: number;
  maxTunnelsPerVisitor?: number;
  /**
   * WireGuard over WebSocket: upgrades of `GET /.porthole/wg` on the portal host go here,
   * with the client address as the server determined it. Unset: that path is refused like any
   * other portal upgrade.
   */
  datagramUpgrade?: (req: http.IncomingMessage, socket: Duplex, head: Buffer, clientIp: string) => void;
  /**
   * HMAC key of the single device host's selection cookie (config.deviceHost); the same on every
   * node of a cluster. Random per process when unset (selections then end with a restart).
   */
  selectionKey?: Uint8Array;
  /** The portal's public origin; the single host sends visitors there when it names its own port. */
  portalUrl?: string;
}

export interface HubHttp {
  handleRequest(req: http.IncomingMessage, res: http.ServerResponse, secure?: boolean): void;
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, secure?: boolean): void;
  listen(): Promise<{ http: AddressInfo; https?: AddressInfo; ops?: AddressInfo }>;
  /** Stops accepting, drains in-flight requests (bounded by shutdownGraceMs), closes everything. */
  close(): Promise<{ drained: boolean }>;
  /** Swaps the TLS certificate without a restart (certificate renewal); new handshakes use it. */
  setTlsCredentials(credentials: { cert: string | Buffer; key: string | Buffer }): void;
  readonly servers: { http: http.Server; https?: https.Server; ops?: http.Server };
  readonly health: Health;
  readonly metrics: HubMetrics;
  readonly deviceProxy: DeviceProxy;
  readonly tracker: ConnectionTracker;
}

/** A handler that threw: log it; a 500 page when nothing was sent yet, else the connection cut. */
function handlerFailed(logger: Logger, what: string, err: unknown, res: http.ServerResponse, requestId: string, method: string): void {
  logger.error(what, { err, requestId });
  if (!res.headersSent) sendStatusPage(res, { status: 500, title: 'Internal error', message: 'Something went wrong.', requestId }, method);
  else res.destroy();
}

function pathOf(target: string): string {
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}

export function createHubHttp(options: HubHttpOptions): HubHttp {
  const { config } = options;
  const logger = (options.logger ?? silentLogger).child({ component: 'http' });
  const metrics = options.metrics ?? createHubMetrics();
  const health = createHealth(options.readiness ?? {});
  const tracker = new ConnectionTracker(config.trustProxy > 0 ? 0 : config.maxConnectionsPerIp);
  const now = options.now ?? Date.now;
  const selectionKey = options.selectionKey ?? randomBytes(32);
  const sessions = options.sessions ?? createDeviceSessions({ ttlMs: config.deviceSessionTtlMs, now });
  const gate = createVisitorGate({ auth: options.auth, sessions, tickets: options.tickets, portalHost: config.portalHost, now, ...(options.links ? { links: options.links } : {}) });
  const deviceProxy = createDeviceProxy({
    directory: options.directory,
    dialer: options.dialer,
    gate,
    accessLog: options.accessLog,
    metrics,
    logger: options.logger ?? silentLogger,
    dialTimeoutMs: config.dialTimeoutMs,
    responseTimeoutMs: config.responseTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
    maxHeaderBytes: config.maxHeaderBytes,
    deviceSessionTtlMs: config.deviceSessionTtlMs,
    ...(options.devicePort ? { devicePort: options.devicePort } : {}),
    ...(options.tcpPortPolicy ? { tcpPortPolicy: options.tcpPortPolicy } : {}),
    ...(options.missLimiter ? { missLimiter: options.missLimiter } : {}),
    ...(options.maxTunnelsPerDevice ? { maxTunnelsPerDevice: options.maxTunnelsPerDevice } : {}),
    ...(options.maxTunnelsPerVisitor ? { maxTunnelsPerVisitor: options.maxTunnelsPerVisitor } : {}),
    onTunnel: (a, b) => tracker.addTunnel(a, b),
    selectionKey,
  });
  const portalListener = options.portalApp ? getRequestListener(options.portalApp.fetch as never) : undefined;
  const apiListener = options.apiApp ? getRequestListener(options.apiApp.fetch as never) : undefined;

  const idPrefix = randomBytes(3).toString('hex');
  let requestCounter = 0;
  const nextRequestId = () => `${idPrefix}-${(++requestCounter).toString(36)}`;
  let draining = false;
  /** The HTTPS port redirects point to (the bound one, when configured as 0 in tests). */
  let httpsPort = config.httpsPort;

  const deviceHost = config.deviceHost ? parseDeviceHostSetting(config.deviceHost) : undefined;
  const routerOpts = { domain: config.domain, portalHost: config.portalHost, deviceHost };
  const singleHost = createSingleHost({
    key: selectionKey,
    tickets: options.tickets,
    secure: (proto) => proto === 'https',
    // Like the serial hosts' sign-in link: the portal on the port the visitor used, unless the
    // device host has a port of its own (then the portal is elsewhere: its configured origin).
    portalOrigin: (proto, hostWithPort) => {
      if (deviceHost?.port !== undefined && options.portalUrl) return options.portalUrl;
      const port = /:\d+$/.exec(hostWithPort)?.[0] ?? '';
      return `${proto}://${config.portalHost}${port}`;
    },
  });
  /** The single host's answer when it does not lead to a device; undefined when it does. */
  function singleHostPage(route: SingleHostRoute, requestId: string): StatusPage | undefined {
    switch (route.kind) {
      case 'device':
        return undefined;
      case 'pick':
        return { status: 302, title: 'Choose a device', message: 'No device is selected on this address yet: choose one on the portal.', headers: { location: route.location }, requestId };
      case 'bad-serial':
        return { status: 400, title: 'Which device?', message: 'Give the serial number of the device to open: /.porthole/select?serial=an12345678.', requestId };
      case 'bad-ticket':
        metrics.drops.inc({ reason: 'bad_ticket' });
        return { status: 403, title: 'Sign-in link expired', message: 'This link has expired or was already used. Choose the device on the portal again.', requestId };
    }
  }
  const UNKNOWN_HOST: StatusPage = { status: 404, title: 'Unknown host', message: 'This server does not serve this host name.' };

  function handle(req: http.IncomingMessage, res: http.ServerResponse, secure: boolean, expectContinue: boolean): void {
    const startedMs = performance.now();
    tracker.requestStarted();
    res.once('close', () => tracker.requestEnded());
    const client = clientInfo(req, config.trustProxy, secure);
    setClientIp(req, client.ip);
    const requestId = nextRequestId();
    const method = req.method ?? 'GET';

    if (draining) {
      res.shouldKeepAlive = false;
      sendStatusPage(res, { status: 503, title: 'Restarting', message: 'The server is restarting. Try again in a few seconds.', headers: { 'retry-after': '5' }, requestId }, method);
      return;
    }
    const guard = guardRequest(req);
    if (!guard.ok) {
      metrics.drops.inc({ reason: guard.reason });
      logger.debug('request refused', { requestId, reason: guard.reason, clientIp: client.ip });
      res.shouldKeepAlive = false;
      sendStatusPage(res, { status: guard.status, title: 'Bad request', message: guard.message, requestId }, method);
      return;
    }
    // From here on everyone (portal listener included) sees the origin-form target only.
    req.url = guard.target;
    const path = pathOf(guard.target);
    const route = routeHost(req.headers.host, routerOpts);

    if (!secure && config.tls && client.proto === 'http' && !OPS_PATHS.has(path) && route.kind !== 'invalid') {
      const host = route.host;
      const port = httpsPort !== undefined && httpsPort !== 443 ? `:${httpsPort}` : '';
      res.writeHead(308, { location: `https://${host}${port}${guard.target}`, 'content-length': 0, 'cache-control': 'no-store' });
      res.end();
      return;
    }

    switch (route.kind) {
      case 'portal': {
        if ((path === '/healthz' || path === '/readyz') && handleOpsRequest(req, res, path, health)) return;
        const listener = apiListener && (path === '/api' || path.startsWith('/api/')) ? apiListener : portalListener;
        if (!listener) return sendStatusPage(res, { status: 404, title: 'Not found', message: 'No portal is configured on this hub.', requestId }, method);
        if (expectContinue) res.writeContinue();
        listener(req, res).catch((err: unknown) => handlerFailed(logger, 'portal handler failed', err, res, requestId, method));
        return;
      }
      case 'device': {
        const hostWithPort = route.port ? `${route.host}:${route.port}` : route.host;
        deviceProxy
          .handleRequest(req, res, { requestId, startedMs, client, serial: route.serial, host: route.host, hostWithPort, target: guard.target, expectContinue })
          .catch((err: unknown) => handlerFailed(logger, 'device proxy failed', err, res, requestId, method));
        return;
      }
      case 'single': {
        const hostWithPort = route.port ? `${route.host}:${route.port}` : route.host;
        void (async () => {
          const single = await singleHost.route(req, path, guard.target, client.proto, hostWithPort);
          const page = singleHostPage(single, requestId);
          if (page || single.kind !== 'device') {
            // A GET that finds nothing selected goes to the picker; anything else cannot be served.
            const answer = page!.status === 302 && method !== 'GET' && method !== 'HEAD' ? { ...page!, status: 409, title: 'No device selected', headers: {} } : page!;
            return sendStatusPage(res, answer, method);
          }
          await deviceProxy.handleRequest(req, res, { requestId, startedMs, client, serial: single.serial, host: route.host, hostWithPort, target: guard.target, expectContinue, single: single.single });
        })().catch((err: unknown) => handlerFailed(logger, 'device proxy failed', err, res, requestId, method));
        return;
      }
      case 'unknown':
        // Load-balancer health checks often address the hub by IP.
        if ((path === '/healthz' || path === '/readyz') && handleOpsRequest(req, res, path, health)) return;
        metrics.drops.inc({ reason: 'unknown_host' });
        return sendStatusPage(res, { ...UNKNOWN_HOST, requestId }, method);
      case 'invalid':
        metrics.drops.inc({ reason: 'host_header' });
        res.shouldKeepAlive = false;
        return sendStatusPage(res, { status: 400, title: 'Bad request', message: 'The Host header is not a valid host name.', requestId }, method);
    }
  }

  function upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, secure: boolean): void {
    socket.on('error', () => socket.destroy());
    const startedMs = performance.now();
    const client = clientInfo(req, config.trustProxy, secure);
    setClientIp(req, client.ip);
    const requestId = nextRequestId();
    if (draining) return writeRawResponse(socket, 503, 'restarting\n', { 'retry-after': '5' });
    const guard = guardRequest(req);
    if (!guard.ok) {
      metrics.drops.inc({ reason: guard.reason });
      return writeRawResponse(socket, guard.status, `${guard.message}\n`);
    }
    req.url = guard.target;
    const route = routeHost(req.headers.host, routerOpts);
    if (route.kind === 'portal' && options.datagramUpgrade && pathOf(guard.target) === WG_WEBSOCKET_PATH) {
      // Tracked like proxy tunnels: kept through the drain (devices' proxied requests ride on it), cut after.
      tracker.addTunnel(socket);
      return options.datagramUpgrade(req, socket, head, client.ip);
    }
    if (route.kind !== 'device' && route.kind !== 'single') {
      metrics.drops.inc({ reason: route.kind === 'portal' ? 'portal_upgrade' : 'unknown_host' });
      return writeRawStatusPage(socket, { ...UNKNOWN_HOST, status: route.kind === 'invalid' ? 400 : 404, requestId });
    }
    const hostWithPort = route.port ? `${route.host}:${route.port}` : route.host;
    void (async () => {
      let serial: string;
      let single: Extract<SingleHostRoute, { kind: 'device' }>['single'] | undefined;
      if (route.kind === 'single') {
        const chosen = await singleHost.route(req, pathOf(guard.target), guard.target, client.proto, hostWithPort);
        const page = singleHostPage(chosen, requestId);
        if (page || chosen.kind !== 'device') return writeRawStatusPage(socket, { ...page!, status: page!.status === 302 ? 409 : page!.status, title: page!.status === 302 ? 'No device selected' : page!.title, headers: {} });
        serial = chosen.serial;
        single = chosen.single;
      } else serial = route.serial;
      await deviceProxy.handleUpgrade(req, socket, head, { requestId, startedMs, client, serial, host: route.host, hostWithPort, target: guard.target, expectContinue: false, ...(single ? { single } : {}) });
    })().catch((err: unknown) => {
      logger.error('upgrade failed', { err, requestId });
      socket.destroy();
    });
  }

  const serverOptions = edgeServerOptions(config);
  const edge = (secure: boolean): EdgeServerDeps => ({
    idleTimeoutMs: config.idleTimeoutMs,
    tracker,
    metrics,
    logger,
    onRequest: (req, res, expectContinue) => handle(req, res, secure, expectContinue),
    onUpgrade: (req, socket, head) => upgrade(req, socket, head, secure),
  });
  const httpServer = setupEdgeServer(http.createServer(serverOptions), edge(false));
  const httpsServer =
    config.tls && options.tlsCredentials
      ? setupEdgeServer(https.createServer({ ...serverOptions, ...options.tlsCredentials, minVersion: 'TLSv1.2' }), edge(true))
      : undefined;
  const opsServer =
    config.opsPort !== undefined
      ? http.createServer({ headersTimeout: 5_000, requestTimeout: 10_000 }, (req, res) => {
          if (!handleOpsRequest(req, res, pathOf(req.url ?? '/'), health, metrics.registry)) {
            res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
          }
        })
      : undefined;

  let closing: Promise<{ drained: boolean }> | undefined;

  return {
    handleRequest: (req, res, secure = false) => handle(req, res, secure, false),
    handleUpgrade: (req, socket, head, secure = false) => upgrade(req, socket, head, secure),
    async listen() {
      const out: { http: AddressInfo; https?: AddressInfo; ops?: AddressInfo } = {
        http: await listenOn(httpServer, config.httpPort, config.listenHost),
      };
      if (httpsServer && config.httpsPort !== undefined) {
        out.https = await listenOn(httpsServer, config.httpsPort, config.listenHost);
        httpsPort = out.https.port;
      }
      if (opsServer && config.opsPort !== undefined) out.ops = await listenOn(opsServer, config.opsPort, config.opsHost);
      logger.info('listening', { http: out.http.port, https: out.https?.port, ops: out.ops?.port });
      return out;
    },
    close() {
      if (closing) return closing;
      closing = (async () => {
        draining = true;
        health.setDraining();
        // The ops listener stays up while draining so monitoring sees /readyz answer 503.
        const publicServers = [httpServer, httpsServer].filter((s): s is http.Server => s !== undefined);
        const closed = publicServers.map((s) => closeServer(s));
        for (const s of publicServers) s.closeIdleConnections();
        const drained = await tracker.waitIdle(config.shutdownGraceMs);
        if (!drained) logger.warn('shutdown grace time over; closing remaining connections', { active: tracker.activeRequests });
        deviceProxy.close();
        tracker.destroyTunnels();
        for (const s of publicServers) s.closeAllConnections();
        // Sockets still being upgraded (dialling a device) are not tracked anywhere: bound the wait.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([Promise.all(closed), new Promise((r) => (timer = setTimeout(r, 2_000)))]);
        clearTimeout(timer);
        if (opsServer) {
          const opsClosed = closeServer(opsServer);
          opsServer.closeAllConnections();
          await opsClosed;
        }
        logger.info('closed', { drained });
        return { drained };
      })();
      return closing;
    },
    setTlsCredentials(credentials) {
      if (!httpsServer) throw new Error('the hub does not terminate TLS (no PORTHOLE_HTTPS_PORT)');
      httpsServer.setSecureContext({ ...credentials, minVersion: 'TLSv1.2' });
    },
    servers: { http: httpServer, ...(httpsServer ? { https: httpsServer } : {}), ...(opsServer ? { ops: opsServer } : {}) },
    health,
    metrics,
    deviceProxy,
    tracker,
  };
}
