// The hono sub-app mounted at /api/v1: device registration and the claim flow (open, rate-limited
// per client address), the admin REST API (bearer API tokens of administrators) and the OpenAPI
// document generated from the same route table. Every body goes through parseJsonBody with a strict
// schema; every error through errorResponse.
import { Hono, type MiddlewareHandler } from 'hono';
import { DomainError, NotFoundError, UnauthorizedError } from '@porthole/db';
import { errorResponse, errorStatus } from '../http/error-response.js';
import { clientAddress, createRateLimiter, rateLimit, withFailureBudget, type RateLimiterOptions } from '../http/rate-limit.js';
import type { Logger } from '../ops/logger.js';
import type { Registry } from '../registry/index.js';
import type { ApiEnv } from './bearer-auth.js';
import { buildOpenApiDocument } from './openapi.js';
import { mountRoutes, route, type RouteDef } from './route-table.js';
import * as s from './schemas.js';

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

export interface ApiDeps {
  registry: Registry;
  logger?: Logger;
  /** Reported as the OpenAPI `info.version`. */
  version?: string;
  limits?: ApiLimits;
}

const OPEN_BODY_LIMIT = 8 * 1024;
/** Registration and claim bodies may carry a device certificate chain (attestation). */
const ATTESTED_BODY_LIMIT = 16 * 1024;

