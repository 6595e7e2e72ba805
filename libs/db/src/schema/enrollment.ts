// How devices join: fleet enrollment tokens (hashed, expiring, counted uses, tags) and owner claims
// (RFC 8628-style device authorization: a user code for the browser, a hashed poll token for the agent).
import { sql } from 'drizzle-orm';
import { check, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { users } from './accounts.js';
import { organizations } from './organizations.js';
import { at, createdAt, doneBy, id, ownedBy } from './columns.js';

export const enrollmentTokens = pgTable(
  'enrollment_tokens',
  {
    id: id(),
    /** Devices registered with the token belong to this organisation. */
    organizationId: ownedBy('organization_id', () => organizations.id),
    createdBy: doneBy('created_by', () => users.id),
    description: text('description').notNull().default(''),
    tokenHash: text('token_hash').notNull(),
    displayPrefix: text('display_prefix').notNull(),
    /** Copied onto every device enrolled with this token. */
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    maxUses: integer('max_uses').notNull(),
    uses: integer('uses').notNull().default(0),
    createdAt: createdAt(),
    expiresAt: at('expires_at').notNull(),
    revokedAt: at('revoked_at'),
  },
  (t) => [
    uniqueIndex('enrollment_tokens_token_hash_unique').on(t.tokenHash),
    index('enrollment_tokens_organization_idx').on(t.organizationId),
    // The database itself refuses a use past the limit, whatever the caller does.
    check('enrollment_tokens_uses_check', sql`${t.uses} >= 0 and ${t.uses} <= ${t.maxUses}`),
  ],
);

export const CLAIM_STATUSES = ['pending', 'approved', 'denied'] as const;
export type ClaimStatus = (typeof CLAIM_STATUSES)[number];

export const claims = pgTable(
  'claims',
  {
    id: id(),
    /** `ABCD-EFGH` without the hyphen, from an alphabet without look-alike letters. */
    userCode: text('user_code').notNull(),
    pollTokenHash: text('poll_token_hash').notNull(),
    serial: text('serial').notNull(),
    publicKey: text('public_key').notNull(),
    returnUrl: text('return_url'),
    agentVersion: text('agent_version'),
    status: text('status', { enum: CLAIM_STATUSES }).notNull().default('pending'),
    createdAt: createdAt(),
    expiresAt: at('expires_at').notNull(),
    lastPolledAt: at('last_polled_at'),
    decidedBy: doneBy('decided_by', () => users.id),
    decidedAt: at('decided_at'),
    /** Subject and issuer of the certificate a claim was attested with (when a vendor CA is configured). */
    attestationSubject: text('attestation_subject'),
    attestationIssuer: text('attestation_issuer'),
  },
  (t) => [
    uniqueIndex('claims_poll_token_hash_unique').on(t.pollTokenHash),
    // A code names one pending claim; decided claims keep their code for the agent's last poll.
    uniqueIndex('claims_user_code_pending_unique').on(t.userCode).where(sql`${t.status} = 'pending'`),
    index('claims_expires_idx').on(t.expiresAt),
    check('claims_status_check', sql`${t.status} in ('pending', 'approved', 'denied')`),
  ],
);
