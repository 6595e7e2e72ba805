// Every operation of /api/v1: method, path, who may call it, its request schemas and its documented
// answers. The hub mounts exactly these (a handler per operation, checked by the compiler), the
// OpenAPI document is built from them, and clients read paths and response schemas here.
import type { z } from 'zod';
import * as o from './organization-schemas.js';
import * as s from './schemas.js';

/**
 * `none`: open (rate-limited per address); `read` / `write`: an API token with that scope. What it reaches is
 * its organisations' resources by role (a hub administrator's: everything); the rest answers 404.
 */
export type OperationAuth = 'none' | 'read' | 'write';
export type HttpMethod = 'get' | 'post' | 'patch' | 'delete';

export interface OperationResponse {
  description: string;
  schema?: z.ZodType;
}

export interface ApiOperation {
  method: HttpMethod;
  /** OpenAPI-style path relative to /api/v1, e.g. `/devices/{serial}`. */
  path: string;
  summary: string;
  tag: string;
  auth: OperationAuth;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** Success answers; every operation may also answer with the error statuses (ErrorSchema). */
  responses: Record<number, OperationResponse>;
}

/** The operations in the order the hub matches them; each key is the OpenAPI operationId. */
export const operations = {
  // ---- open: the agent's contract ----
  registerDevice: {
    method: 'post', path: '/devices/register', tag: 'registration', auth: 'none',
    summary: 'Register a device with an enrollment token (201 first time, 200 when repeated with the same key)',
    body: s.RegisterBody,
    responses: { 201: { description: 'Registered', schema: s.RegistrationSchema }, 200: { description: 'Already registered with this key', schema: s.RegistrationSchema } },
  },
  startClaim: {
    method: 'post', path: '/claims', tag: 'registration', auth: 'none',
    summary: 'Start an owner claim (RFC 8628 style): a user code for the browser, a poll token for the agent',
    body: s.ClaimStartBody,
    responses: { 201: { description: 'Claim started', schema: s.ClaimStartSchema } },
  },
  pollClaim: {
    method: 'post', path: '/claims/poll', tag: 'registration', auth: 'none',
    summary: 'Poll a claim: pending, or approved with the registration; 400 expired_token, 403 access_denied, 429 slow_down',
    body: s.ClaimPollBody,
    responses: { 200: { description: 'Pending or approved', schema: s.ClaimPollSchema } },
  },

  // ---- admin: devices ----
  whoAmI: {
    method: 'get', path: '/whoami', tag: 'tokens', auth: 'read',
    summary: 'The account and scopes behind the presented API token',
    responses: { 200: { description: 'The caller', schema: s.WhoAmISchema } },
  },
  listDevices: {
    method: 'get', path: '/devices', tag: 'devices', auth: 'read',
    summary: 'List devices in serial order, filtered, one page at a time (pass nextCursor as cursor)',
    query: s.DeviceListQuery,
    responses: { 200: { description: 'A page of devices', schema: s.DevicePageSchema } },
  },
  getDevice: {
    method: 'get', path: '/devices/{serial}', tag: 'devices', auth: 'read',
    summary: 'Show one device', params: s.SerialParams,
    responses: { 200: { description: 'The device', schema: s.DeviceSchema } },
  },
  updateDevice: {
    method: 'patch', path: '/devices/{serial}', tag: 'devices', auth: 'write',
    summary: 'Enable or disable a device, set its access policy (owners | public) or its owner',
    params: s.SerialParams, body: s.DevicePatchBody,
    responses: { 200: { description: 'The updated device', schema: s.DeviceSchema } },
  },
  deleteDevice: {
    method: 'delete', path: '/devices/{serial}', tag: 'devices', auth: 'write',
    summary: 'Delete a device; its tunnel IP returns to the pool', params: s.SerialParams,
    responses: { 204: { description: 'Deleted' } },
  },
  approveKeyRotation: {
    method: 'post', path: '/devices/{serial}/key-rotation', tag: 'devices', auth: 'write',
    summary: 'Approve a new WireGuard key: the device’s next registration with it replaces the old key (valid 24 h)',
    params: s.SerialParams, body: s.KeyRotationBody,
    responses: { 200: { description: 'Rotation approved', schema: s.KeyRotationSchema } },
  },
  listGrants: {
    method: 'get', path: '/devices/{serial}/grants', tag: 'devices', auth: 'read',
    summary: 'Users granted access to a device', params: s.SerialParams,
    responses: { 200: { description: 'Grants', schema: s.GrantSchema.array() } },
  },
  grantAccess: {
    method: 'post', path: '/devices/{serial}/grants', tag: 'devices', auth: 'write',
    summary: 'Grant a user (by e-mail) access to a device, optionally until expiresAt', params: s.SerialParams, body: s.GrantBody,
    responses: { 201: { description: 'Granted', schema: s.GrantSchema } },
  },
  revokeGrant: {
    method: 'delete', path: '/devices/{serial}/grants/{userId}', tag: 'devices', auth: 'write',
    summary: 'Revoke a user’s access grant', params: s.GrantParams,
    responses: { 204: { description: 'Revoked' } },
  },

  listDeviceLinks: {
    method: 'get', path: '/devices/{serial}/links', tag: 'devices', auth: 'read',
    summary: 'Installer links of a device (their URLs are shown only when made)', params: s.SerialParams,
    responses: { 200: { description: 'Links', schema: s.DeviceLinkSchema.array() } },
  },
  createDeviceLink: {
    method: 'post', path: '/devices/{serial}/links', tag: 'devices', auth: 'write',
    summary: 'Make an installer link: opens the device without an account for `hours`, optionally read-only', params: s.SerialParams, body: s.DeviceLinkBody,
    responses: { 201: { description: 'Made; the URL is shown only here', schema: s.NewDeviceLinkSchema } },
  },
  revokeDeviceLink: {
    method: 'delete', path: '/devices/{serial}/links/{id}', tag: 'devices', auth: 'write',
    summary: 'Revoke an installer link; sessions opened with it end', params: s.DeviceLinkParams,
    responses: { 204: { description: 'Revoked' } },
  },

  // ---- organisations ----
  listOrganizations: {
    method: 'get', path: '/organizations', tag: 'organizations', auth: 'read',
    summary: 'Organisations: all of them for a hub administrator, else those the caller is a member of',
    responses: { 200: { description: 'Organisations', schema: o.OrganizationSchema.array() } },
  },
  createOrganization: {
    method: 'post', path: '/organizations', tag: 'organizations', auth: 'write',
    summary: 'Create an organisation (hub administrators)', body: o.OrganizationBody,
    responses: { 201: { description: 'Created', schema: o.OrganizationSchema } },
  },
  deleteOrganization: {
    method: 'delete', path: '/organizations/{id}', tag: 'organizations', auth: 'write',
    summary: 'Delete an empty organisation (hub administrators; 409 while it has devices, unrevoked enrollment tokens, admin peers or webhooks; its members and tokens go with it)',
    params: o.OrganizationParams,
    responses: { 204: { description: 'Deleted' } },
  },
  listOrganizationMembers: {
    method: 'get', path: '/organizations/{id}/members', tag: 'organizations', auth: 'read',
    summary: 'Members of an organisation and their roles', params: o.OrganizationParams,
    responses: { 200: { description: 'Members', schema: o.MemberSchema.array() } },
  },
  addOrganizationMember: {
    method: 'post', path: '/organizations/{id}/members', tag: 'organizations', auth: 'write',
    summary: 'Add an account (by e-mail; invited when it has none yet) with a role, or change its role (owners)',
    params: o.OrganizationParams, body: o.MemberBody,
    responses: { 201: { description: 'The membership', schema: o.MemberSchema } },
  },
  removeOrganizationMember: {
    method: 'delete', path: '/organizations/{id}/members/{userId}', tag: 'organizations', auth: 'write',
    summary: 'Remove a member (owners)', params: o.MemberParams,
    responses: { 204: { description: 'Removed' } },
  },
  listOrganizationApiTokens: {
    method: 'get', path: '/organizations/{id}/api-tokens', tag: 'organizations', auth: 'read',
    summary: "The organisation's API tokens (their secrets are never shown again)", params: o.OrganizationParams,
    responses: { 200: { description: 'Tokens', schema: o.OrganizationTokenSchema.array() } },
  },
  createOrganizationApiToken: {
    method: 'post', path: '/organizations/{id}/api-tokens', tag: 'organizations', auth: 'write',
    summary: 'Make a token that acts for the organisation with a role, for automation (shown once)',
    params: o.OrganizationParams, body: o.OrganizationTokenBody,
    responses: { 201: { description: 'Made; the token is shown only here', schema: o.NewOrganizationTokenSchema } },
  },
  revokeOrganizationApiToken: {
    method: 'delete', path: '/organizations/{id}/api-tokens/{tokenId}', tag: 'organizations', auth: 'write',
    summary: 'Revoke an organisation token', params: o.OrganizationTokenParams,
    responses: { 204: { description: 'Revoked' } },
  },

  // ---- admin: accounts ----
  listUsers: {
    method: 'get', path: '/users', tag: 'users', auth: 'read',
    summary: 'Accounts, by e-mail address (never their password hashes)',
    responses: { 200: { description: 'Accounts', schema: s.UserSchema.array() } },
  },
  disableUser: {
    method: 'post', path: '/users/{id}/disable', tag: 'users', auth: 'write',
    summary: 'Disable an account: no sign-in, no API token; its portal and device sessions end now (repeating changes nothing)',
    params: s.IdParams,
    responses: { 200: { description: 'The disabled account', schema: s.UserSchema } },
  },
  enableUser: {
    method: 'post', path: '/users/{id}/enable', tag: 'users', auth: 'write',
    summary: 'Enable a disabled account again (its API tokens work again; sessions do not come back)',
    params: s.IdParams,
    responses: { 200: { description: 'The enabled account', schema: s.UserSchema } },
  },

  // ---- admin: tokens ----
  listEnrollmentTokens: {
    method: 'get', path: '/enrollment-tokens', tag: 'tokens', auth: 'read',
    summary: 'Enrollment tokens (never their plaintext)',
    responses: { 200: { description: 'Tokens', schema: s.EnrollmentTokenSchema.array() } },
  },
  createEnrollmentToken: {
    method: 'post', path: '/enrollment-tokens', tag: 'tokens', auth: 'write',
    summary: 'Create an enrollment token for a fleet; the plaintext is in this response only', body: s.EnrollmentTokenBody,
    responses: { 201: { description: 'Created', schema: s.NewEnrollmentTokenSchema } },
  },
  revokeEnrollmentToken: {
    method: 'delete', path: '/enrollment-tokens/{id}', tag: 'tokens', auth: 'write',
    summary: 'Revoke an enrollment token (devices it enrolled stay)', params: s.IdParams,
    responses: { 200: { description: 'Revoked', schema: s.EnrollmentTokenSchema } },
  },
  listApiTokens: {
    method: 'get', path: '/api-tokens', tag: 'tokens', auth: 'read',
    summary: 'API tokens (never their plaintext)',
    responses: { 200: { description: 'Tokens', schema: s.ApiTokenSchema.array() } },
  },
  createApiToken: {
    method: 'post', path: '/api-tokens', tag: 'tokens', auth: 'write',
    summary: 'Create an API token for the calling administrator; the plaintext is in this response only', body: s.ApiTokenBody,
    responses: { 201: { description: 'Created', schema: s.NewApiTokenSchema } },
  },
  revokeApiToken: {
    method: 'delete', path: '/api-tokens/{id}', tag: 'tokens', auth: 'write',
    summary: 'Revoke an API token', params: s.IdParams,
    responses: { 200: { description: 'Revoked', schema: s.ApiTokenSchema } },
  },

  // ---- admin: serial prefixes only enrollment tokens may register ----
  listSerialReservations: {
    method: 'get', path: '/serial-reservations', tag: 'reservations', auth: 'read',
    summary: 'Serial prefixes reserved for enrollment tokens: account claims of such serials are refused (403 serial_reserved)',
    responses: { 200: { description: 'Reservations', schema: s.SerialReservationSchema.array() } },
  },
  addSerialReservation: {
    method: 'post', path: '/serial-reservations', tag: 'reservations', auth: 'write',
    summary: 'Reserve a serial prefix for enrollment tokens (409 when already reserved)', body: s.SerialReservationBody,
    responses: { 201: { description: 'Reserved', schema: s.SerialReservationSchema } },
  },
  removeSerialReservation: {
    method: 'delete', path: '/serial-reservations/{prefix}', tag: 'reservations', auth: 'write',
    summary: 'Release a reserved serial prefix', params: s.PrefixParams,
    responses: { 204: { description: 'Released' } },
  },

  // ---- admin: overlay peers and audit ----
  listAdminPeers: {
    method: 'get', path: '/admin-peers', tag: 'admin peers', auth: 'read',
    summary: 'Admin WireGuard peers',
    responses: { 200: { description: 'Peers', schema: s.AdminPeerSchema.array() } },
  },
  createAdminPeer: {
    method: 'post', path: '/admin-peers', tag: 'admin peers', auth: 'write',
    summary: 'Add an admin laptop to the overlay: a tunnel IP and a wg-quick configuration', body: s.AdminPeerBody,
    responses: { 201: { description: 'Created', schema: s.NewAdminPeerSchema } },
  },
  deleteAdminPeer: {
    method: 'delete', path: '/admin-peers/{id}', tag: 'admin peers', auth: 'write',
    summary: 'Remove an admin peer; its tunnel IP returns to the pool', params: s.IdParams,
    responses: { 204: { description: 'Removed' } },
  },
  queryAccessLog: {
    method: 'get', path: '/access-log', tag: 'audit', auth: 'read',
    summary: 'Who reached a device, newest first, within an optional time range', query: s.AccessLogQuery,
    responses: { 200: { description: 'A page of entries', schema: s.AccessLogSchema } },
  },

  // ---- admin: the hub's cluster ----
  listClusterNodes: {
    method: 'get', path: '/cluster/nodes', tag: 'cluster', auth: 'read',
    summary: 'The hub nodes sharing this database: endpoint, heartbeat, devices held (one node outside cluster mode)',
    responses: { 200: { description: 'Nodes', schema: s.ClusterNodesSchema } },
  },

  // ---- admin: webhooks ----
  listWebhooks: {
    method: 'get', path: '/webhooks', tag: 'webhooks', auth: 'read',
    summary: 'Webhook endpoints (the hub-wide one of the configuration is not listed)',
    responses: { 200: { description: 'Endpoints', schema: s.WebhookSchema.array() } },
  },
  createWebhook: {
    method: 'post', path: '/webhooks', tag: 'webhooks', auth: 'write',
    summary: 'Add an endpoint for signed JSON POSTs on the named events', body: s.WebhookBody,
    responses: { 201: { description: 'Added; the secret is shown only here', schema: s.NewWebhookSchema } },
  },
  deleteWebhook: {
    method: 'delete', path: '/webhooks/{id}', tag: 'webhooks', auth: 'write',
    summary: 'Remove an endpoint and its pending deliveries', params: s.IdParams,
    responses: { 204: { description: 'Removed' } },
  },
  listWebhookDeliveries: {
    method: 'get', path: '/webhooks/deliveries', tag: 'webhooks', auth: 'read',
    summary: 'The delivery log, newest first: attempts, answers, delivered or given up', query: s.WebhookDeliveriesQuery,
    responses: { 200: { description: 'Deliveries', schema: s.WebhookDeliverySchema.array() } },
  },
} as const satisfies Record<string, ApiOperation>;

export type Operations = typeof operations;
export type OperationId = keyof Operations;

/** What the schemas of operation `O` give a handler: path parameters, query and body, parsed. */
export type OperationParams<O> = O extends { params: infer S extends z.ZodType } ? z.output<S> : undefined;
export type OperationQuery<O> = O extends { query: infer S extends z.ZodType } ? z.output<S> : undefined;
export type OperationBody<O> = O extends { body: infer S extends z.ZodType } ? z.output<S> : undefined;
