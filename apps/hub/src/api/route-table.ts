// One declaration per API route: method, path, auth, request schemas, documented responses and the
// handler. The same table mounts the hono routes and generates the OpenAPI document, so a route
// cannot exist undocumented and a documented schema is the one that validates.
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { ApiPrincipal } from '../auth/api-tokens.js';
import { parseInput, parseJsonBody } from '../http/validate.js';
import type { Registry } from '../registry/index.js';
import { requireApiToken, type ApiEnv } from './bearer-auth.js';

const NO_QUERY = z.strictObject({});

export type RouteAuth = 'none' | 'read' | 'write';
export type HttpMethod = 'get' | 'post' | 'patch' | 'delete';

export interface RouteResponse {
  description: string;
  schema?: z.ZodType;
}

export interface RouteInput<P, Q, B> {
  c: Context<ApiEnv>;
  params: P;
  query: Q;
  body: B;
  /** Present on authenticated routes. */
  principal: ApiPrincipal;
}

export interface RouteDef<P = unknown, Q = unknown, B = unknown> {
  method: HttpMethod;
  /** OpenAPI-style path relative to /api/v1, e.g. `/devices/{serial}`. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  auth: RouteAuth;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  bodyLimitBytes?: number;
  /** Runs before authentication and parsing (per-address limits on open endpoints). */
  before?: MiddlewareHandler<ApiEnv>[];
  /** Success responses; the common error responses are added for every route. */
  responses: Record<number, RouteResponse>;
  handler: (input: RouteInput<P, Q, B>) => Promise<Response> | Response;
}

/** Identity helper that lets TypeScript infer P, Q and B from the schemas. */
export function route<P = undefined, Q = undefined, B = undefined>(def: RouteDef<P, Q, B>): RouteDef<P, Q, B> {
  return def;
}

function honoPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}

/** Mounts every route on `app` (routes are matched in table order). */
export function mountRoutes(
  app: Hono<ApiEnv>,
  routes: readonly RouteDef<never, never, never>[],
  registry: Registry,
  authFailureLimit?: MiddlewareHandler<ApiEnv>,
): void {
  for (const def of routes as unknown as RouteDef[]) {
    const middlewares: MiddlewareHandler<ApiEnv>[] = [...(def.before ?? [])];
    if (def.auth !== 'none') middlewares.push(requireApiToken(registry, def.auth, authFailureLimit));
    app.on([def.method.toUpperCase()], [honoPath(def.path)], ...middlewares, async (c) => {
      const params = def.params ? parseInput(def.params, c.req.param()) : undefined;
      const query = parseInput(def.query ?? NO_QUERY, c.req.query());
      const body = def.body ? await parseJsonBody(c.req.raw, def.body, def.bodyLimitBytes) : undefined;
      return def.handler({ c, params, query, body, principal: c.get('principal') });
    });
  }
}
