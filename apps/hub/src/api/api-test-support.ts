// Test harness for the API: a hono app on a test database, request helpers that parse JSON, and
// a check of each success response against the schema its route documents.
import { Hono } from 'hono';
import type { z } from 'zod';
import type { Database } from '@porthole/db';
import type { RegistryOptions } from '../registry/index.js';
import { createTestClock, createTestRegistry, type TestClock } from '../registry/test-support.js';
import { apiRouteTable, createApiRoutes, type ApiLimits } from './api-routes.js';
import type { RouteDef } from './route-table.js';

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

export async function createApiHarness(db: Database, options: { clock?: TestClock; limits?: ApiLimits; registry?: Partial<RegistryOptions> } = {}) {
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
