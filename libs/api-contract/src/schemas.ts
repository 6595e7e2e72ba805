// The API's request and response schemas (zod 4) and their types. Request schemas are strict
// (unknown fields are refused): the hub validates every body and query with them. Response schemas
// are what clients validate a hub's answers with (the agent before it stores a registration), and
// what the hub's tests hold its answers to. The OpenAPI document is generated from these same
// objects, so documentation, validation and clients cannot drift apart.
// The shared field rules are in common-schemas.ts, registration and claims in registration-schemas.ts.
import { z } from 'zod';
import {
  apiSchemas,
  boolString,
  cursor,
  emailAddress,
  isoDate,
  limit,
  NO_CONTROL,
  printable,
  publicKey,
  serial,
} from './common-schemas.js';

export { apiSchemas, AttestationBody, ErrorSchema, type Attestation, type ErrorBody } from './common-schemas.js';
export * from './registration-schemas.js';

// ---- Devices ----

export const DeviceListQuery = z.strictObject({
  status: z.enum(['enabled', 'disabled']).optional(),
  online: boolString.optional(),
  tag: z.string().max(64).regex(NO_CONTROL, 'tag must not contain control characters').optional(),
  q: z.string().max(63, 'q must have at most 63 characters').regex(NO_CONTROL, 'q must not contain control characters').optional(),
  limit: limit(500).optional(),
  cursor: cursor.optional(),
});

export const SerialParams = z.strictObject({ serial });

export const DeviceSchema = z
  .object({
    id: z.string(),
    serial: z.string(),
    organizationId: z.string().describe('The organisation the device belongs to.'),
    publicKey: z.string(),
    tunnelIp: z.string(),
    status: z.enum(['enabled', 'disabled']),
    accessPolicy: z.enum(['owners', 'public']),
    tags: z.array(z.string()),
    owner: z.object({ id: z.string(), email: z.string() }).nullable(),
    agentVersion: z.string().nullable(),
    url: z.string(),
    online: z.boolean(),
    node: z.string().nullable().describe("The hub node holding the device's WireGuard session (PORTHOLE_NODE_NAME); null when offline."),
    createdAt: z.string(),
    registeredAt: z.string(),
    lastHandshakeAt: z.string().nullable(),
    lastEndpoint: z.string().nullable(),
    rxBytes: z.number(),
    txBytes: z.number(),
    attested: z.boolean().describe('The device proved its serial with a vendor certificate at its last registration or claim.'),
    attestedAt: z.string().nullable(),
    attestationSubject: z.string().nullable(),
    attestationIssuer: z.string().nullable(),
    exposureUntil: z.string().nullable().describe("End of the owner's exposure window as the device reported it; null = until turned off (or not reported)."),
    exposureEndedAt: z.string().nullable().describe('When the device closed remote access itself because that window ended; null = it has not.'),
  })
  .register(apiSchemas, { id: 'Device' });

export const ClusterNodeSchema = z
  .object({
    name: z.string(),
    wgEndpoint: z.string().describe("The node's WireGuard UDP endpoint (host:port)"),
    alive: z.boolean().describe('Its heartbeat lease holds (a node that missed it for ~5 s is dead, and holds no device)'),
    lastSeenAt: z.string().describe('Its last heartbeat'),
    devicesOnline: z.number().int().nonnegative().describe('Devices whose WireGuard session it holds'),
  })
  .register(apiSchemas, { id: 'ClusterNode' });
export const ClusterNodesSchema = z.object({ nodes: z.array(ClusterNodeSchema) }).register(apiSchemas, { id: 'ClusterNodes' });

export const DevicePageSchema = z.object({ devices: z.array(DeviceSchema), nextCursor: z.string().nullable() }).register(apiSchemas, { id: 'DevicePage' });

export const DevicePatchBody = z
  .strictObject({
    status: z.enum(['enabled', 'disabled']).optional(),
    accessPolicy: z.enum(['owners', 'public']).optional(),
    ownerEmail: emailAddress('ownerEmail').nullable().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'give at least one of status, accessPolicy, ownerEmail' })
  .register(apiSchemas, { id: 'DevicePatch' });

