// Installer links: an owner's link to one device, valid for some hours, optionally read-only, that
// opens the device without an account. The token is stored only as its SHA-256 hex digest (shown once).
import { boolean, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { users } from './accounts.js';
import { devices } from './devices.js';
import { at, createdAt, doneBy, id, ownedBy } from './columns.js';

export const deviceLinks = pgTable(
  'device_links',
  {
    id: id(),
    deviceId: ownedBy('device_id', () => devices.id),
    tokenHash: text('token_hash').notNull(),
    /** HTTP GET and HEAD only: no other method, no WebSocket, no /.porthole/tcp, no consoles. */
    readOnly: boolean('read_only').notNull().default(false),
    createdBy: doneBy('created_by', () => users.id),
    createdAt: createdAt(),
    expiresAt: at('expires_at').notNull(),
    /** Set by a revoke; the sessions made from the link are deleted with it. */
    revokedAt: at('revoked_at'),
    /** How often the link was opened, and when last. */
    uses: integer('uses').notNull().default(0),
    lastUsedAt: at('last_used_at'),
  },
  (t) => [uniqueIndex('device_links_token_hash_unique').on(t.tokenHash), index('device_links_device_idx').on(t.deviceId)],
);

/**
 * Device sessions opened with an installer link (the holder has no account): like device_sessions,
 * by token hash, bound to one device, with the link's read-only flag; they end with the link.
 */
export const linkSessions = pgTable(
  'link_sessions',
  {
    id: id(),
    tokenHash: text('token_hash').notNull(),
    linkId: ownedBy('link_id', () => deviceLinks.id),
    deviceId: ownedBy('device_id', () => devices.id),
    serial: text('serial').notNull(),
    readOnly: boolean('read_only').notNull(),
    createdAt: createdAt(),
    /** Never past the link's own expiry. */
    expiresAt: at('expires_at').notNull(),
    createdIp: text('created_ip'),
  },
  (t) => [uniqueIndex('link_sessions_token_hash_unique').on(t.tokenHash), index('link_sessions_link_idx').on(t.linkId), index('link_sessions_expires_idx').on(t.expiresAt)],
);
