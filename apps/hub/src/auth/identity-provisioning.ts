// Accounts for users an identity provider (OIDC) or a directory (LDAP) vouches for: found again by
// the provider's stable identifier (user_identities), created on first sign-in, their hub role set
// by the provider's role mapping at every sign-in, and the sign-in ending in an ordinary portal
// session (sessions.ts).
//
// Linking to an account that already exists under the same (normalised) address:
// - an invited account (made by a grant, no password yet) is linked: nobody holds a credential for
//   it, and the grant was made for exactly this address, which the provider has now verified;
// - an account made by another provider is linked (both providers are the operator's choice and
//   both verified the address), unless it already has a different subject at the same provider:
//   that is an address the provider reassigned, and the new holder must not inherit the account;
// - an account with a password is NOT linked by address. Local sign-up does not verify addresses,
//   so anyone could have made it before its owner first signed in with the provider ("account
//   pre-hijacking"); linking would let that person keep a password into the owner's account. Its
//   owner links the provider while signed in with the password (linkIdentity), proving both.
import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import { organizations, users, userIdentities, type Executor, type IdentityProvider, type OrganizationRole, type UserRole } from '@porthole/db';
import { ConflictError, ForbiddenError, ValidationError } from '../errors.js';
import { findUserRow, INVITED_PASSWORD_HASH, type LoginResult } from '../registry/accounts.js';
import { inTransaction, type RegistryContext } from '../registry/context.js';
import { setMembership } from '../registry/organizations.js';
import { canonicalEmail, normalizeEmail } from '../registry/email-address.js';
import { hubRoleFor, organizationRolesFor, type MappingProfile, type RoleMapping } from './role-mapping.js';
import { createSession, type SessionUser } from './sessions.js';

/** The password hash of an account made by a provider: no password verifies against it. */
export const EXTERNAL_PASSWORD_HASH = '!external';

/** A user as a provider vouches for them, after the provider's own checks (verified address). */
export interface ExternalIdentity {
  provider: IdentityProvider;
  /** The provider's name for people: "Example SSO", "the company directory". */
  providerName: string;
  /** OIDC issuer; LDAP directory URL and base. */
  issuer: string;
  /** Stable identifier at the provider (OIDC `sub`, LDAP entryUUID or DN). */
  subject: string;
  /** The verified address (any form; normalised here). */
  email: string;
  claims: MappingProfile['claims'];
  groups: MappingProfile['groups'];
}

export interface ProvisioningPolicy {
  mapping: RoleMapping;
  /** Addresses whose role the mapping never changes: the bootstrap admin (PORTHOLE_ADMIN_EMAIL) stays admin. */
  protectedEmails?: readonly string[];
}

export interface IdentityInfo {
  provider: IdentityProvider;
  issuer: string;
  email: string;
  createdAt: string;
  lastLoginAt: string;
}

type UserRow = typeof users.$inferSelect;

/** The address in its stored form; a provider's look-alike address is refused like a typed one. */
function verifiedEmail(identity: ExternalIdentity): string {
  try {
    return normalizeEmail(identity.email);
  } catch (err) {
    if (err instanceof ValidationError) {
      throw new ForbiddenError(`${identity.providerName} gave an address this hub cannot use: ${err.message}`, { field: 'email' });
    }
    throw err;
  }
}

interface MappedRoles {
  hub: UserRole;
  /** Organisation name (lowercased) → role. */
  organizations: Map<string, OrganizationRole>;
}

function roleFor(identity: ExternalIdentity, email: string, policy: ProvisioningPolicy): MappedRoles {
  const profile = { email, claims: identity.claims, groups: identity.groups };
  const organizations = organizationRolesFor(policy.mapping.rules, profile);
  // A rule giving a role in an organisation lets the user in (as a user of the hub) even when the default is `none`.
  const hub = hubRoleFor(policy.mapping.rules, profile, policy.mapping.defaultRole) ?? (organizations.size > 0 ? 'user' : undefined);
  if (!hub) throw new ForbiddenError(`your account at ${identity.providerName} is not allowed to sign in to this hub; ask an administrator`);
  return { hub, organizations };
}