/** The route table; exported for the OpenAPI document and for tests that check responses against it. */
export function apiRouteTable(deps: ApiDeps): RouteDef<never, never, never>[] {
  const { registry } = deps;
  const limiter = (o: RateLimiterOptions | undefined, d: RateLimiterOptions, message: string): MiddlewareHandler<ApiEnv> =>
    rateLimit({ limiter: createRateLimiter(o ?? d), message });
  // A fleet behind one carrier-grade NAT may register many devices at once: generous per-address bursts.
  const registerLimit = limiter(deps.limits?.register, { capacity: 60, refillPerSecond: 2 }, 'too many registrations from this address; slow down');
  const claimLimit = limiter(deps.limits?.claimStart, { capacity: 10, refillPerSecond: 0.2 }, 'too many claims from this address; slow down');
  const pollLimit = limiter(deps.limits?.claimPoll, { capacity: 60, refillPerSecond: 2 }, 'too many polls from this address; slow down');
  // Guessing budgets: tokens are 256-bit, but nobody gets to try them at request rate.
  const enrollmentMisses = createRateLimiter(deps.limits?.enrollmentTokenFailures ?? { capacity: 10, refillPerSecond: 1 / 60 });
  const pollMisses = createRateLimiter(deps.limits?.pollTokenFailures ?? { capacity: 30, refillPerSecond: 1 / 10 });
  const fieldIs = (field: string) => (err: unknown) => err instanceof DomainError && err.field === field && (err instanceof UnauthorizedError || err.code === 'expired_token');

  const routes = [
    // ---- open: the agent's contract ----
    route({
      method: 'post', path: '/devices/register', operationId: 'registerDevice', tag: 'registration', auth: 'none',
      summary: 'Register a device with an enrollment token (201 first time, 200 when repeated with the same key)',
      body: s.RegisterBody, bodyLimitBytes: ATTESTED_BODY_LIMIT, before: [registerLimit],
      responses: { 201: { description: 'Registered', schema: s.RegistrationSchema }, 200: { description: 'Already registered with this key', schema: s.RegistrationSchema } },
      handler: async ({ c, body }) => {
        const result = await withFailureBudget(enrollmentMisses, clientAddress(c), 'too many refused enrollment tokens from this address; try again later', () => registry.registerDevice(body), fieldIs('enrollmentToken'));
        return c.json(result.registration, result.created ? 201 : 200);
      },
    }),
    route({
      method: 'post', path: '/claims', operationId: 'startClaim', tag: 'registration', auth: 'none',
      summary: 'Start an owner claim (RFC 8628 style): a user code for the browser, a poll token for the agent',
      body: s.ClaimStartBody, bodyLimitBytes: ATTESTED_BODY_LIMIT, before: [claimLimit],
      responses: { 201: { description: 'Claim started', schema: s.ClaimStartSchema } },
      handler: async ({ c, body }) => c.json(await registry.startClaim(body), 201),
    }),
    route({
      method: 'post', path: '/claims/poll', operationId: 'pollClaim', tag: 'registration', auth: 'none',
      summary: 'Poll a claim: pending, or approved with the registration; 400 expired_token, 403 access_denied, 429 slow_down',
      body: s.ClaimPollBody, bodyLimitBytes: OPEN_BODY_LIMIT, before: [pollLimit],
      responses: { 200: { description: 'Pending or approved', schema: s.ClaimPollSchema } },
      handler: async ({ c, body }) =>
        c.json(await withFailureBudget(pollMisses, clientAddress(c), 'too many unknown poll tokens from this address; try again later', () => registry.pollClaim(body.pollToken), fieldIs('pollToken')), 200),
    }),

    // ---- admin: devices ----
    route({
      method: 'get', path: '/whoami', operationId: 'whoAmI', tag: 'tokens', auth: 'read',
      summary: 'The account and scopes behind the presented API token',
      responses: { 200: { description: 'The caller', schema: s.WhoAmISchema } },
      handler: ({ c, principal }) => c.json({ user: principal.user, scopes: principal.scopes }),
    }),
    route({
      method: 'get', path: '/devices', operationId: 'listDevices', tag: 'devices', auth: 'read',
      summary: 'List devices in serial order, filtered, one page at a time (pass nextCursor as cursor)',
      query: s.DeviceListQuery,
      responses: { 200: { description: 'A page of devices', schema: s.DevicePageSchema } },
      handler: async ({ c, query }) => c.json(await registry.listDevices(query)),
    }),
    route({
      method: 'get', path: '/devices/{serial}', operationId: 'getDevice', tag: 'devices', auth: 'read',
      summary: 'Show one device', params: s.SerialParams,
      responses: { 200: { description: 'The device', schema: s.DeviceSchema } },
      handler: async ({ c, params }) => c.json(await registry.getDevice(params.serial)),
    }),
    route({
      method: 'patch', path: '/devices/{serial}', operationId: 'updateDevice', tag: 'devices', auth: 'write',
      summary: 'Enable or disable a device, set its access policy (owners | public) or its owner',
      params: s.SerialParams, body: s.DevicePatchBody,
      responses: { 200: { description: 'The updated device', schema: s.DeviceSchema } },
      handler: async ({ c, params, body }) => {
        await registry.getDevice(params.serial); // 404 before any change
        let ownerId: string | null | undefined;
        if (body.ownerEmail !== undefined) {
          ownerId = body.ownerEmail === null ? null : (await registry.findUserByEmail(body.ownerEmail))?.id;
          if (ownerId === undefined) throw new NotFoundError(`no account with e-mail ${body.ownerEmail}`, { field: 'ownerEmail' });
        }
        if (body.status) await registry.setDeviceStatus(params.serial, body.status);
        if (body.accessPolicy) await registry.setAccessPolicy(params.serial, body.accessPolicy);
        if (ownerId !== undefined) await registry.setDeviceOwner(params.serial, ownerId);
        return c.json(await registry.getDevice(params.serial));
      },
    }),
    route({
      method: 'delete', path: '/devices/{serial}', operationId: 'deleteDevice', tag: 'devices', auth: 'write',
      summary: 'Delete a device; its tunnel IP returns to the pool', params: s.SerialParams,
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ c, params }) => {
        await registry.deleteDevice(params.serial);
        return c.body(null, 204);
      },
    }),
    route({
      method: 'post', path: '/devices/{serial}/key-rotation', operationId: 'approveKeyRotation', tag: 'devices', auth: 'write',
      summary: 'Approve a new WireGuard key: the device’s next registration with it replaces the old key (valid 24 h)',
      params: s.SerialParams, body: s.KeyRotationBody,
      responses: { 200: { description: 'Rotation approved', schema: s.KeyRotationSchema } },
      handler: async ({ c, params, body, principal }) => c.json(await registry.approveKeyRotation(params.serial, body.publicKey, principal.user.id)),
    }),
    route({
      method: 'get', path: '/devices/{serial}/grants', operationId: 'listGrants', tag: 'devices', auth: 'read',
      summary: 'Users granted access to a device', params: s.SerialParams,
      responses: { 200: { description: 'Grants', schema: s.GrantSchema.array() } },
      handler: async ({ c, params }) => c.json(await registry.listGrants(params.serial)),
    }),
    route({
      method: 'post', path: '/devices/{serial}/grants', operationId: 'grantAccess', tag: 'devices', auth: 'write',
      summary: 'Grant a user (by e-mail) access to a device, optionally until expiresAt', params: s.SerialParams, body: s.GrantBody,
      responses: { 201: { description: 'Granted', schema: s.GrantSchema } },
      handler: async ({ c, params, body, principal }) =>
        c.json(
          await registry.grantAccess(params.serial, {
            email: body.email,
            expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
            grantedBy: principal.user.id,
          }),
          201,
        ),
    }),
    route({
      method: 'delete', path: '/devices/{serial}/grants/{userId}', operationId: 'revokeGrant', tag: 'devices', auth: 'write',
      summary: 'Revoke a user’s access grant', params: s.GrantParams,
      responses: { 204: { description: 'Revoked' } },
      handler: async ({ c, params }) => {
        await registry.revokeGrant(params.serial, params.userId);
        return c.body(null, 204);
      },
    }),

    // ---- admin: accounts ----
    route({
      method: 'get', path: '/users', operationId: 'listUsers', tag: 'users', auth: 'read',
      summary: 'Accounts, by e-mail address (never their password hashes)',
      responses: { 200: { description: 'Accounts', schema: s.UserSchema.array() } },
      handler: async ({ c }) => c.json(await registry.listUsers()),
    }),
    route({
      method: 'post', path: '/users/{id}/disable', operationId: 'disableUser', tag: 'users', auth: 'write',
      summary: 'Disable an account: no sign-in, no API token; its portal and device sessions end now (repeating changes nothing)',
      params: s.IdParams,
      responses: { 200: { description: 'The disabled account', schema: s.UserSchema } },
      handler: async ({ c, params, principal }) => c.json(await registry.disableUser(params.id, principal.user)),
    }),
    route({
      method: 'post', path: '/users/{id}/enable', operationId: 'enableUser', tag: 'users', auth: 'write',
      summary: 'Enable a disabled account again (its API tokens work again; sessions do not come back)',
      params: s.IdParams,
      responses: { 200: { description: 'The enabled account', schema: s.UserSchema } },
      handler: async ({ c, params, principal }) => c.json(await registry.enableUser(params.id, principal.user)),
    }),

    // ---- admin: tokens ----
    route({
      method: 'get', path: '/enrollment-tokens', operationId: 'listEnrollmentTokens', tag: 'tokens', auth: 'read',
      summary: 'Enrollment tokens (never their plaintext)',
      responses: { 200: { description: 'Tokens', schema: s.EnrollmentTokenSchema.array() } },
      handler: async ({ c }) => c.json(await registry.listEnrollmentTokens()),
    }),
    route({
      method: 'post', path: '/enrollment-tokens', operationId: 'createEnrollmentToken', tag: 'tokens', auth: 'write',
      summary: 'Create an enrollment token for a fleet; the plaintext is in this response only', body: s.EnrollmentTokenBody,
      responses: { 201: { description: 'Created', schema: s.NewEnrollmentTokenSchema } },
      handler: async ({ c, body, principal }) => {
        const { token, info } = await registry.createEnrollmentToken({ ...body, createdBy: principal.user.id });
        return c.json({ ...info, token }, 201);
      },
    }),
    route({
      method: 'delete', path: '/enrollment-tokens/{id}', operationId: 'revokeEnrollmentToken', tag: 'tokens', auth: 'write',
      summary: 'Revoke an enrollment token (devices it enrolled stay)', params: s.IdParams,
      responses: { 200: { description: 'Revoked', schema: s.EnrollmentTokenSchema } },
      handler: async ({ c, params }) => c.json(await registry.revokeEnrollmentToken(params.id)),
    }),
    route({
      method: 'get', path: '/api-tokens', operationId: 'listApiTokens', tag: 'tokens', auth: 'read',
      summary: 'API tokens (never their plaintext)',
      responses: { 200: { description: 'Tokens', schema: s.ApiTokenSchema.array() } },
      handler: async ({ c }) => c.json(await registry.listApiTokens()),
    }),
    route({
      method: 'post', path: '/api-tokens', operationId: 'createApiToken', tag: 'tokens', auth: 'write',
      summary: 'Create an API token for the calling administrator; the plaintext is in this response only', body: s.ApiTokenBody,
      responses: { 201: { description: 'Created', schema: s.NewApiTokenSchema } },
      handler: async ({ c, body, principal }) => {
        const { token, info } = await registry.createApiToken({ userId: principal.user.id, ...body });
        return c.json({ ...info, token }, 201);
      },
    }),
    route({
      method: 'delete', path: '/api-tokens/{id}', operationId: 'revokeApiToken', tag: 'tokens', auth: 'write',
      summary: 'Revoke an API token', params: s.IdParams,
      responses: { 200: { description: 'Revoked', schema: s.ApiTokenSchema } },
      handler: async ({ c, params }) => c.json(await registry.revokeApiToken(params.id)),
    }),

    // ---- admin: serial prefixes only enrollment tokens may register ----
    route({
      method: 'get', path: '/serial-reservations', operationId: 'listSerialReservations', tag: 'reservations', auth: 'read',
      summary: 'Serial prefixes reserved for enrollment tokens: account claims of such serials are refused (403 serial_reserved)',
      responses: { 200: { description: 'Reservations', schema: s.SerialReservationSchema.array() } },
      handler: async ({ c }) => c.json(await registry.listSerialReservations()),
    }),
    route({
      method: 'post', path: '/serial-reservations', operationId: 'addSerialReservation', tag: 'reservations', auth: 'write',
      summary: 'Reserve a serial prefix for enrollment tokens (409 when already reserved)', body: s.SerialReservationBody,
      responses: { 201: { description: 'Reserved', schema: s.SerialReservationSchema } },
      handler: async ({ c, body, principal }) => c.json(await registry.addSerialReservation({ ...body, createdBy: principal.user.id }), 201),
    }),
    route({
      method: 'delete', path: '/serial-reservations/{prefix}', operationId: 'removeSerialReservation', tag: 'reservations', auth: 'write',
      summary: 'Release a reserved serial prefix', params: s.PrefixParams,
      responses: { 204: { description: 'Released' } },
      handler: async ({ c, params }) => {
        await registry.removeSerialReservation(params.prefix);
        return c.body(null, 204);
      },
    }),

    // ---- admin: overlay peers and audit ----
    route({
      method: 'get', path: '/admin-peers', operationId: 'listAdminPeers', tag: 'admin peers', auth: 'read',
      summary: 'Admin WireGuard peers',
      responses: { 200: { description: 'Peers', schema: s.AdminPeerSchema.array() } },
      handler: async ({ c }) => c.json(await registry.listAdminPeers()),
    }),
    route({
      method: 'post', path: '/admin-peers', operationId: 'createAdminPeer', tag: 'admin peers', auth: 'write',
      summary: 'Add an admin laptop to the overlay: a tunnel IP and a wg-quick configuration', body: s.AdminPeerBody,
      responses: { 201: { description: 'Created', schema: s.NewAdminPeerSchema } },
      handler: async ({ c, body, principal }) => {
        const { peer, config } = await registry.createAdminPeer({ ...body, createdBy: principal.user.id });
        return c.json({ ...peer, config }, 201);
      },
    }),
    route({
      method: 'delete', path: '/admin-peers/{id}', operationId: 'deleteAdminPeer', tag: 'admin peers', auth: 'write',
      summary: 'Remove an admin peer; its tunnel IP returns to the pool', params: s.IdParams,
      responses: { 204: { description: 'Removed' } },
      handler: async ({ c, params }) => {
        await registry.deleteAdminPeer(params.id);
        return c.body(null, 204);
      },
    }),
    route({
      method: 'get', path: '/access-log', operationId: 'queryAccessLog', tag: 'audit', auth: 'read',
      summary: 'Who reached a device, newest first, within an optional time range', query: s.AccessLogQuery,
      responses: { 200: { description: 'A page of entries', schema: s.AccessLogSchema } },
      handler: async ({ c, query }) =>
        c.json(
          await registry.queryAccessLog({
            serial: query.serial,
            ...(query.from ? { from: new Date(query.from) } : {}),
            ...(query.to ? { to: new Date(query.to) } : {}),
            ...(query.limit ? { limit: query.limit } : {}),
            ...(query.cursor ? { cursor: query.cursor } : {}),
          }),
        ),
    }),
  ];
  return routes as unknown as RouteDef<never, never, never>[];
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
    document ??= buildOpenApiDocument(routes, { version: deps.version ?? '1' });
    return c.json(document);
  });
  const authFailures = rateLimit({
    limiter: createRateLimiter(deps.limits?.authFailures ?? { capacity: 20, refillPerSecond: 1 }),
    message: 'too many failed authentications from this address; slow down',
  });
  mountRoutes(app, routes, deps.registry, authFailures);
  // A catch-all rather than notFound(): a parent app's notFound would win after app.route().
  app.all('*', (c) => errorResponse(new NotFoundError(`no API route ${c.req.method} ${c.req.path}`)));
  return app;
}
