// The device-host side of the hub: `<serial>.<domain>` → device row → status checks → visitor
// authorisation → forward (HTTP, WebSocket, or /.porthole/tcp). Every request that names a known
// device ends in the access log and the metrics, whatever the outcome (architecture "Routing a request").
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RateLimiter, createRateLimiter } from '../http/rate-limit.js';
import type { HubMetrics } from '../ops/hub-metrics.js';
import type { Logger } from '../ops/logger.js';
import { type AccessLogSink, type DeviceDialer, type DeviceDirectory, type DeviceRoute, INSTALLER_LINK_PATH, type TcpPortPolicy, windowEndedAt } from './contracts.js';
import { DeviceAgent } from './device-agent.js';
import { clearDeviceCookie } from './device-sessions.js';
import type { ClientInfo } from './forward-headers.js';
import { type ForwardResult, hasBody } from './http-forwarder.js';
import { forwardToDevice } from './http-relay.js';
import { isWebSocketUpgrade } from './request-guard.js';
import { type StatusPage, sendStatusPage, writeRawStatusPage } from './status-page.js';
import { TCP_PATH, createTcpEndpoint, parseTcpPort } from './tcp-endpoint.js';
import { forwardUpgrade } from './upgrade-forwarder.js';
import { deviceOrigin, refusalText } from './resource-isolation.js';
import { AUTH_PATH, CLEAR_ON_SWITCH, SELECT_PATH, type SingleHostRequest, clearCookie } from './single-host.js';
import { type EntryDeps, openInstallerLink, openSignInLink, selectDevice } from './entry-links.js';
import { UNKNOWN_DEVICE, disabledPage, gatePage, offlinePage } from './refusal-pages.js';
import { CONSOLE_SOCKET_PATHS, createBrowserConsoles } from './browser-consoles/browser-consoles.js';
import { type ForwardCredentials, type GateDecision, type GateRequest, type VisitorGate, isolationOf } from './visitor-gate.js';

/** What the server worked out about a request before handing it to the device proxy. */
export interface DeviceRequestContext {
  requestId: string;
  /** performance.now() at arrival. */
  startedMs: number;
  client: ClientInfo;
  serial: string;
  /** Normalised device host, without port. */
  host: string;
  /** Host as the visitor wrote it, normalised, with `:port` when present. */
  hostWithPort: string;
  /** Origin-form target (path and query). */
  target: string;
  expectContinue: boolean;
  /** On the single device host: its cookies and the visitor's selection (single-host.ts). */
  single?: SingleHostRequest;
}

export interface DeviceProxyOptions {
  directory: DeviceDirectory;
  dialer: DeviceDialer;
  gate: VisitorGate;
  accessLog: AccessLogSink;
  metrics: HubMetrics;
  logger: Logger;
  dialTimeoutMs: number;
  responseTimeoutMs: number;
  idleTimeoutMs: number;
  maxHeaderBytes: number;
  deviceSessionTtlMs: number;
  /** Overlay port the agent maps to the device's web UI. */
  devicePort?: number;
  tunnelIdleMs?: number;
  tcpPortPolicy?: TcpPortPolicy;
  /** Sockets of an open tunnel, for shutdown. */
  onTunnel?(visitor: Duplex, device: Duplex): void;
  /**
   * Per client address budget for misses (unknown serials, bad tickets): serials are guessable, so
   * walking through them is throttled. Default: burst 30, then 1 per second.
   */
  missLimiter?: RateLimiter;
  /** Open (or opening) WebSocket and TCP tunnels allowed per device, and per visitor (user, or address). */
  maxTunnelsPerDevice?: number;
  maxTunnelsPerVisitor?: number;
  /** The single host's selection key (single-host.ts); needed only when a single host is configured. */
  selectionKey?: Uint8Array;
  /** VNC and SSH in the browser (`/.porthole/vnc`, `/.porthole/ssh`); default on. */
  browserConsoles?: boolean;
}

function pathOf(target: string): string {
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}

/** The hub's own answer to a request; a refused request's body is not read, so its connection closes. */
function answerRefused(res: ServerResponse, method: string, body: boolean, page: StatusPage): void {
  if (body) page.headers = { ...page.headers, connection: 'close' };
  sendStatusPage(res, page, method);
}