export const KeyRotationBody = z.strictObject({ publicKey }).register(apiSchemas, { id: 'KeyRotationRequest' });
export const KeyRotationSchema = z.object({ serial: z.string(), newPublicKey: z.string(), expiresAt: z.string() }).register(apiSchemas, { id: 'KeyRotation' });

export const GrantBody = z
  .strictObject({
    email: emailAddress('email'),
    expiresAt: isoDate.nullable().optional(),
    readOnly: z.boolean().optional().describe('HTTP GET and HEAD only: no other method, WebSocket, TCP forwarding or console. Default false.'),
  })
  .register(apiSchemas, { id: 'GrantRequest' });
export const GrantSchema = z
  .object({ userId: z.string(), email: z.string(), createdAt: z.string(), expiresAt: z.string().nullable(), readOnly: z.boolean() })
  .register(apiSchemas, { id: 'Grant' });
export const GrantParams = z.strictObject({ serial, userId: z.string().max(64) });

// ---- Installer links ----

export const DeviceLinkBody = z
  .strictObject({
    hours: z.number().int('hours must be a whole number').min(1, 'hours must be at least 1').max(720, 'hours must be at most 720 (30 days)').describe('How long the link works, in hours.'),
    readOnly: z.boolean().optional().describe('HTTP GET and HEAD only: no other method, no WebSocket, no TCP forwarding, no consoles. Default false.'),
  })
  .register(apiSchemas, { id: 'DeviceLinkRequest' });
export const DeviceLinkSchema = z
  .object({
    id: z.string(),
    serial: z.string(),
    readOnly: z.boolean(),
    createdAt: z.string(),
    expiresAt: z.string(),
    revokedAt: z.string().nullable(),
    createdBy: z.string().nullable().describe('E-mail address of the account that made the link'),
    uses: z.number().describe('How often the link was opened'),
    lastUsedAt: z.string().nullable(),
  })
  .register(apiSchemas, { id: 'DeviceLink' });
export const NewDeviceLinkSchema = z
  .object({
    id: z.string(),
    url: z.string().describe('Opens the device without an account; shown only in this response (the hub keeps a hash).'),
    expiresAt: z.string(),
  })
  .register(apiSchemas, { id: 'NewDeviceLink' });
export const DeviceLinkParams = z.strictObject({ serial, id: z.string().max(64) });

// ---- Webhooks ----

export const WEBHOOK_EVENTS = ['device.online', 'device.offline', 'access.started', 'window.ended'] as const;
export const WebhookBody = z
  .strictObject({
    url: z.url({ protocol: /^https?$/, message: 'url must be an http or https URL' }).max(2048, 'url must have at most 2048 characters'),
    events: z.array(z.enum(WEBHOOK_EVENTS)).min(1, 'events must name at least one event').max(WEBHOOK_EVENTS.length).describe(`Any of ${WEBHOOK_EVENTS.join(', ')}.`),
    secret: z
      .string()
      .min(16, 'secret must have at least 16 characters')
      .max(256, 'secret must have at most 256 characters')
      .optional()
      .describe('The HMAC-SHA256 key; when absent the hub makes one and answers it once.'),
    organizationId: z
      .string()
      .max(100)
      .optional()
      .describe("Only events of this organisation's devices (its id or name); absent: every event of the hub."),
  })
  .register(apiSchemas, { id: 'WebhookRequest' });
export const WebhookSchema = z
  .object({ id: z.string(), url: z.string(), events: z.array(z.string()), createdAt: z.string(), organizationId: z.string().nullable() })
  .register(apiSchemas, { id: 'Webhook' });
