// A real hub in-process on 127.0.0.1 for the agent integration tests (issue 6 "Tests"): temp data
// dir, free HTTP port, WireGuard on a fixed loopback UDP port so the hub can be closed and started
// again on the same data dir and port (a restart), admin API helpers and Host-header requests.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UdpBind } from '@porthole/wireguard';
import { createHub, loadConfig, type Hub } from '@porthole/hub';
import { freePort } from '../../support/free-port.js';

export const ADMIN_EMAIL = 'admin@example.io';
export const ADMIN_PASSWORD = 'correct horse battery staple 42';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export interface HubHarnessOptions {
  /** What devices are told to dial (default: the hub's own UDP port); a relay's address puts it in the path. */
  wgEndpoint?: (udpPort: number) => string;
  /** The proxy's overlay dial timeout (a torn-down device then answers with a status page quickly). */
  dialTimeoutMs?: number;
  /** More hub settings as environment variables, e.g. PORTHOLE_DEVICE_CA_FILE. */
  env?: Record<string, string>;
}

export interface HubHarness {
  readonly hub: Hub;
  readonly httpPort: number;
  readonly udpPort: number;
  readonly dataDir: string;
  readonly adminToken: string;
  /** http://localhost:<port>: the portal and API origin. */
  readonly portalUrl: string;
  /** A request to 127.0.0.1:<port> with `Host: <host>:<port>`. */
  request(host: string, path: string, init?: { method?: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number }): Promise<Reply>;
  /** The admin REST API with the bootstrap admin token. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  /** Close the hub and start a new one on the same data dir, HTTP port and UDP port. */
  restart(): Promise<{ downMs: number }>;
  close(): Promise<void>;
}

export function httpRequest(
  port: number,
  host: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: { host: `${host}:${port}`, ...init.headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode!, headers: res.headers, body, text: body.toString() });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(init.timeoutMs ?? 30_000, () => req.destroy(new Error(`no answer from ${host}${path}`)));
    req.on('error', reject);
    req.end(init.body);
  });
}

export async function startHubHarness(options: HubHarnessOptions = {}): Promise<HubHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'porthole-agent-hub-'));
  const httpPort = await freePort();
  const adminToken = `ph_api_${randomBytes(24).toString('base64url')}`;
  let bind = await UdpBind.open({ host: '127.0.0.1' });
  const udpPort = bind.localPort!;
  const config = loadConfig(
    {
      PORTHOLE_DATA_DIR: dataDir,
      PORTHOLE_HTTP_PORT: String(httpPort),
      PORTHOLE_LISTEN_HOST: '127.0.0.1',
      PORTHOLE_WG_ENDPOINT: options.wgEndpoint?.(udpPort) ?? `127.0.0.1:${udpPort}`,
      PORTHOLE_ADMIN_EMAIL: ADMIN_EMAIL,
      PORTHOLE_ADMIN_PASSWORD: ADMIN_PASSWORD,
      PORTHOLE_ADMIN_TOKEN: adminToken,
      PORTHOLE_SHUTDOWN_GRACE_MS: '500',
      ...(options.dialTimeoutMs ? { PORTHOLE_DIAL_TIMEOUT_MS: String(options.dialTimeoutMs) } : {}),
      ...options.env,
    },
    (path) => readFileSync(path, 'utf8'),
  );
  let hub = await createHub({ config, bind, statusFlushMs: 200 });
  await hub.listen();

  const request: HubHarness['request'] = (host, path, init) => httpRequest(httpPort, host, path, init);
  const harness: HubHarness = {
    get hub() {
      return hub;
    },
    httpPort,
    udpPort,
    dataDir,
    adminToken,
    portalUrl: `http://localhost:${httpPort}`,
    request,
    async api(method, path, body) {
      const res = await request('localhost', `/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, json: res.body.length ? JSON.parse(res.text) : undefined };
    },
    async restart() {
      await hub.close();
      const down = performance.now();
      // The same UDP port: devices keep sending to the address they registered with.
      bind = await UdpBind.open({ host: '127.0.0.1', port: udpPort });
      hub = await createHub({ config, bind, statusFlushMs: 200 });
      await hub.listen();
      return { downMs: performance.now() - down };
    },
    async close() {
      await hub.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Polls `fn` until it returns something other than undefined or false; throws after `timeoutMs` naming `what`. */
export async function until<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 10_000, stepMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
