// External sign-in identities: the link from an account to a user at an OpenID Connect provider
// (issuer + `sub`, the only identifier OIDC Core §5.7 calls stable: e-mail addresses change and can
// be reassigned) or in an LDAP directory (the directory + the entry's entryUUID, RFC 4530, or DN).
import { sql } from 'drizzle-orm';
import { check, index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { users } from './accounts.js';
import { at, createdAt, id, ownedBy } from './columns.js';

export const IDENTITY_PROVIDERS = ['oidc', 'ldap'] as const;
export type IdentityProvider = (typeof IDENTITY_PROVIDERS)[number];

export const userIdentities = pgTable(
  'user_identities',
  {
    id: id(),
    userId: ownedBy('user_id', () => users.id),
    provider: text('provider', { enum: IDENTITY_PROVIDERS }).notNull(),
    /** OIDC: the issuer URL. LDAP: the directory URL and search base. */
    issuer: text('issuer').notNull(),
    /** OIDC: `sub`. LDAP: entryUUID, or the entry's DN when the directory has no entryUUID. */
    subject: text('subject').notNull(),
    /** The verified address the provider named at the last sign-in (canonical form). */
    email: text('email').notNull(),
    createdAt: createdAt(),
    lastLoginAt: at('last_login_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('user_identities_subject_unique').on(t.provider, t.issuer, t.subject),
    index('user_identities_user_idx').on(t.userId),
    check('user_identities_provider_check', sql`${t.provider} in ('oidc', 'ldap')`),
  ],
);
