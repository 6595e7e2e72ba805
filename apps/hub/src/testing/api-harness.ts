// Test harness for the API: a hono app on a test database, request helpers that parse JSON, and
// a check of each success response against the schema its route documents.
import { Hono } from 'hono';
import type { z } from 'zod';
import type { Database, DriverName } from '@porthole/db';
import { truncateAll, useTestDatabase, type TestDatabase } from '@porthole/db/testing';
import type { RegistryOptions } from '../registry/index.js';
import type { SecretBox } from '../webhooks/secret-box.js';
import { createTestClock, createTestRegistry, testKey, type TestClock } from './registry-test-bed.js';
import { apiRouteTable, createApiRoutes, type ApiLimits } from '../api/api-routes.js';
import type { RouteDef } from '../api/route-table.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdefghijklmnopqrstuvwxyz';
export const ADMIN_PASSWORD = 'correct horse battery';

export interface ApiResult {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as-is instead of JSON.stringify(body). */
  raw?: string;
  token?: string | null;
  headers?: Record<string, string>;
  ip?: string;
}

export async function createApiHarness(db: Database, options: { clock?: TestClock; limits?: ApiLimits; registry?: Partial<RegistryOptions>; webhookSecrets?: SecretBox } = {}) {
  const clock = options.clock ?? createTestClock();
  const registry = createTestRegistry(db, clock, options.registry);
  const unlimited = { capacity: 1e9, refillPerSecond: 1e9 };
  const deps = {
    registry,
    limits: {
      register: unlimited,
      claimStart: unlimited,
      claimPoll: unlimited,
      authFailures: unlimited,
      enrollmentTokenFailures: unlimited,
      pollTokenFailures: unlimited,
      ...options.limits,
    },
    ...(options.webhookSecrets ? { webhookSecrets: options.webhookSecrets } : {}),
  };
  const app = new Hono().route('/api/v1', createApiRoutes(deps));
  const table = apiRouteTable(deps) as unknown as RouteDef[];

  async function request(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResult> {
    const headers: Record<string, string> = { ...opts.headers };
    let body: string | undefined;
    if (opts.raw !== undefined || opts.body !== undefined) {
      body = opts.raw ?? JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
    if (token !== null) headers.authorization ??= `Bearer ${token}`;
    const res = await app.request(`/api/v1${path}`, { method, headers, ...(body === undefined ? {} : { body }) }, {
      incoming: { socket: { remoteAddress: opts.ip ?? '192.0.2.1' } },
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text === '' ? null : JSON.parse(text) };
  }

  /** Asserts `result.body` matches the schema the route documents for its status; returns the body. */
  function documented(method: string, path: string, result: ApiResult): unknown {
    const def = table.find((r) => r.method === method.toLowerCase() && new RegExp(`^${r.path.replace(/\{\w+\}/g, '[^/]+')}$`).test(path.split('?')[0]!));
    if (!def) throw new Error(`no route documents ${method} ${path}`);
    const response = def.responses[result.status];
    if (!response) throw new Error(`${method} ${path} answered ${result.status}, which its route does not document: ${JSON.stringify(result.body)}`);
    if (response.schema) (response.schema as z.ZodType).parse(result.body);
    else if (result.body !== null) throw new Error(`${method} ${path} ${result.status} should have no body`);
    return result.body;
  }

  return { app, registry, clock, request, documented, table };
}

export type ApiHarness = Awaited<ReturnType<typeof createApiHarness>>;

/** The tokens, users and devices the API tests start from. */
export interface Fixture {
  enrollmentToken: string;
  expiredToken: string;
  revokedToken: string;
  usedToken: string;
  readToken: string;
  revokedApiToken: string;
  userToken: string;
  pollToken: string;
  enrollmentTokenId: string;
  adminId: string;
}

export async function seedApi(h: ApiHarness): Promise<Fixture> {
  const { registry, clock } = h;
  const admin = (await registry.bootstrapAdmin({ adminEmail: 'admin@example.io', adminPassword: ADMIN_PASSWORD, adminToken: ADMIN_TOKEN }))!;
  const user = await registry.signUp({ email: 'user@example.io', password: ADMIN_PASSWORD });
  const mk = (o: Parameters<typeof registry.createEnrollmentToken>[0]) => registry.createEnrollmentToken(o);
  const expired = await mk({ createdBy: admin.id, expiresInSeconds: 60 });
  clock.advance(61_000);
  const enrollment = await mk({ createdBy: admin.id, maxUses: 100, tags: ['fleet'] });
  const revoked = await mk({ createdBy: admin.id });
  await registry.revokeEnrollmentToken(revoked.info.id);
  const used = await mk({ createdBy: admin.id });
  await registry.registerDevice({ serial: 'an00000001', publicKey: testKey('existing'), enrollmentToken: used.token });
  await registry.registerDevice({ serial: 'an00000002', publicKey: testKey('second'), enrollmentToken: enrollment.token });
  const read = await registry.createApiToken({ userId: admin.id, name: 'read', scopes: ['read'] });
  const revokedApi = await registry.createApiToken({ userId: admin.id, name: 'gone', scopes: ['write'] });
  await registry.revokeApiToken(revokedApi.info.id);
  const userApi = await registry.createApiToken({ userId: user.id, name: 'user', scopes: ['read', 'write'] });
  const claim = await registry.startClaim({ serial: 'claimed1', publicKey: testKey('claim') });
  await registry.grantAccess('an00000002', { email: 'user@example.io' });
  await registry.appendAccessLog([
    { at: clock.now(), serial: 'an00000002', userId: user.id, clientIp: '198.51.100.1', method: 'GET', path: '/', status: 200, bytesIn: 10, bytesOut: 2000, durationMs: 12 },
  ]);
  // Warm up: first uses record last_used_at; later uses within a minute write nothing.
  for (const token of [ADMIN_TOKEN, read.token, userApi.token]) await h.request('GET', '/whoami', { token });
  return {
    enrollmentToken: enrollment.token,
    expiredToken: expired.token,
    revokedToken: revoked.token,
    usedToken: used.token,
    readToken: read.token,
    revokedApiToken: revokedApi.token,
    userToken: userApi.token,
    pollToken: claim.pollToken,
    enrollmentTokenId: enrollment.info.id,
    adminId: admin.id,
  };
}

/** A registration body with the fixture's enrollment token; `over` replaces fields. */
export const reg = (f: Fixture, over: Record<string, unknown> = {}) => ({
  token: null,
  body: { serial: 'an99999999', publicKey: testKey('new'), enrollmentToken: f.enrollmentToken, ...over },
});

/** What the API tests read: the database, the harness on it and the fixture seeded into it. */
export interface ApiTestBed {
  readonly t: TestDatabase;
  readonly h: ApiHarness;
  readonly f: Fixture;
  /** Empties the database, builds a new harness and seeds the fixture: a hook for beforeEach or beforeAll. */
  fresh(): Promise<void>;
}

/** The API tests' database on `driver` for the enclosing describe block; `fresh` makes the harness and fixture. */
export function useApiTestBed(driver: DriverName): ApiTestBed {
  const t = useTestDatabase(driver);
  let current: { h: ApiHarness; f: Fixture } | undefined;
  const made = () => {
    if (!current) throw new Error('the API test bed is read before fresh() has run');
    return current;
  };
  return {
    t,
    get h() {
      return made().h;
    },
    get f() {
      return made().f;
    },
    async fresh() {
      await truncateAll(t.db);
      const h = await createApiHarness(t.db);
      current = { h, f: await seedApi(h) };
    },
  };
}
