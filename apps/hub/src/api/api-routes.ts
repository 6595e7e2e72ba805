// The hono sub-app mounted at /api/v1: device registration and the claim flow (open, rate-limited
// per client address), the admin REST API (bearer API tokens of administrators) and the OpenAPI
// document: the operations of @porthole/api-contract, each with its handler here. Every body goes
// through parseJsonBody with the contract's strict schema; every error through errorResponse.
import { Hono, type MiddlewareHandler } from 'hono';
import { buildOpenApiDocument } from '@porthole/api-contract';
import { randomBytes } from 'node:crypto';
import { DomainError, NotFoundError, UnavailableError, UnauthorizedError } from '../errors.js';
import { errorResponse, errorStatus } from '../http/error-response.js';
import { clientAddress, createRateLimiter, rateLimit, withFailureBudget, type Budget, type RateLimiterOptions } from '../http/rate-limit.js';
import type { Logger } from '../ops/logger.js';
import type { Registry } from '../registry/index.js';
import type { SecretBox } from '../webhooks/secret-box.js';
import type { ApiEnv } from './bearer-auth.js';
import { requireSuperadmin } from '../auth/authorization.js';
import { deviceFor, mayManageWebhook, newInOrganization, NIL_UUID, organizationFilter, organizationForNew, organizationsWhere, ownedRow, resourceFor, visibleTo } from './organization-scope.js';
import { organizationRoutes } from './organization-routes.js';
import { mountRoutes, routeTable, type RouteDef, type RouteImpls } from './route-table.js';

export interface ApiLimits {
  register?: RateLimiterOptions;
  claimStart?: RateLimiterOptions;
  claimPoll?: RateLimiterOptions;
  /** Failed bearer authentications per client address. */
  authFailures?: RateLimiterOptions;
  /** Registrations refused for their enrollment token, per client address. */
  enrollmentTokenFailures?: RateLimiterOptions;
  /** Polls with an unknown or expired poll token, per client address. */
  pollTokenFailures?: RateLimiterOptions;
}

/** Where devices are, as the hub's reachability and cluster membership answer it. */
export interface ApiCluster {
  /** The node holding the device at this tunnel address, null when offline. */
  nodeOf(tunnelIp: string): string | null;
  /** Every live node's WireGuard endpoint, this node's first. */
  endpoints(): string[];
  nodes(): { name: string; wgEndpoint: string; alive: boolean; lastSeenAt: string; devicesOnline: number }[];
}

export interface ApiDeps {
  registry: Registry;
  /** Holder names and endpoints; without it devices show node null and registrations one endpoint. */
  cluster?: ApiCluster;
  logger?: Logger;
  /** Reported as the OpenAPI `info.version`. */
  version?: string;
  limits?: ApiLimits;
  /**
   * Count the per-address guessing budgets (enrollment and poll tokens, failed authentications) in
   * the throttles table instead of in memory: cluster mode, so every node shares one budget.
   */
  sharedBudgets?: boolean;
  /** Seals webhook signing secrets at rest (a key from the hub key); without it webhooks cannot be added. */
  webhookSecrets?: SecretBox;
}

const OPEN_BODY_LIMIT = 8 * 1024;
/** Registration and claim bodies may carry a device certificate chain (attestation). */
const ATTESTED_BODY_LIMIT = 16 * 1024;

