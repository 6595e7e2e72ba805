// Devices and who may reach them: the device registry (serial = DNS label, WireGuard public key,
// tunnel IP), per-user access grants and owner/admin-approved key rotations.
import { sql } from 'drizzle-orm';
import { boolean, check, index, inet, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from './accounts.js';
import { enrollmentTokens } from './enrollment.js';
import { organizations } from './organizations.js';
import { at, createdAt, doneBy, id, ownedBy, peerActivity, sessionColumns } from './columns.js';

export const DEVICE_STATUSES = ['enabled', 'disabled'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];
export const ACCESS_POLICIES = ['owners', 'public'] as const;
export type AccessPolicy = (typeof ACCESS_POLICIES)[number];

export const devices = pgTable(
  'devices',
  {
    id: id(),
    serial: text('serial').notNull(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'restrict' }),
    /** Standard base64 of the 32-byte X25519 public key. */
    publicKey: text('public_key').notNull(),
    tunnelIp: inet('tunnel_ip').notNull(),
    ownerId: doneBy('owner_id', () => users.id),
    status: text('status', { enum: DEVICE_STATUSES }).notNull().default('enabled'),
    accessPolicy: text('access_policy', { enum: ACCESS_POLICIES }).notNull().default('owners'),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    agentVersion: text('agent_version'),
    enrollmentTokenId: doneBy('enrollment_token_id', () => enrollmentTokens.id),
    createdAt: createdAt(),
    /** Last successful (re-)registration. */
    registeredAt: at('registered_at').notNull().defaultNow(),
    ...peerActivity(),
    /** Set when the device proved its serial with a vendor certificate at its last registration. */
    attestedAt: at('attested_at'),
    /** Subject and issuer of the attesting certificate, for the portal and API. */
    attestationSubject: text('attestation_subject'),
    attestationIssuer: text('attestation_issuer'),
    /** End of the owner's exposure window as the agent last reported it; null = until turned off, or never reported. */
    exposureUntil: at('exposure_until'),
    /** When the agent said its window ended (it closed remote access itself); cleared by its next report. */
    exposureEndedAt: at('exposure_ended_at'),
  },
  (t) => [
    // The serial index also serves cursor pagination (ORDER BY serial, WHERE serial > cursor).
    uniqueIndex('devices_serial_unique').on(t.serial),
    uniqueIndex('devices_public_key_unique').on(t.publicKey),
    uniqueIndex('devices_tunnel_ip_unique').on(t.tunnelIp),
    index('devices_status_serial_idx').on(t.status, t.serial),
    // No index on last_handshake_at: every rekey (~230/s at 30,000 devices) writes it, and an
    // index on it makes each such update non-HOT (a new entry in every index, GIN ones included,
    // and bloat PGlite never vacuums). Migration 0012 leaves room on each page for HOT updates.
    index('devices_owner_idx').on(t.ownerId),
    index('devices_organization_serial_idx').on(t.organizationId, t.serial),
    index('devices_tags_idx').using('gin', t.tags),
    // Substring search on serial (`LIKE '%q%'`) through trigrams (extension in migration 0000).
    index('devices_serial_trgm_idx').using('gin', t.serial.op('gin_trgm_ops')),
    check('devices_status_check', sql`${t.status} in ('enabled', 'disabled')`),
    check('devices_access_policy_check', sql`${t.accessPolicy} in ('owners', 'public')`),
  ],
);

export const deviceGrants = pgTable(
  'device_grants',
  {
    deviceId: ownedBy('device_id', () => devices.id),
    userId: ownedBy('user_id', () => users.id),
    grantedBy: doneBy('granted_by', () => users.id),
    createdAt: createdAt(),
    expiresAt: at('expires_at'),
    /** HTTP GET and HEAD only: no other method, WebSocket, /.porthole/tcp or console (unless the user may do more as admin or owner). */
    readOnly: boolean('read_only').notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.userId] }), index('device_grants_user_idx').on(t.userId)],
);

/** An approved change of a device's key: the next registration with this key replaces the old one. */
export const keyRotations = pgTable('key_rotations', {
  deviceId: uuid('device_id')
    .primaryKey()
    .references(() => devices.id, { onDelete: 'cascade' }),
  newPublicKey: text('new_public_key').notNull(),
  approvedBy: doneBy('approved_by', () => users.id),
  createdAt: createdAt(),
  expiresAt: at('expires_at').notNull(),
});

/**
 * Serial prefixes that only enrollment tokens may register: without a vendor CA this keeps an
 * account from claiming the serial of a genuine device before the device does.
 */
export const serialReservations = pgTable('serial_reservations', {
  prefix: text('prefix').primaryKey(),
  description: text('description').notNull().default(''),
  createdBy: doneBy('created_by', () => users.id),
  createdAt: createdAt(),
});

/**
 * Device sessions behind the device-host cookie: one per visitor and device, stored hashed like
 * portal sessions so that every hub node sees them and a logout, password change or account
 * disable ends them everywhere.
 */
export const deviceSessions = pgTable(
  'device_sessions',
  {
    id: id(),
    tokenHash: text('token_hash').notNull(),
    userId: ownedBy('user_id', () => users.id),
    deviceId: ownedBy('device_id', () => devices.id),
    serial: text('serial').notNull(),
    ...sessionColumns(),
  },
  (t) => [
    uniqueIndex('device_sessions_token_hash_unique').on(t.tokenHash),
    index('device_sessions_user_idx').on(t.userId),
    index('device_sessions_device_idx').on(t.deviceId),
    index('device_sessions_expires_idx').on(t.expiresAt),
  ],
);
