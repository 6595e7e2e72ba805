// External sign-in identities: the link from an account to a user at an OpenID Connect provider
// (issuer + `sub`, the only identifier OIDC Core §5.7 calls stable: e-mail addresses change and can
// be reassigned) or in an LDAP directory (the directory + the entry's entryUUID, RFC 4530, or DN).
import { sql } from 'drizzle-orm';
import { check, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from './accounts.js';

export const IDENTITY_PROVIDERS = ['oidc', 'ldap'] as const;
export type IdentityProvider = (typeof IDENTITY_PROVIDERS)[number];

export const userIdentities = pgTable(
  'user_identities',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    provider: text('provider', { enum: IDENTITY_PROVIDERS }).notNull(),
    /** OIDC: the issuer URL. LDAP: the directory URL and search base. */
    issuer: text('issuer').notNull(),
    /** OIDC: `sub`. LDAP: entryUUID, or the entry's DN when the directory has no entryUUID. */
    subject: text('subject').notNull(),
    /** The verified address the provider named at the last sign-in (canonical form). */
    email: text('email').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastLoginAt: timestamp('last_login_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('user_identities_subject_unique').on(t.provider, t.issuer, t.subject),
    index('user_identities_user_idx').on(t.userId),
    check('user_identities_provider_check', sql`${t.provider} in ('oidc', 'ldap')`),
  ],
);