/** Sets the roles the rules give in organisations (memberships given by hand in others stay). */
async function syncMemberships(tx: Executor, ctx: RegistryContext, userId: string, roles: Map<string, OrganizationRole>): Promise<void> {
  if (roles.size === 0) return;
  const orgs = await tx
    .select({ id: organizations.id, name: organizations.name })
    .from(organizations)
    .where(inArray(sql`lower(${organizations.name})`, [...roles.keys()]));
  for (const [name, role] of roles) {
    const org = orgs.find((o) => o.name.toLowerCase() === name);
    if (!org) {
      ctx.logger?.warn('sign-in mapping names an organization that does not exist', { organization: name, userId });
      continue;
    }
    await setMembership(tx, org.id, userId, role, ctx.now());
  }
}

async function linkedUser(tx: Executor, identity: ExternalIdentity): Promise<UserRow | undefined> {
  const [row] = await tx
    .select({ user: users })
    .from(userIdentities)
    .innerJoin(users, eq(users.id, userIdentities.userId))
    .where(and(eq(userIdentities.provider, identity.provider), eq(userIdentities.issuer, identity.issuer), eq(userIdentities.subject, identity.subject)));
  return row?.user;
}

async function insertIdentity(tx: Executor, ctx: RegistryContext, userId: string, identity: ExternalIdentity, email: string): Promise<void> {
  const now = ctx.now();
  await tx.insert(userIdentities).values({ userId, provider: identity.provider, issuer: identity.issuer, subject: identity.subject, email, createdAt: now, lastLoginAt: now });
}

/** The account an unlinked identity belongs to by address, per the rules in the header; undefined when none exists. */
async function accountByAddress(tx: Executor, ctx: RegistryContext, identity: ExternalIdentity, email: string): Promise<UserRow | undefined> {
  const existing = await findUserRow(tx, email);
  if (!existing) return undefined;
  if (existing.passwordHash === INVITED_PASSWORD_HASH) {
    const [claimed] = await tx
      .update(users)
      .set({ passwordHash: EXTERNAL_PASSWORD_HASH })
      .where(and(eq(users.id, existing.id), eq(users.passwordHash, INVITED_PASSWORD_HASH)))
      .returning();
    // Someone set a password meanwhile: the account is now a password account.
    if (!claimed) throw new ConflictError('the account changed meanwhile; try again', { field: 'email' });
    ctx.logger?.info('invited account taken over by its provider', { userId: existing.id, provider: identity.provider });
    return claimed;
  }
  if (existing.passwordHash === EXTERNAL_PASSWORD_HASH) {
    const [other] = await tx
      .select({ id: userIdentities.id })
      .from(userIdentities)
      .where(and(eq(userIdentities.userId, existing.id), eq(userIdentities.provider, identity.provider), eq(userIdentities.issuer, identity.issuer), ne(userIdentities.subject, identity.subject)));
    if (other) {
      ctx.logger?.warn('sign-in refused: address belongs to another subject at the same provider', { userId: existing.id, provider: identity.provider });
      throw new ConflictError(`the account for ${email} belongs to another user at ${identity.providerName}; ask an administrator`, { field: 'email' });
    }
    return existing;
  }
  throw new ConflictError(
    `an account for ${email} signs in with a password: log in with it, then link ${identity.providerName} at /account/sign-in`,
    { field: 'email' },
  );
}

/** Applies the mapping's role unless the account is protected; returns the row as it now is. */
async function syncRole(tx: Executor, ctx: RegistryContext, row: UserRow, role: UserRole, policy: ProvisioningPolicy): Promise<UserRow> {
  if (row.role === role || (policy.protectedEmails ?? []).some((e) => canonicalEmail(e) === row.email)) return row;
  const [updated] = await tx.update(users).set({ role }).where(eq(users.id, row.id)).returning();
  ctx.logger?.info('role set by sign-in mapping', { userId: row.id, from: row.role, to: role });
  return updated ?? row;
}

function refuseDisabled(row: UserRow): void {
  if (row.disabledAt) throw new ForbiddenError('this account is disabled; ask an administrator', { field: 'email' });
}

/**
 * The transaction of a sign-in or a link: `account` settles which account `identity` is (linking it
 * where it is not yet); that account must not be disabled, and its role and memberships follow the
 * mapping. Retried on the unique constraints `retryOn` names.
 */