export function createDeviceProxy(o: DeviceProxyOptions) {
  const devicePort = o.devicePort ?? 80;
  const tunnelIdleMs = o.tunnelIdleMs ?? 15 * 60_000;
  const agent = new DeviceAgent({ dialer: o.dialer, dialTimeoutMs: o.dialTimeoutMs });
  const trackTunnel = (kind: 'websocket' | 'tcp') => (visitor: Duplex, device: Duplex) => {
    o.metrics.openTunnels.inc({ kind });
    device.once('close', () => o.metrics.openTunnels.dec({ kind }));
    o.onTunnel?.(visitor, device);
  };
  const tcp = createTcpEndpoint({
    dialer: o.dialer,
    dialTimeoutMs: o.dialTimeoutMs,
    tunnelIdleMs,
    ...(o.tcpPortPolicy ? { portPolicy: o.tcpPortPolicy } : {}),
    onTunnel: trackTunnel('tcp'),
  });
  const log = o.logger.child({ component: 'proxy' });
  const consoles =
    o.browserConsoles === false
      ? undefined
      : createBrowserConsoles({
          dialer: o.dialer,
          dialTimeoutMs: o.dialTimeoutMs,
          tunnelIdleMs,
          ...(o.tcpPortPolicy ? { portPolicy: o.tcpPortPolicy } : {}),
          onTunnel: trackTunnel('tcp'),
          logger: o.logger,
        });
  const misses = o.missLimiter ?? createRateLimiter({ capacity: 30, refillPerSecond: 1, maxKeys: 50_000 });

  const maxPerDevice = o.maxTunnelsPerDevice ?? 256;
  const maxPerVisitor = o.maxTunnelsPerVisitor ?? 64;
  const tunnelsPerDevice = new Map<string, number>();
  const tunnelsPerVisitor = new Map<string, number>();
  const bump = (map: Map<string, number>, key: string, by: number) => {
    const n = (map.get(key) ?? 0) + by;
    if (n <= 0) map.delete(key);
    else map.set(key, n);
  };
  /** Reserves a tunnel slot; returns its release function, or undefined when a cap is reached. */
  function admitTunnel(deviceId: string, visitor: string): (() => void) | undefined {
    if ((tunnelsPerDevice.get(deviceId) ?? 0) >= maxPerDevice || (tunnelsPerVisitor.get(visitor) ?? 0) >= maxPerVisitor) return undefined;
    bump(tunnelsPerDevice, deviceId, 1);
    bump(tunnelsPerVisitor, visitor, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      bump(tunnelsPerDevice, deviceId, -1);
      bump(tunnelsPerVisitor, visitor, -1);
    };
  }

  /** Counts a miss for the client; a 429 page when it has used up its budget. */
  function throttled(ctx: DeviceRequestContext): StatusPage | undefined {
    const d = misses.take(ctx.client.ip);
    if (d.allowed) return undefined;
    o.metrics.drops.inc({ reason: 'miss_rate_limited' });
    return {
      status: 429,
      title: 'Too many requests',
      message: 'Too many requests for unknown devices or invalid sign-in links from your address. Wait a moment.',
      headers: { 'retry-after': String(Math.max(1, Math.ceil(d.retryAfterSeconds))) },
      requestId: ctx.requestId,
    };
  }

  function record(ctx: DeviceRequestContext, device: DeviceRoute, method: string, userId: string | null, result: ForwardResult, kind: 'http' | 'websocket' | 'tcp'): void {
    const durationMs = performance.now() - ctx.startedMs;
    o.metrics.proxyRequests.inc({ status: result.status, kind });
    o.metrics.proxyLatency.observe({ kind }, durationMs / 1000);
    o.metrics.proxyBytes.inc({ direction: 'in' }, result.bytesIn);
    o.metrics.proxyBytes.inc({ direction: 'out' }, result.bytesOut);
    if (result.failure && result.failure !== 'client_aborted') o.metrics.drops.inc({ reason: result.failure });
    try {
      o.accessLog.record({
        at: new Date(),
        requestId: ctx.requestId,
        deviceId: device.id,
        serial: device.serial,
        ...(device.organizationId !== undefined ? { organizationId: device.organizationId } : {}),
        userId,
        clientIp: ctx.client.ip,
        method,
        path: pathOf(ctx.target),
        status: result.status,
        bytesIn: result.bytesIn,
        bytesOut: result.bytesOut,
        durationMs: Math.round(durationMs),
        kind,
        port: kind === 'tcp' ? (parseTcpPort(ctx.target) ?? 0) : devicePort,
      });
    } catch (err) {
      log.warn('access log sink threw', { err, requestId: ctx.requestId });
    }
    if (result.failure && result.failure !== 'client_aborted') {
      log.info('proxied request failed', { requestId: ctx.requestId, device: device.serial, status: result.status, failure: result.failure });
    }
  }

  const entry: EntryDeps = {
    gate: o.gate,
    metrics: o.metrics,
    log,
    deviceSessionTtlMs: o.deviceSessionTtlMs,
    ...(o.selectionKey ? { selectionKey: o.selectionKey } : {}),
    throttled,
    record,
  };

  /** Looks the device up; answers the visitor itself (404/403/503) when there is nothing to forward to. */
  async function resolveDevice(ctx: DeviceRequestContext, answer: (page: StatusPage) => void): Promise<DeviceRoute | undefined> {
    let device: DeviceRoute | undefined;
    try {
      device = await o.directory.findBySerial(ctx.serial);
    } catch (err) {
      log.warn('device directory unavailable', { err, requestId: ctx.requestId, device: ctx.serial });
      o.metrics.drops.inc({ reason: 'directory_unavailable' });
      answer({ status: 503, title: 'Temporarily unavailable', message: 'The device registry cannot be reached right now. Try again in a moment.', headers: { 'retry-after': '5' }, requestId: ctx.requestId });
      return undefined;
    }
    if (!device) {
      o.metrics.drops.inc({ reason: 'unknown_device' });
      answer(throttled(ctx) ?? { ...UNKNOWN_DEVICE, requestId: ctx.requestId });
      return undefined;
    }
    return device;
  }

  function gateRequest(req: IncomingMessage, ctx: DeviceRequestContext, device: DeviceRoute, kind: 'http' | 'websocket' | 'tcp', requireUser = false): GateRequest {
    return {
      req,
      device,
      hostWithPort: ctx.hostWithPort,
      target: ctx.target,
      proto: ctx.client.proto,
      kind,
      ...(requireUser ? { requireUser } : {}),
      ...(ctx.single ? { singleHost: { sessionCookie: ctx.single.cookies.session, portalOrigin: ctx.single.portalOrigin } } : {}),
    };
  }

  function userOf(d: GateDecision): string | null {
    return d.kind === 'allow' || d.kind === 'forbidden' || d.kind === 'refused' ? d.userId : null;
  }

  /** A request the hub answers itself with a refusal page, logged like a forwarded one. */
  function refuseRequest(ctx: DeviceRequestContext, device: DeviceRoute, res: ServerResponse, method: string, body: boolean, page: StatusPage, userId: string | null = null): void {
    answerRefused(res, method, body, page);
    record(ctx, device, method, userId, { status: page.status, bytesIn: 0, bytesOut: 0 }, 'http');
  }

  async function handleRequest(req: IncomingMessage, res: ServerResponse, ctx: DeviceRequestContext): Promise<void> {
    const method = req.method ?? 'GET';
    const body = hasBody(req);
    // No named function is made per request here: the hub runs under tsx, whose esbuild keepNames
    // wraps each one in a defineProperty call (~4% of the hub's CPU at 16 connections, the visitor bench).
    const device = await resolveDevice(ctx, (page) => answerRefused(res, method, body, page));
    if (!device) return;
    if (device.status === 'disabled') return refuseRequest(ctx, device, res, method, body, disabledPage(device, ctx.requestId));

    const path = pathOf(ctx.target);
    if (path.startsWith('/.porthole/')) return handleReserved(req, res, ctx, device, path, (page, userId = null) => refuseRequest(ctx, device, res, method, body, page, userId));

    if (ctx.single && req.headers['service-worker'] !== undefined) {
      // A service worker registered by one device would answer for every device on the shared origin.
      o.metrics.drops.inc({ reason: 'isolation' });
      return refuseRequest(ctx, device, res, method, body, { status: 403, title: 'Service workers refused', message: 'Device pages on the single device host cannot install service workers: every device shares this address.', serial: device.serial, requestId: ctx.requestId });
    }
    const decision = await o.gate.authorize(gateRequest(req, ctx, device, 'http'));
    const userId = userOf(decision);
    if (decision.kind !== 'allow') return refuseRequest(ctx, device, res, method, body, gatePage(decision, device, ctx.requestId, method, o.metrics), userId);
    // Past the owner's window the hub refuses too, should the device not have closed in time.
    if (!device.online || windowEndedAt(device, Date.now())) return refuseRequest(ctx, device, res, method, body, offlinePage(device, ctx.requestId), userId);

    const result = await forwardToDevice(
      {
        req,
        res,
        device,
        target: ctx.target,
        host: ctx.host,
        client: ctx.client,
        userId,
        requestId: ctx.requestId,
        expectContinue: ctx.expectContinue,
        credentials: { ...decision.forward, publicOrigin: deviceOrigin(ctx.client.proto, ctx.hostWithPort) },
      },
      { agent, devicePort, responseTimeoutMs: o.responseTimeoutMs, idleTimeoutMs: o.idleTimeoutMs, maxResponseHeaderBytes: o.maxHeaderBytes },
    );
    record(ctx, device, method, userId, result, 'http');
  }

  /** `/.porthole/*` is the hub's namespace on every device host and never reaches the device. */
  async function handleReserved(req: IncomingMessage, res: ServerResponse, ctx: DeviceRequestContext, device: DeviceRoute, path: string, refuse: (page: StatusPage, userId?: string | null) => void): Promise<void> {
    const method = req.method ?? 'GET';
    if (ctx.single && (path === SELECT_PATH || path === AUTH_PATH)) return selectDevice(entry, req, res, ctx, ctx.single, device, path, refuse);
    if (consoles && (method === 'GET' || method === 'HEAD')) {
      const asset = consoles.asset(path);
      if (asset) {
        res.writeHead(200, asset.headers);
        res.end(method === 'HEAD' ? undefined : asset.body);
        return;
      }
      if (consoles.isPage(path)) {
        // The consoles lead to the device's TCP ports: a signed-in visitor (or a token) even on a public device.
        const decision = await o.gate.authorize(gateRequest(req, ctx, device, 'http', true));
        const userId = userOf(decision);
        if (decision.kind !== 'allow') return refuse(gatePage(decision, device, ctx.requestId, method, o.metrics), userId);
        const page = consoles.page(path, ctx.target, { serial: device.serial, origin: `${ctx.client.proto}://${ctx.hostWithPort}` });
        res.writeHead(page.status, page.headers);
        res.end(method === 'HEAD' ? undefined : page.body);
        record(ctx, device, method, userId, { status: page.status, bytesIn: 0, bytesOut: 0 }, 'http');
        return;
      }
    }
    if (path === '/.porthole/auth' && (method === 'GET' || method === 'HEAD')) return openSignInLink(entry, req, res, ctx, device, path, refuse);
    if (path === INSTALLER_LINK_PATH && (method === 'GET' || method === 'HEAD')) return openInstallerLink(entry, req, res, ctx, device, path, refuse);
    if (path === '/.porthole/logout') {
      // Another device's page must not be able to sign the visitor out either.
      const verdict = isolationOf(req, ctx.client.proto, ctx.hostWithPort, false);
      if (!verdict.allowed) {
        o.metrics.drops.inc({ reason: 'isolation' });
        return refuse({ status: 403, ...refusalText(verdict.reason, device.serial, verdict.from), serial: device.serial, requestId: ctx.requestId });
      }
      try {
        await o.gate.signOut(req, ctx.single?.cookies.session);
      } catch (err) {
        log.warn('device session store unavailable', { err, requestId: ctx.requestId, device: device.serial });
        return refuse({ status: 503, title: 'Temporarily unavailable', message: 'Signing out is not possible right now. Try again in a moment.', headers: { 'retry-after': '5' }, requestId: ctx.requestId });
      }
      const secure = ctx.client.proto === 'https';
      const cleared = ctx.single
        ? { 'set-cookie': [clearCookie(ctx.single.cookies.session, secure), clearCookie(ctx.single.cookies.selection, secure)], 'clear-site-data': CLEAR_ON_SWITCH }
        : { 'set-cookie': clearDeviceCookie(secure) };
      res.writeHead(200, { ...cleared, 'cache-control': 'no-store', 'content-type': 'text/plain; charset=utf-8' });
      res.end('Signed out of this device.\n');
      record(ctx, device, method, null, { status: 200, bytesIn: 0, bytesOut: 0 }, 'http');
      return;
    }
    if (path === TCP_PATH) {
      return refuse({ status: 426, title: 'WebSocket required', message: 'This address forwards TCP over a WebSocket; use the porthole CLI.', headers: { upgrade: 'websocket' }, requestId: ctx.requestId });
    }
    refuse({ status: 404, title: 'Not found', message: 'No such page.', requestId: ctx.requestId });
  }

  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ctx: DeviceRequestContext): Promise<void> {
    const method = req.method ?? 'GET';
    const answer = (page: StatusPage) => writeRawStatusPage(socket, page);
    const device = await resolveDevice(ctx, answer);
    if (!device) return;
    const path = pathOf(ctx.target);
    const consoleSocket = consoles !== undefined && CONSOLE_SOCKET_PATHS.has(path);
    const kind = path === TCP_PATH || consoleSocket ? 'tcp' : 'websocket';
    const refuse = (page: StatusPage, userId: string | null = null) => {
      answer(page);
      record(ctx, device, method, userId, { status: page.status, bytesIn: 0, bytesOut: 0 }, kind);
    };
    if (!isWebSocketUpgrade(req)) {
      o.metrics.drops.inc({ reason: 'bad_upgrade' });
      return refuse({ status: 400, title: 'Bad request', message: 'Only WebSocket upgrades are supported.', requestId: ctx.requestId });
    }
    if (device.status === 'disabled') return refuse(disabledPage(device, ctx.requestId));
    if (path.startsWith('/.porthole/') && path !== TCP_PATH && !consoleSocket) return refuse({ status: 404, title: 'Not found', message: 'No such page.', requestId: ctx.requestId });

    const decision = await o.gate.authorize(gateRequest(req, ctx, device, kind));
    const userId = userOf(decision);
    // A WebSocket cannot follow a redirect: a login refusal is a 401.
    if (decision.kind !== 'allow') return refuse(gatePage(decision, device, ctx.requestId, 'WEBSOCKET', o.metrics), userId);
    if (!device.online || windowEndedAt(device, Date.now())) return refuse(offlinePage(device, ctx.requestId), userId);

    // Long-lived connections are the cheap way to exhaust a device or the hub: cap them.
    const release = admitTunnel(device.id, userId ?? `ip:${ctx.client.ip}`);
    if (!release) {
      o.metrics.drops.inc({ reason: 'tunnel_limit' });
      return refuse({ status: 429, title: 'Too many connections', message: 'Too many open connections to this device. Close some and retry.', headers: { 'retry-after': '10' }, requestId: ctx.requestId }, userId);
    }
    try {
      await forwardTunnel(req, socket, head, ctx, device, method, userId, kind, { ...decision.forward, publicOrigin: deviceOrigin(ctx.client.proto, ctx.hostWithPort) });
    } finally {
      release();
    }
  }

  async function forwardTunnel(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    ctx: DeviceRequestContext,
    device: DeviceRoute,
    method: string,
    userId: string | null,
    kind: 'tcp' | 'websocket',
    credentials: ForwardCredentials,
  ): Promise<void> {
    if (kind === 'tcp') {
      const path = pathOf(ctx.target);
      const result = path === TCP_PATH || !consoles ? await tcp.handle(req, socket, head, device, ctx.target) : await consoles.handleSocket(path, req, socket, head, device, ctx.target);
      record(ctx, device, method, userId, result, 'tcp');
      return;
    }
    const result = await forwardUpgrade(
      { req, socket, head, device, target: ctx.target, host: ctx.host, client: ctx.client, userId, requestId: ctx.requestId, credentials },
      {
        dialer: o.dialer,
        devicePort,
        dialTimeoutMs: o.dialTimeoutMs,
        responseTimeoutMs: o.responseTimeoutMs,
        tunnelIdleMs,
        maxResponseHeaderBytes: o.maxHeaderBytes,
        onTunnel: trackTunnel('websocket'),
      },
    );
    record(ctx, device, method, userId, result, 'websocket');
  }

  return {
    handleRequest,
    handleUpgrade,
    /** Closes pooled device connections and open TCP tunnels (shutdown). */
    close(): void {
      tcp.closeAll();
      consoles?.closeAll();
      agent.destroy();
    },
    get openTcpTunnels(): number {
      return tcp.openCount;
    },
  };
}

export type DeviceProxy = ReturnType<typeof createDeviceProxy>;
