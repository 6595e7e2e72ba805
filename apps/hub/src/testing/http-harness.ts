// Test harness for the hub's HTTP edge: local node:http servers stand in for devices (reached through
// a loopback DeviceDialer), an in-memory registry answers authorisation, and helpers send requests by
// Host header or as hand-written bytes on a raw socket. Used only by *.test.ts files.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import type { WebSocket } from 'ws';
import { afterAll, beforeAll } from 'vitest';
import { clientAddress } from '../http/rate-limit.js';
import { createHubMetrics } from '../ops/hub-metrics.js';
import { createMemoryLogger } from '../ops/logger.js';
import { createMemoryAccessLog } from '../proxy/batching-access-log.js';
import type { DeviceDialer, DeviceRoute, TcpPortPolicy, VisitorAuth } from '../proxy/contracts.js';
import { createStaticDirectory } from '../proxy/device-directory.js';
import { createLoopbackDialer } from '../proxy/loopback-dialer.js';
import { createTicketStore } from '../proxy/ticket-store.js';
import { type HubHttpConfig, type HubHttpOptions, createHubHttp } from '../server/hub-http.js';

export const DOMAIN = 'devices.test';
export const PORTAL = 'portal.test';

export const TEST_CONFIG: HubHttpConfig = {
  domain: DOMAIN,
  portalHost: PORTAL,
  listenHost: '127.0.0.1',
  httpPort: 0,
  tls: false,
  trustProxy: 0,
  opsHost: '127.0.0.1',
  dialTimeoutMs: 2_000,
  responseTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  headersTimeoutMs: 5_000,
  maxHeaderBytes: 16_384,
  maxConnectionsPerIp: 1_000,
  shutdownGraceMs: 5_000,
  deviceSessionTtlMs: 3_600_000,
};

export function route(serial: string, extra: Partial<DeviceRoute> = {}): DeviceRoute {
  return {
    id: `dev-${serial}`,
    serial,
    organizationId: `org-${serial}`,
    tunnelIp: '100.64.0.2',
    status: 'enabled',
    accessPolicy: 'public',
    online: true,
    lastSeenAt: new Date('2026-01-02T03:04:05Z'),
    ...extra,
  };
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

/** A device web server on 127.0.0.1 that records every request it receives. */
export async function startDevice(handler?: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void) {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    if (handler && req.headers['x-test-stream'] !== undefined) return handler(req, res, Buffer.alloc(0));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body });
      if (handler) return handler(req, res, body);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: body.toString() }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, seen, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

/** The registry's answers: which user may reach which device, and API tokens (token → user, scopes read+write unless given). */
export function fakeAuth(grants: Array<[string, string]> = [], tokens: Record<string, string | { userId: string; scopes: string[] }> = {}) {
  const allowed = new Set(grants.map(([u, d]) => `${u}|${d}`));
  const auth: VisitorAuth & { allowed: Set<string>; failing: boolean } = {
    allowed,
    failing: false,
    async canAccessDevice(userId, deviceId) {
      if (auth.failing) throw new Error('database down');
      return allowed.has(`${userId}|${deviceId}`);
    },
    async userForBearerToken(token) {
      if (auth.failing) throw new Error('database down');
      const t = tokens[token];
      if (t === undefined) return null;
      return typeof t === 'string' ? { userId: t, scopes: ['read', 'write'] } : t;
    },
  };
  return auth;
}

export interface HarnessOptions {
  devices: DeviceRoute[];
  /** serial → local port of its web server (overlay port 80). */
  webPorts: Record<string, number>;
  /** `${serial}:${port}` → local port, for /.porthole/tcp. */
  tcpPorts?: Record<string, number>;
  auth?: VisitorAuth;
  config?: Partial<HubHttpConfig>;
  dialer?: DeviceDialer;
  tcpPortPolicy?: TcpPortPolicy;
  now?: () => number;
  /** Anything else for createHubHttp (TLS credentials, readiness checks…). */
  hubOptions?: Partial<HubHttpOptions>;
}