/** The route table; exported for the OpenAPI document and for tests that check responses against it. */
export function apiRouteTable(deps: ApiDeps): RouteDef<never, never, never>[] {
  const { registry } = deps;
  // In a cluster the per-address budgets live in the throttles table: every node counts against one.
  const budget = (purpose: string, o: RateLimiterOptions): Budget => (deps.sharedBudgets ? registry.sharedBudget(purpose, o) : createRateLimiter(o));
  const limiter = (purpose: string, o: RateLimiterOptions | undefined, d: RateLimiterOptions, message: string): MiddlewareHandler<ApiEnv> =>
    rateLimit({ limiter: budget(purpose, o ?? d), message });
  // A fleet behind one carrier-grade NAT may register many devices at once: generous per-address bursts.
  const registerLimit = limiter('api-register', deps.limits?.register, { capacity: 60, refillPerSecond: 2 }, 'too many registrations from this address; slow down');
  const claimLimit = limiter('api-claim-start', deps.limits?.claimStart, { capacity: 10, refillPerSecond: 0.2 }, 'too many claims from this address; slow down');
  const pollLimit = limiter('api-claim-poll', deps.limits?.claimPoll, { capacity: 60, refillPerSecond: 2 }, 'too many polls from this address; slow down');
  // Guessing budgets: tokens are 256-bit, but nobody gets to try them at request rate.
  const enrollmentMisses = budget('api-enrollment-miss', deps.limits?.enrollmentTokenFailures ?? { capacity: 10, refillPerSecond: 1 / 60 });
  const pollMisses = budget('api-poll-miss', deps.limits?.pollTokenFailures ?? { capacity: 30, refillPerSecond: 1 / 10 });
  const withNode = <D extends { tunnelIp: string }>(d: D) => ({ ...d, node: deps.cluster?.nodeOf(d.tunnelIp) ?? null });
  const withEndpoints = <R extends { hub: { endpoint: string } }>(r: R) => ({ ...r, hub: { ...r.hub, endpoints: deps.cluster?.endpoints() ?? [r.hub.endpoint] } });
  const fieldIs = (field: string) => (err: unknown) => err instanceof DomainError && err.field === field && (err instanceof UnauthorizedError || err.code === 'expired_token');

  const impls: RouteImpls = {
    // ---- open: the agent's contract ----
    registerDevice: {
      bodyLimitBytes: ATTESTED_BODY_LIMIT, before: [registerLimit],
      handler: async ({ c, body }) => {
        const result = await withFailureBudget(enrollmentMisses, clientAddress(c), 'too many refused enrollment tokens from this address; try again later', () => registry.registerDevice(body), fieldIs('enrollmentToken'));
        return c.json(withEndpoints(result.registration), result.created ? 201 : 200);
      },
    },
    startClaim: {
      bodyLimitBytes: ATTESTED_BODY_LIMIT, before: [claimLimit],
      handler: async ({ c, body }) => c.json(await registry.startClaim(body), 201),
    },
    pollClaim: {
      bodyLimitBytes: OPEN_BODY_LIMIT, before: [pollLimit],
      handler: async ({ c, body }) => {
        const poll = await withFailureBudget(pollMisses, clientAddress(c), 'too many unknown poll tokens from this address; try again later', () => registry.pollClaim(body.pollToken), fieldIs('pollToken'));
        return c.json(poll.status === 'approved' ? { ...poll, registration: withEndpoints(poll.registration) } : poll, 200);
      },
    },

    // ---- admin: devices ----
    whoAmI: {
      handler: async ({ c, principal }) => {
        const { actor } = principal;
        const orgs = await registry.listOrganizations([...actor.memberships.keys()]);
        return c.json({
          user: principal.user,
          scopes: principal.scopes,
          superadmin: actor.superadmin,
          organizations: orgs.map((o) => ({ id: o.id, name: o.name, role: actor.memberships.get(o.id)! })),
        });
      },
    },
    listDevices: {
      handler: async ({ c, query, principal }) => {
        const page = await registry.listDevices({ ...query, organizationIds: organizationFilter(principal.actor) });
        return c.json({ ...page, devices: page.devices.map(withNode) });
      },
    },
    getDevice: {
      handler: async ({ c, params, principal }) => c.json(withNode(await deviceFor(registry, principal.actor, params.serial, 'read'))),
    },
    updateDevice: {
      handler: async ({ c, params, body, principal }) => {
        await deviceFor(registry, principal.actor, params.serial, 'devices'); // 404 before any change
        let ownerId: string | null | undefined;
        if (body.ownerEmail !== undefined) {
          ownerId = body.ownerEmail === null ? null : (await registry.findUserByEmail(body.ownerEmail))?.id;
          if (ownerId === undefined) throw new NotFoundError(`no account with e-mail ${body.ownerEmail}`, { field: 'ownerEmail' });
        }
        if (body.status) await registry.setDeviceStatus(params.serial, body.status);
        if (body.accessPolicy) await registry.setAccessPolicy(params.serial, body.accessPolicy);
        if (ownerId !== undefined) await registry.setDeviceOwner(params.serial, ownerId);
        return c.json(withNode(await registry.getDevice(params.serial)));
      },
    },
    deleteDevice: {
      handler: async ({ c, params, principal }) => {
        await deviceFor(registry, principal.actor, params.serial, 'devices');
        await registry.deleteDevice(params.serial);
        return c.body(null, 204);
      },
    },
    approveKeyRotation: {
      handler: async ({ c, params, body, principal }) => {
        await deviceFor(registry, principal.actor, params.serial, 'devices');
        return c.json(await registry.approveKeyRotation(params.serial, body.publicKey, principal.user.id));
      },
    },
    listGrants: {
      handler: async ({ c, params, principal }) => {
        await deviceFor(registry, principal.actor, params.serial, 'read');
        return c.json(await registry.listGrants(params.serial));
      },
    },
    grantAccess: {
      handler: async ({ c, params, body, principal }) =>
        (await deviceFor(registry, principal.actor, params.serial, 'devices')) &&
        c.json(
          await registry.grantAccess(params.serial, {
            email: body.email,
            expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
            grantedBy: principal.user.id,
            readOnly: body.readOnly ?? false,
          }),
          201,
        ),
    },
    revokeGrant: {
      handler: async ({ c, params, principal }) => {
        await deviceFor(registry, principal.actor, params.serial, 'devices');
        await registry.revokeGrant(params.serial, params.userId);
        return c.body(null, 204);
      },
    },

    listDeviceLinks: {
      handler: async ({ c, params, principal }) => {
        await deviceFor(registry, principal.actor, params.serial, 'read');
        return c.json(await registry.listDeviceLinks(params.serial));
      },
    },
    createDeviceLink: {
      handler: async ({ c, params, body, principal }) =>
        (await deviceFor(registry, principal.actor, params.serial, 'devices')) &&
        c.json(await registry.createDeviceLink(params.serial, { hours: body.hours, readOnly: body.readOnly ?? false, createdBy: principal.user.id }), 201),
    },
    revokeDeviceLink: {
      handler: async ({ c, params, principal }) => {
        await deviceFor(registry, principal.actor, params.serial, 'devices');
        await registry.revokeDeviceLink(params.serial, params.id);
        return c.body(null, 204);
      },
    },

    // ---- admin: accounts ----
    listUsers: {
      handler: async ({ c, principal }) => {
        requireSuperadmin(principal.actor);
        return c.json(await registry.listUsers());
      },
    },
    disableUser: {
      handler: async ({ c, params, principal }) => {
        requireSuperadmin(principal.actor);
        return c.json(await registry.disableUser(params.id, principal.user));
      },
    },
    enableUser: {
      handler: async ({ c, params, principal }) => {
        requireSuperadmin(principal.actor);
        return c.json(await registry.enableUser(params.id, principal.user));
      },
    },

    // ---- organisations ----
    ...organizationRoutes(registry),

    // ---- admin: tokens ----
    listEnrollmentTokens: {
      handler: async ({ c, principal }) => c.json(visibleTo(principal.actor, await registry.listEnrollmentTokens())),
    },
    createEnrollmentToken: {
      handler: async ({ c, body, principal }) => {
        const { token, info } = await registry.createEnrollmentToken(await newInOrganization(registry, principal.actor, principal.user.id, body, 'tokens'));
        return c.json({ ...info, token }, 201);
      },
    },
    revokeEnrollmentToken: {
      handler: async ({ c, params, principal }) => {
        ownedRow(principal.actor, 'tokens', await registry.listEnrollmentTokens(), params.id, () => new NotFoundError(`enrollment token ${params.id} does not exist`, { field: 'id' }));
        return c.json(await registry.revokeEnrollmentToken(params.id));
      },
    },
    // Personal tokens: a hub administrator sees and revokes all of them; anyone else only their own.
    listApiTokens: {
      handler: async ({ c, principal }) => c.json(await registry.listApiTokens(principal.actor.superadmin ? undefined : principal.user.id)),
    },
    createApiToken: {
      handler: async ({ c, body, principal }) => {
        // An organisation token acts for the organisation: it makes organisation tokens, not personal ones.
        if (principal.organizationId) requireSuperadmin(principal.actor);
        const { token, info } = await registry.createApiToken({ userId: principal.user.id, ...body });
        return c.json({ ...info, token }, 201);
      },
    },
    revokeApiToken: {
      handler: async ({ c, params, principal }) =>
        // An organisation token owns no personal token (the nil id matches none).
        c.json(await registry.revokeApiToken(params.id, principal.actor.superadmin ? undefined : principal.organizationId ? NIL_UUID : principal.user.id)),
    },

    // ---- admin: serial prefixes only enrollment tokens may register ----
    // Hub-wide (a prefix spans organisations): hub administrators only.
    listSerialReservations: {
      handler: async ({ c, principal }) => {
        requireSuperadmin(principal.actor);
        return c.json(await registry.listSerialReservations());
      },
    },
    addSerialReservation: {
      handler: async ({ c, body, principal }) => {
        requireSuperadmin(principal.actor);
        return c.json(await registry.addSerialReservation({ ...body, createdBy: principal.user.id }), 201);
      },
    },
    removeSerialReservation: {
      handler: async ({ c, params, principal }) => {
        requireSuperadmin(principal.actor);
        await registry.removeSerialReservation(params.prefix);
        return c.body(null, 204);
      },
    },

    // ---- admin: overlay peers and audit ----
    listAdminPeers: {
      handler: async ({ c, principal }) => c.json(visibleTo(principal.actor, await registry.listAdminPeers())),
    },
    createAdminPeer: {
      handler: async ({ c, body, principal }) => {
        // Owners and admins add their organisation's peers; the overlay router keeps a peer to its organisation's devices.
        const { peer, config } = await registry.createAdminPeer(await newInOrganization(registry, principal.actor, principal.user.id, body, 'peers'));
        return c.json({ ...peer, config }, 201);
      },
    },
    deleteAdminPeer: {
      handler: async ({ c, params, principal }) => {
        ownedRow(principal.actor, 'peers', await registry.listAdminPeers(), params.id, () => new NotFoundError(`admin peer ${params.id} does not exist`, { field: 'id' }));
        await registry.deleteAdminPeer(params.id);
        return c.body(null, 204);
      },
    },
    queryAccessLog: {
      handler: async ({ c, query, principal }) =>
        c.json(
          await registry.queryAccessLog({
            serial: query.serial,
            organizationIds: organizationFilter(principal.actor),
            ...(query.from ? { from: new Date(query.from) } : {}),
            ...(query.to ? { to: new Date(query.to) } : {}),
            ...(query.limit ? { limit: query.limit } : {}),
            ...(query.cursor ? { cursor: query.cursor } : {}),
          }),
        ),
    },
    // ---- admin: webhooks ----
    // Webhook endpoints: hub-wide ones (every event of the hub) are the operator's; an organisation's
    // (events of its devices) are also its owners' and admins'. Others' are unknown to a caller.
    listWebhooks: {
      handler: async ({ c, principal }) => c.json((await registry.listWebhooks()).filter((w) => mayManageWebhook(principal.actor, w.organizationId))),
    },
    createWebhook: {
      handler: async ({ c, body, principal }) => {
        const hubWide = principal.actor.superadmin && body.organizationId === undefined;
        const organizationId = hubWide ? null : await organizationForNew(registry, principal.actor, body.organizationId, 'webhooks');
        if (!deps.webhookSecrets) throw new UnavailableError('webhooks cannot be added on this hub (no key to seal their secrets)');
        const secret = body.secret ?? `whsec_${randomBytes(32).toString('base64url')}`;
        const info = await registry.createWebhook({ url: body.url, events: body.events, secretSealed: deps.webhookSecrets.seal(secret), organizationId, createdBy: principal.user.id });
        return c.json({ ...info, secret }, 201);
      },
    },
    deleteWebhook: {
      handler: async ({ c, params, principal }) => {
        const webhook = (await registry.listWebhooks()).find((w) => w.id === params.id.toLowerCase());
        // Another organisation's endpoint, or a hub-wide one, is deleted as if it did not exist (the registry's own answer).
        if (webhook && !principal.actor.superadmin) resourceFor(principal.actor, 'webhooks', webhook.organizationId ?? undefined, () => new NotFoundError(`no webhook ${JSON.stringify(params.id.slice(0, 64))}`, { field: 'id' }));
        await registry.deleteWebhook(params.id);
        return c.body(null, 204);
      },
    },
    listWebhookDeliveries: {
      handler: async ({ c, query, principal }) => {
        const { actor } = principal;
        return c.json(await registry.listWebhookDeliveries(query.limit, actor.superadmin ? undefined : organizationsWhere(actor, 'webhooks')));
      },
    },
    listClusterNodes: {
      handler: ({ c, principal }) => {
        requireSuperadmin(principal.actor);
        return c.json({ nodes: deps.cluster?.nodes() ?? [] });
      },
    },
  };
  return routeTable(impls);
}

export function createApiRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const routes = apiRouteTable(deps);
  let document: Record<string, unknown> | undefined;

  app.use(async (c, next) => {
    await next();
    // Responses carry tokens and device data: never cache them.
    c.header('cache-control', 'no-store');
  });
  app.onError((err, c) => {
    if (errorStatus(err) >= 500) deps.logger?.error('api request failed', { err, method: c.req.method, path: c.req.path });
    return errorResponse(err);
  });

  app.get('/openapi.json', (c) => {
    document ??= buildOpenApiDocument({ version: deps.version ?? '1' });
    return c.json(document);
  });
  const authFailures = rateLimit({
    limiter: deps.sharedBudgets
      ? deps.registry.sharedBudget('api-auth-failure', deps.limits?.authFailures ?? { capacity: 20, refillPerSecond: 1 })
      : createRateLimiter(deps.limits?.authFailures ?? { capacity: 20, refillPerSecond: 1 }),
    message: 'too many failed authentications from this address; slow down',
  });
  mountRoutes(app, routes, deps.registry, authFailures);
  // A catch-all rather than notFound(): a parent app's notFound would win after app.route().
  app.all('*', (c) => errorResponse(new NotFoundError(`no API route ${c.req.method} ${c.req.path}`)));
  return app;
}
