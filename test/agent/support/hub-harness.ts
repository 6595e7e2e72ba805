// A real hub in-process on 127.0.0.1 for the agent integration tests (startTestHub: temp data dir,
// free HTTP port, WireGuard on a loopback UDP port kept across a restart on the same data dir), with
// admin API helpers and Host-header requests.
import type { Hub } from '@porthole/hub';
import { TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD, request as hubRequest, startTestHub, type HubRequestInit, type SimpleResponse as Reply } from '@porthole/hub/testing';
import { afterAll, beforeAll } from 'vitest';
import { until } from '../../support/until.js';

export type { Reply };
export { until } from '../../support/until.js';

export const ADMIN_EMAIL = TEST_ADMIN_EMAIL;
export const ADMIN_PASSWORD = TEST_ADMIN_PASSWORD;

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
  request(host: string, path: string, init?: Omit<HubRequestInit, 'hostWithPort'>): Promise<Reply>;
  /** `request` again every `stepMs` until it answers 200 (each try may take `timeoutMs`); throws after `withinMs` naming `what`. */
  served(host: string, path: string, what: string, options?: { withinMs?: number; stepMs?: number; timeoutMs?: number }): Promise<Reply>;
  /** The admin REST API with the bootstrap admin token. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  /** Close the hub and start a new one on the same data dir, HTTP port and UDP port. */
  restart(): Promise<{ downMs: number }>;
  close(): Promise<void>;
}

export async function startHubHarness(options: HubHarnessOptions = {}): Promise<HubHarness> {
  const t = await startTestHub({
    name: 'agent',
    ...(options.wgEndpoint ? { wgEndpoint: options.wgEndpoint } : {}),
    env: { ...(options.dialTimeoutMs ? { PORTHOLE_DIAL_TIMEOUT_MS: String(options.dialTimeoutMs) } : {}), ...options.env },
  });
  const request: HubHarness['request'] = (host, path, init) => hubRequest(t.httpPort, host, path, { timeoutMs: 30_000, ...init, hostWithPort: true });
  return {
    get hub() {
      return t.hub;
    },
    httpPort: t.httpPort,
    udpPort: t.udpPort,
    dataDir: t.dataDir,
    adminToken: t.adminToken,
    portalUrl: t.url,
    request,
    served: (host, path, what, { withinMs, stepMs, timeoutMs } = {}) =>
      until(
        async () => {
          const r = await request(host, path, timeoutMs ? { timeoutMs } : {});
          return r.status === 200 ? r : undefined;
        },
        what,
        withinMs,
        stepMs,
      ),
    async api(method, path, body) {
      const res = await request('localhost', `/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${t.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, json: res.body ? JSON.parse(res.body) : undefined };
    },
    restart: () => t.restart(),
    close: () => t.close(),
  };
}

/**
 * One hub for a whole test file (or describe block): started in beforeAll, closed in afterAll after
 * the file's own afterAll hooks (vitest runs after-hooks last registered first), so agents close
 * before their hub. Usable once the hooks have run.
 */
export function useHubHarness(options: HubHarnessOptions = {}): HubHarness {
  let started: HubHarness | undefined;
  beforeAll(async () => {
    started = await startHubHarness(options);
  });
  afterAll(async () => {
    await started?.close();
  });
  return new Proxy({} as HubHarness, {
    get(_, key) {
      if (!started) throw new Error(`the test hub was used before beforeAll started it (${String(key)})`);
      return Reflect.get(started, key);
    },
  });
}