export async function startHub(o: HarnessOptions) {
  const directory = createStaticDirectory(o.devices);
  const dialer =
    o.dialer ??
    createLoopbackDialer((device, port) => {
      const local = port === 80 ? o.webPorts[device.serial] : o.tcpPorts?.[`${device.serial}:${port}`];
      return local === undefined ? undefined : { host: '127.0.0.1', port: local };
    });
  const tickets = createTicketStore();
  const accessLog = createMemoryAccessLog();
  const logger = createMemoryLogger();
  const metrics = createHubMetrics();
  const portal = new Hono();
  portal.get('/', (c) => c.text('portal home'));
  portal.post('/echo', async (c) => c.text(await c.req.text()));
  portal.get('/ip', (c) => c.text(clientAddress(c)));
  const hub = createHubHttp({
    config: { ...TEST_CONFIG, ...o.config },
    directory,
    dialer,
    auth: o.auth ?? fakeAuth(),
    tickets,
    accessLog,
    portalApp: portal,
    metrics,
    logger,
    readiness: { database: () => true },
    ...(o.tcpPortPolicy ? { tcpPortPolicy: o.tcpPortPolicy } : {}),
    ...(o.now ? { now: o.now } : {}),
    ...o.hubOptions,
  });
  const addr = await hub.listen();
  return { hub, addr, port: addr.http.port, directory, dialer, tickets, accessLog, logger, metrics };
}

export type TestDevice = Awaited<ReturnType<typeof startDevice>>;
export type TestEdgeHub = Awaited<ReturnType<typeof startHub>>;

/**
 * For the enclosing describe block: one device web server standing in for every device in
 * `o.devices`, then a hub routing them to it, handed to `ready` before the block's tests; both are
 * closed after them, the hub first.
 */
export function useDeviceBehindHub(o: Omit<HarnessOptions, 'webPorts'>, ready: (bed: { device: TestDevice; h: TestEdgeHub }) => void): void {
  let device: TestDevice | undefined;
  let h: TestEdgeHub | undefined;
  beforeAll(async () => {
    device = await startDevice();
    h = await startHub({ ...o, webPorts: Object.fromEntries(o.devices.map((d) => [d.serial, device!.port])) });
    ready({ device, h });
  });
  afterAll(async () => {
    await h?.hub.close();
    await device?.close();
  });
}

export interface SimpleResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  /** The body as text. */
  body: string;
  /** The body as received (binary downloads, byte counts). */
  bytes: Buffer;
}

export interface HubRequestInit {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** Reuse this agent's connections (default: a fresh connection). */
  agent?: http.Agent;
  /** `Host: <host>:<port>`, as a browser sends it to a non-default port (default: `host` as given). */
  hostWithPort?: boolean;
  /** Give up when no answer has come after this long (default: wait). */
  timeoutMs?: number;
}

/** One request to the hub on 127.0.0.1:<port> with the given Host, the whole answer collected. */
export function request(port: number, host: string, path: string, init: HubRequestInit = {}): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const hostHeader = init.hostWithPort ? `${host}:${port}` : host;
    const req = http.request(
      { host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: { host: hostHeader, ...init.headers }, agent: init.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: bytes.toString(), bytes });
        });
        res.on('error', reject);
      },
    );
    if (init.timeoutMs !== undefined) req.setTimeout(init.timeoutMs, () => req.destroy(new Error(`no answer from ${hostHeader}${path}`)));
    req.on('error', reject);
    req.end(init.body);
  });
}

/**
 * Sends `payload` on an open WebSocket to an echoing device port (/.porthole/tcp) and collects the
 * binary messages until as many bytes have come back.
 */
export function echoThrough(ws: WebSocket, payload: Buffer): Promise<Buffer> {
  let got = Buffer.alloc(0);
  const all = new Promise<Buffer>((resolve) =>
    ws.on('message', (m: Buffer) => {
      got = Buffer.concat([got, m]);
      if (got.length >= payload.length) resolve(got);
    }),
  );
  ws.send(payload);
  return all;
}

/**
 * Sends hand-written bytes and collects everything the hub sends back until it closes the
 * connection (or `untilMatch` appears). Resolves with the text received and whether the hub closed.
 */
export function rawExchange(port: number, data: string | Buffer, opts: { untilMatch?: RegExp; endAfterWrite?: boolean } = {}): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ text, closed });
    };
    socket.on('connect', () => {
      socket.write(data);
      if (opts.endAfterWrite) socket.end();
    });
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (opts.untilMatch?.test(text)) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', (err) => (done ? undefined : reject(err)));
  });
}

/** Walks the ticket flow like a browser: returns the `porthole_device=…` cookie pair. */
export async function signIn(h: Awaited<ReturnType<typeof startHub>>, userId: string, serial: string, next = '/'): Promise<string> {
  const ticket = await h.tickets.issue(userId, serial, next);
  const res = await request(h.port, `${serial}.${DOMAIN}:${h.port}`, `/.porthole/auth?ticket=${ticket}`);
  if (res.status !== 302) throw new Error(`ticket redemption answered ${res.status}`);
  const setCookie = res.headers['set-cookie']?.[0] ?? '';
  return setCookie.split(';')[0]!;
}
