// The hub's side of each operation of @porthole/api-contract: its handler, the middleware that runs
// before authentication (per-address limits on open endpoints) and its body limit. The operations
// and these answers together are the route table: it mounts the hono routes, and the contract's
// OpenAPI document describes the same operations, so a route cannot exist undocumented.
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import {
  operations,
  type ApiOperation,
  type OperationBody,
  type OperationId,
  type OperationParams,
  type OperationQuery,
  type Operations,
} from '@porthole/api-contract';
import type { ApiPrincipal } from '../auth/api-tokens.js';
import { parseInput, parseJsonBody } from '../http/validate.js';
import type { Registry } from '../registry/index.js';
import { requireApiToken, type ApiEnv } from './bearer-auth.js';

const NO_QUERY = z.strictObject({});

export interface RouteInput<P, Q, B> {
  c: Context<ApiEnv>;
  params: P;
  query: Q;
  body: B;
  /** Present on authenticated routes. */
  principal: ApiPrincipal;
}

/** How the hub answers one operation. */
export interface RouteImpl<P = unknown, Q = unknown, B = unknown> {
  bodyLimitBytes?: number;
  /** Runs before authentication and parsing (per-address limits on open endpoints). */
  before?: MiddlewareHandler<ApiEnv>[];
  handler: (input: RouteInput<P, Q, B>) => Promise<Response> | Response;
}

/** An operation of the contract with the hub's answer to it: one mounted route. */
export interface RouteDef<P = unknown, Q = unknown, B = unknown> extends ApiOperation, RouteImpl<P, Q, B> {
  operationId: OperationId;
}

/** An answer for every operation of the contract, typed by its schemas: a missing one does not compile. */
export type RouteImpls = {
  [K in OperationId]: RouteImpl<OperationParams<Operations[K]>, OperationQuery<Operations[K]>, OperationBody<Operations[K]>>;
};

/** The route table: each operation, in the contract's order, with its answer. */
export function routeTable(impls: RouteImpls): RouteDef<never, never, never>[] {
  return (Object.keys(operations) as OperationId[]).map((operationId) => ({ ...operations[operationId], operationId, ...impls[operationId] }) as unknown as RouteDef<never, never, never>);
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