export const NewWebhookSchema = WebhookSchema.extend({
  secret: z.string().describe('The signing secret; shown only in this response.'),
}).register(apiSchemas, { id: 'NewWebhook' });
export const WebhookDeliverySchema = z
  .object({
    id: z.number(),
    webhookId: z.string().nullable().describe('null: the hub-wide endpoint of the configuration'),
    url: z.string(),
    event: z.string(),
    createdAt: z.string(),
    attempts: z.number(),
    nextAttemptAt: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    failedAt: z.string().nullable(),
    lastStatus: z.number().nullable(),
    lastError: z.string().nullable(),
  })
  .register(apiSchemas, { id: 'WebhookDelivery' });
export const WebhookDeliveriesQuery = z.strictObject({ limit: limit(1000).optional() });

// ---- Serial reservations ----

export const SerialReservationBody = z
  .strictObject({
    prefix: z.string().min(1, 'prefix must not be empty').max(63, 'prefix must have at most 63 characters'),
    description: z.string().max(200, 'description must have at most 200 characters').optional(),
  })
  .register(apiSchemas, { id: 'SerialReservationRequest' });

export const SerialReservationSchema = z
  .object({
    prefix: z.string(),
    description: z.string(),
    createdBy: z.object({ id: z.string(), email: z.string() }).nullable(),
    createdAt: z.string(),
  })
  .register(apiSchemas, { id: 'SerialReservation' });

export const PrefixParams = z.strictObject({ prefix: z.string().min(1).max(63, 'prefix must have at most 63 characters') });

// ---- Tokens ----

export const IdParams = z.strictObject({ id: z.string().max(64) });

export const EnrollmentTokenBody = z
  .strictObject({
    description: z.string().max(200, 'description must have at most 200 characters').optional(),
    tags: z.array(z.string().max(64, 'a tag has at most 64 characters')).max(20, 'at most 20 tags').optional(),
    maxUses: z.number().int('maxUses must be an integer').min(1).max(1_000_000).optional(),
    expiresInSeconds: z.number().int('expiresInSeconds must be an integer').min(60).max(31_536_000).optional(),
    organizationId: z
      .string()
      .max(64)
      .optional()
      .describe("Devices registered with the token belong to this organisation. A hub administrator names it; a member's or an organisation's token may leave it out when it acts for one organisation."),
  })
  .register(apiSchemas, { id: 'EnrollmentTokenRequest' });

export const EnrollmentTokenSchema = z
  .object({
    id: z.string(),
    organizationId: z.string(),
    description: z.string(),
    displayPrefix: z.string(),
    tags: z.array(z.string()),
    maxUses: z.number(),
    uses: z.number(),
    createdAt: z.string(),
    expiresAt: z.string(),
    revokedAt: z.string().nullable(),
    state: z.enum(['active', 'expired', 'used', 'revoked']),
  })
  .register(apiSchemas, { id: 'EnrollmentToken' });

export const NewEnrollmentTokenSchema = EnrollmentTokenSchema.extend({
  token: z.string().describe('The plaintext token; shown only in this response.'),
}).register(apiSchemas, { id: 'NewEnrollmentToken' });

export const ApiTokenBody = z
  .strictObject({
    name: printable(100, 'name'),
    scopes: z.array(z.enum(['read', 'write'], { message: 'a scope is read or write' })).min(1, 'give at least one scope').max(2),
    expiresInSeconds: z.number().int().min(60).max(31_536_000 * 5).nullable().optional(),
  })
  .register(apiSchemas, { id: 'ApiTokenRequest' });

export const ApiTokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    displayPrefix: z.string(),
    scopes: z.array(z.enum(['read', 'write'])),
    userId: z.string(),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .register(apiSchemas, { id: 'ApiToken' });

export const NewApiTokenSchema = ApiTokenSchema.extend({
  token: z.string().describe('The plaintext token; shown only in this response.'),
}).register(apiSchemas, { id: 'NewApiToken' });

// ---- Accounts ----

export const UserSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    role: z.enum(['admin', 'user']),
    createdAt: z.string(),
    disabledAt: z.string().nullable().describe('Set while the account is disabled: no sign-in, no API token, no session.'),
    passwordChangedAt: z.string().nullable(),
    invited: z.boolean().describe('Created by a grant to its address; nobody has signed up with it yet.'),
  })
  .register(apiSchemas, { id: 'User' });