async function provision(
  ctx: RegistryContext,
  identity: ExternalIdentity,
  policy: ProvisioningPolicy,
  retryOn: readonly string[],
  account: (tx: Executor, email: string, role: UserRole) => Promise<UserRow>,
): Promise<UserRow> {
  const email = verifiedEmail(identity);
  const roles = roleFor(identity, email, policy);
  return inTransaction(
    ctx.db,
    async (tx) => {
      const row = await account(tx, email, roles.hub);
      refuseDisabled(row);
      await syncMemberships(tx, ctx, row.id, roles.organizations);
      return syncRole(tx, ctx, row, roles.hub, policy);
    },
    retryOn,
  );
}

/**
 * Signs in the user `identity` names: the linked account, else the account its address names (see
 * the header), else a new one. The role comes from the mapping; the answer is a portal session.
 */
export async function signInWithIdentity(
  ctx: RegistryContext,
  identity: ExternalIdentity,
  policy: ProvisioningPolicy,
  clientIp: string | null,
): Promise<LoginResult> {
  // Two first sign-ins of one user at once: the loser finds the winner's rows on its retry.
  const row = await provision(ctx, identity, policy, ['users_email_unique', 'user_identities_subject_unique'], async (tx, email, role) => {
    const linked = await linkedUser(tx, identity);
    if (linked) {
      await tx
        .update(userIdentities)
        .set({ email, lastLoginAt: ctx.now() })
        .where(and(eq(userIdentities.provider, identity.provider), eq(userIdentities.issuer, identity.issuer), eq(userIdentities.subject, identity.subject)));
      return linked;
    }
    let account = await accountByAddress(tx, ctx, identity, email);
    if (!account) {
      [account] = await tx.insert(users).values({ email, passwordHash: EXTERNAL_PASSWORD_HASH, role, createdAt: ctx.now() }).returning();
      ctx.logger?.info('account created by sign-in', { userId: account!.id, provider: identity.provider, role });
    }
    await insertIdentity(tx, ctx, account!.id, identity, email);
    return account!;
  });
  const session = await createSession(ctx, row.id, clientIp);
  ctx.logger?.info('login', { userId: row.id, method: identity.provider, clientIp: clientIp ?? 'unknown' });
  return { user: { id: row.id, email: row.email, role: row.role }, session };
}

/**
 * Links `identity` to the signed-in `user` (who proved the account's password by being signed in,
 * and the provider account by this sign-in). The provider's verified address must be the account's.
 */
export async function linkIdentity(ctx: RegistryContext, identity: ExternalIdentity, policy: ProvisioningPolicy, user: SessionUser): Promise<SessionUser> {
  const row = await provision(ctx, identity, policy, ['user_identities_subject_unique'], async (tx, email) => {
    const linked = await linkedUser(tx, identity);
    if (linked && linked.id !== user.id) {
      throw new ConflictError(`this ${identity.providerName} account is linked to another account of this hub`, { field: 'email' });
    }
    const [account] = await tx.select().from(users).where(eq(users.id, user.id));
    if (!account) throw new ForbiddenError('sign in again first');
    if (account.email !== email) {
      throw new ConflictError(`${identity.providerName} signed you in as ${email}, but this account is ${account.email}`, { field: 'email' });
    }
    // A disabled account is refused after this; the transaction then takes the link back.
    if (!linked) await insertIdentity(tx, ctx, account.id, identity, email);
    return account;
  });
  ctx.logger?.info('sign-in method linked', { userId: row.id, provider: identity.provider });
  return { id: row.id, email: row.email, role: row.role };
}

/** The providers an account signs in with (never the subject: it is the provider's identifier, not ours to show). */
export async function listIdentities(ctx: RegistryContext, userId: string): Promise<IdentityInfo[]> {
  const rows = await ctx.db.select().from(userIdentities).where(eq(userIdentities.userId, userId));
  return rows.map((r) => ({
    provider: r.provider,
    issuer: r.issuer,
    email: r.email,
    createdAt: r.createdAt.toISOString(),
    lastLoginAt: r.lastLoginAt.toISOString(),
  }));
}
