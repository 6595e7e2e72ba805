// Accounts: users, browser sessions and API tokens. Secrets (session and API tokens) are stored only
// as SHA-256 hex digests; a fast hash suffices for 256-bit random tokens (a KDF is for passwords).
import { sql } from 'drizzle-orm';
import { check, index, integer, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { ORGANIZATION_ROLES } from './organization-roles.js';
import { organizations } from './organizations.js';
import { at, createdAt, id, ownedBy } from './columns.js';

export const USER_ROLES = ['admin', 'user'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const users = pgTable(
  'users',
  {
    id: id(),
    /** Stored lowercased and trimmed; unique. */
    email: text('email').notNull(),
    /** PHC string (Argon2id). */
    passwordHash: text('password_hash').notNull(),
    role: text('role', { enum: USER_ROLES }).notNull().default('user'),
    createdAt: createdAt(),
    /** A disabled account cannot sign in; its portal and device sessions are ended. */
    disabledAt: at('disabled_at'),
    passwordChangedAt: at('password_changed_at'),
  },
  (t) => [uniqueIndex('users_email_unique').on(t.email), check('users_role_check', sql`${t.role} in ('admin', 'user')`)],
);

export const sessions = pgTable(
  'sessions',
  {
    id: id(),
    tokenHash: text('token_hash').notNull(),
    userId: ownedBy('user_id', () => users.id),
    createdAt: createdAt(),
    /** Refreshed at most once a minute; idle expiry counts from here. */
    lastSeenAt: at('last_seen_at').notNull().defaultNow(),
    /** Absolute expiry, never extended. */
    expiresAt: at('expires_at').notNull(),
    createdIp: text('created_ip'),
  },
  (t) => [uniqueIndex('sessions_token_hash_unique').on(t.tokenHash), index('sessions_user_idx').on(t.userId)],
);

/**
 * `read`: the API's GET routes, and GET/HEAD on device hosts. `write`: everything (API changes and
 * full device access). `connect`: full device access (every method, WebSockets, /.porthole/tcp) and
 * no admin API, for tunnels and scripts that should not administer the fleet.
 */
export const API_TOKEN_SCOPES = ['read', 'write', 'connect'] as const;
export type ApiTokenScope = (typeof API_TOKEN_SCOPES)[number];

export const apiTokens = pgTable(
  'api_tokens',
  {
    id: id(),
    userId: ownedBy('user_id', () => users.id),
    name: text('name').notNull(),
    /**
     * Set: an organisation token, acting for the organisation with `organizationRole` whoever
     * created it (`userId`). Null: a personal token, acting as its user (a superadmin, or a member
     * with the user's own roles).
     */
    organizationId: uuid('organization_id').references(() => organizations.id, { onDelete: 'cascade' }),
    organizationRole: text('organization_role', { enum: ORGANIZATION_ROLES }),
    tokenHash: text('token_hash').notNull(),
    /** The first characters of the plaintext (`ph_api_AbCd`), to recognise a token in lists. */
    displayPrefix: text('display_prefix').notNull(),
    scopes: text('scopes').array().notNull(),
    createdAt: createdAt(),
    lastUsedAt: at('last_used_at'),
    expiresAt: at('expires_at'),
    revokedAt: at('revoked_at'),
  },
  (t) => [
    uniqueIndex('api_tokens_token_hash_unique').on(t.tokenHash),
    index('api_tokens_user_idx').on(t.userId),
    index('api_tokens_organization_idx').on(t.organizationId),
    check('api_tokens_organization_role_check', sql`(${t.organizationId} is null) = (${t.organizationRole} is null)`),
  ],
);

/**
 * Counters for throttles that guess secrets (login, claim codes, tokens): keyed by what is being
 * guessed and from where, shared by every hub node. `blockedUntil` is when the next attempt is
 * allowed; rows past `expiresAt` are pruned.
 */
export const throttles = pgTable(
  'throttles',
  {
    key: text('key').primaryKey(),
    count: integer('count').notNull().default(0),
    windowStartedAt: at('window_started_at').notNull().defaultNow(),
    blockedUntil: at('blocked_until'),
    expiresAt: at('expires_at').notNull(),
  },
  (t) => [index('throttles_expires_idx').on(t.expiresAt)],
);