export const WhoAmISchema = z
  .object({
    user: z.object({ id: z.string(), email: z.string(), role: z.enum(['admin', 'user']) }),
    scopes: z.array(z.string()),
    superadmin: z.boolean().describe('The token acts with hub-wide rights (a hub administrator\'s personal token, not narrowed to one organisation).'),
    organizations: z
      .array(z.object({ id: z.string(), name: z.string(), role: z.enum(['owner', 'admin', 'technician', 'viewer']) }))
      .describe('The organisations the token acts in, with its role there (an organisation token: exactly one).'),
  })
  .register(apiSchemas, { id: 'WhoAmI' });

// ---- Admin peers and access log ----

export const AdminPeerBody = z
  .strictObject({
    name: printable(64, 'name'),
    publicKey,
    organizationId: z.string().max(64).optional().describe('The organisation whose devices the peer reaches (as for enrollment tokens).'),
  })
  .register(apiSchemas, { id: 'AdminPeerRequest' });

export const AdminPeerSchema = z
  .object({
    id: z.string(),
    organizationId: z.string(),
    name: z.string(),
    publicKey: z.string(),
    tunnelIp: z.string(),
    createdAt: z.string(),
    lastHandshakeAt: z.string().nullable(),
    lastEndpoint: z.string().nullable(),
  })
  .register(apiSchemas, { id: 'AdminPeer' });

export const NewAdminPeerSchema = AdminPeerSchema.extend({
  config: z.string().describe('A wg-quick configuration; add the private key of the laptop.'),
}).register(apiSchemas, { id: 'NewAdminPeer' });

export const AccessLogQuery = z.strictObject({
  serial,
  from: isoDate.optional(),
  to: isoDate.optional(),
  limit: limit(1000).optional(),
  cursor: cursor.optional(),
});

export const AccessLogSchema = z
  .object({
    entries: z.array(
      z.object({
        id: z.number(),
        at: z.string(),
        serial: z.string(),
        userId: z.string().nullable(),
        userEmail: z.string().nullable().describe("The visitor's account address (null: anonymous, or the account was deleted)"),
        linkId: z.string().nullable().optional().describe('The installer link a visitor without an account used'),
        clientIp: z.string(),
        method: z.string(),
        path: z.string(),
        status: z.number(),
        bytesIn: z.number(),
        bytesOut: z.number(),
        durationMs: z.number(),
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .register(apiSchemas, { id: 'AccessLogPage' });
// ---- Types: what the schemas accept (requests) and what they give back (responses) ----

export type Device = z.output<typeof DeviceSchema>;
export type DevicePage = z.output<typeof DevicePageSchema>;
export type DevicePatch = z.input<typeof DevicePatchBody>;
export type KeyRotation = z.output<typeof KeyRotationSchema>;
export type Grant = z.output<typeof GrantSchema>;
export type DeviceLink = z.output<typeof DeviceLinkSchema>;
export type NewDeviceLink = z.output<typeof NewDeviceLinkSchema>;
export type Webhook = z.output<typeof WebhookSchema>;
export type WebhookDelivery = z.output<typeof WebhookDeliverySchema>;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export type SerialReservation = z.output<typeof SerialReservationSchema>;
export type EnrollmentToken = z.output<typeof EnrollmentTokenSchema>;
export type NewEnrollmentToken = z.output<typeof NewEnrollmentTokenSchema>;
export type ApiToken = z.output<typeof ApiTokenSchema>;
export type NewApiToken = z.output<typeof NewApiTokenSchema>;
export type User = z.output<typeof UserSchema>;
export type WhoAmI = z.output<typeof WhoAmISchema>;
export type AdminPeer = z.output<typeof AdminPeerSchema>;
export type NewAdminPeer = z.output<typeof NewAdminPeerSchema>;
export type AccessLogPage = z.output<typeof AccessLogSchema>;
/** One proxied request as the API lists it. */
export type AccessLogPageEntry = AccessLogPage['entries'][number];
