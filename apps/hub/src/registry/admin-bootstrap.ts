// The admin account from PORTHOLE_ADMIN_EMAIL / _PASSWORD / _TOKEN: created at start on a database
// without accounts (bootstrapAdmin), or created or reset on any database by `set-admin` (setAdmin).
// Every value is checked before anything is written, and the account and its token are written in
// one transaction: a bad token can no longer leave an account behind that later starts ignore.
import { and, count, eq, isNull } from 'drizzle-orm';
import { apiTokens, users, type Executor } from '@porthole/db';
import { ValidationError } from '../errors.js';
import { createApiToken, MIN_CUSTOM_TOKEN_LENGTH } from '../auth/api-tokens.js';
import { hashPassword, passwordProblem, verifyPassword } from '../auth/passwords.js';
import { hashToken } from '../auth/secret-token.js';
import { deleteUserSessions, type SessionUser } from '../auth/sessions.js';
import { findUserRow } from './accounts.js';
import { inTransaction, type RegistryContext } from './context.js';
import { canonicalEmail, emailProblem } from './email-address.js';

export interface AdminCredentials {
  adminEmail?: string | undefined;
  adminPassword?: string | undefined;
  adminToken?: string | undefined;
}

export type AdminField = keyof AdminCredentials;

/** Where each value comes from, for messages an operator can act on. */
export const ADMIN_VARIABLES: Record<AdminField, string> = {
  adminEmail: 'PORTHOLE_ADMIN_EMAIL',
  adminPassword: 'PORTHOLE_ADMIN_PASSWORD',
  adminToken: 'PORTHOLE_ADMIN_TOKEN',
};

/** Longer bearer values are never looked up (auth/api-tokens.ts). */
const MAX_TOKEN_LENGTH = 512;

/** Why `token` cannot be an operator-chosen API token, or undefined. */
export function adminTokenProblem(token: string): string | undefined {
  if (token.length < MIN_CUSTOM_TOKEN_LENGTH) {
    return `must have at least ${MIN_CUSTOM_TOKEN_LENGTH} characters (has ${token.length}); for example ph_api_ and 32 random letters and digits`;
  }
  if (token.length > MAX_TOKEN_LENGTH) return `must have at most ${MAX_TOKEN_LENGTH} characters`;
  // A bearer value is one header token: spaces or control characters would never authenticate.
  if (!/^[\x21-\x7e]+$/.test(token)) return 'must be printable ASCII without spaces';
  return undefined;
}

/**
 * Every problem with the admin values, without touching the database: which are missing for which,
 * the address rule, the password rule and the token rule. Nothing set is no problem.
 */
export function adminCredentialProblems(input: AdminCredentials): { field: AdminField; message: string }[] {
  const { adminEmail: email, adminPassword: password, adminToken: token } = input;
  if (!email && !password && !token) return [];
  const problems: { field: AdminField; message: string }[] = [];
  if (!email) problems.push({ field: 'adminEmail', message: `must be set with ${password ? ADMIN_VARIABLES.adminPassword : ADMIN_VARIABLES.adminToken}` });
  if (!password) problems.push({ field: 'adminPassword', message: `must be set with ${email ? ADMIN_VARIABLES.adminEmail : ADMIN_VARIABLES.adminToken}` });
  const emailIssue = email ? emailProblem(email) : undefined;
  if (emailIssue) problems.push({ field: 'adminEmail', message: emailIssue.replace(/^email:? ?/, '') });
  const passwordIssue = password ? passwordProblem(password, email ?? '') : undefined;
  if (passwordIssue) problems.push({ field: 'adminPassword', message: passwordIssue.replace(/^password /, '') });
  const tokenIssue = token ? adminTokenProblem(token) : undefined;
  if (tokenIssue) problems.push({ field: 'adminToken', message: tokenIssue });
  return problems;
}

/** Throws one ValidationError naming every problem (the first one's field). */
function checkCredentials(input: AdminCredentials): { email: string; password: string; token: string | undefined } {
  const problems = adminCredentialProblems(input);
  if (problems.length > 0) {
    throw new ValidationError(problems.map((p) => `${ADMIN_VARIABLES[p.field]} ${p.message}`).join('; '), { field: problems[0]!.field });
  }
  return { email: canonicalEmail(input.adminEmail!), password: input.adminPassword!, token: input.adminToken };
}

const BOOTSTRAP_TOKEN_NAME = 'bootstrap admin token';

async function insertAdmin(tx: Executor, ctx: RegistryContext, email: string, passwordHash: string): Promise<SessionUser> {
  const now = ctx.now();
  const [row] = await tx
    .insert(users)
    .values({ email, passwordHash, role: 'admin', createdAt: now, passwordChangedAt: now })
    .returning({ id: users.id, email: users.email, role: users.role });
  return row!;
}

export type BootstrapOutcome =
  | { kind: 'created'; admin: SessionUser; withToken: boolean }
  /** No admin variables set. */
  | { kind: 'not-configured'; adminExists: boolean }
  /** Accounts exist: the variables were not applied. */
  | { kind: 'ignored'; mismatches: string[] };

/**
 * On a database without any account: the admin and, when given, its API token, in one transaction.
 * Once any account exists the values are compared with what is stored (so the log can say what
 * differs) and nothing is written. Invalid values are a ValidationError before anything happens.
 */
export async function bootstrapAdmin(ctx: RegistryContext, input: AdminCredentials): Promise<BootstrapOutcome> {
  if (!input.adminEmail && !input.adminPassword && !input.adminToken) {
    const [admin] = await ctx.db.select({ id: users.id }).from(users).where(and(eq(users.role, 'admin'), isNull(users.disabledAt))).limit(1);
    return { kind: 'not-configured', adminExists: admin !== undefined };
  }
  const { email, password, token } = checkCredentials(input);
  const passwordHash = await hashPassword(password);
  const created = await inTransaction(
    ctx.db,
    async (tx) => {
      const [{ n } = { n: 0 }] = await tx.select({ n: count() }).from(users);
      if (Number(n) > 0) return undefined;
      const admin = await insertAdmin(tx, ctx, email, passwordHash);
      if (token) await createApiToken({ ...ctx, db: tx }, { userId: admin.id, name: BOOTSTRAP_TOKEN_NAME, scopes: ['read', 'write'], plaintext: token });
      return admin;
    },
    // Two hub nodes starting on an empty database: the loser retries, sees the account and stops.
    ['users_email_unique'],
  );
  if (created) return { kind: 'created', admin: created, withToken: token !== undefined };
  return { kind: 'ignored', mismatches: await differences(ctx, email, password, token) };
}

/** What the stored accounts lack compared with the admin values (empty: they match). */
async function differences(ctx: RegistryContext, email: string, password: string, token: string | undefined): Promise<string[]> {
  const row = await findUserRow(ctx.db, email);
  const out: string[] = [];
  if (!row) out.push(`no account has the address ${ADMIN_VARIABLES.adminEmail} names`);
  else {
    if (row.role !== 'admin') out.push(`the account of ${ADMIN_VARIABLES.adminEmail} is not an admin`);
    if (row.disabledAt) out.push(`the account of ${ADMIN_VARIABLES.adminEmail} is disabled`);
    if (!(await verifyPassword(row.passwordHash, password))) out.push(`its password is not ${ADMIN_VARIABLES.adminPassword}`);
  }
  if (token) {
    const [stored] = await ctx.db.select().from(apiTokens).where(eq(apiTokens.tokenHash, hashToken(token)));
    if (!stored || stored.userId !== row?.id) out.push(`${ADMIN_VARIABLES.adminToken} is not a token of that account`);
    else if (stored.revokedAt) out.push(`${ADMIN_VARIABLES.adminToken} was revoked`);
    else if (stored.expiresAt && stored.expiresAt <= ctx.now()) out.push(`${ADMIN_VARIABLES.adminToken} has expired`);
  }
  return out;
}

export interface SetAdminResult {
  admin: SessionUser;
  /** False: an existing account was reset. */
  created: boolean;
  /** The token was added, or an existing one of this account made valid again. */
  token: 'added' | 'restored' | 'unchanged' | 'none';
}

/**
 * Creates the admin account the values name, or resets an existing one: the new password, the
 * admin role, enabled, every session ended; and the token, when given, valid for that account. On
 * any database, with or without other accounts. One transaction; ValidationError before it for bad
 * values or a token that belongs to another account.
 */
export async function setAdmin(ctx: RegistryContext, input: AdminCredentials): Promise<SetAdminResult> {
  if (!input.adminEmail || !input.adminPassword) {
    throw new ValidationError(`set ${ADMIN_VARIABLES.adminEmail} and ${ADMIN_VARIABLES.adminPassword} (and ${ADMIN_VARIABLES.adminToken} for an API token)`, {
      field: input.adminEmail ? 'adminPassword' : 'adminEmail',
    });
  }
  const { email, password, token } = checkCredentials(input);
  const passwordHash = await hashPassword(password);
  return inTransaction(
    ctx.db,
    async (tx) => {
      const txCtx = { ...ctx, db: tx };
      const existing = await findUserRow(tx, email);
      let admin: SessionUser;
      if (existing) {
        const [row] = await tx
          .update(users)
          .set({ passwordHash, role: 'admin', disabledAt: null, passwordChangedAt: ctx.now() })
          .where(eq(users.id, existing.id))
          .returning({ id: users.id, email: users.email, role: users.role });
        admin = row!;
        await deleteUserSessions(txCtx, admin.id);
      } else {
        admin = await insertAdmin(tx, ctx, email, passwordHash);
      }
      let tokenResult: SetAdminResult['token'] = 'none';
      if (token) {
        const [stored] = await tx.select().from(apiTokens).where(eq(apiTokens.tokenHash, hashToken(token)));
        if (stored && stored.userId !== admin.id) {
          throw new ValidationError(`${ADMIN_VARIABLES.adminToken} is already a token of another account; choose another`, { field: 'adminToken' });
        }
        if (!stored) {
          await createApiToken(txCtx, { userId: admin.id, name: BOOTSTRAP_TOKEN_NAME, scopes: ['read', 'write'], plaintext: token });
          tokenResult = 'added';
        } else if (stored.revokedAt || (stored.expiresAt && stored.expiresAt <= ctx.now())) {
          await tx.update(apiTokens).set({ revokedAt: null, expiresAt: null }).where(eq(apiTokens.id, stored.id));
          tokenResult = 'restored';
        } else {
          tokenResult = 'unchanged';
        }
      }
      const tokenNote = { added: ', API token added', restored: ', API token valid again', unchanged: '', none: '' }[tokenResult];
      ctx.logger?.info(`admin account ${existing ? 'reset' : 'created'}${tokenNote}`, { userId: admin.id });
      return { admin, created: !existing, token: tokenResult };
    },
    ['users_email_unique'],
  );
}

const SET_ADMIN_HINT = 'to create or reset this admin account, run "npm start -- set-admin" with the same variables';

/**
 * The start's bootstrap with its outcome in the log: why the admin variables were not applied (and
 * what differs), or that no admin account exists at all. Returns the admin it created.
 */
export async function bootstrapAdminAtStart(ctx: RegistryContext, input: AdminCredentials): Promise<SessionUser | undefined> {
  const outcome = await bootstrapAdmin(ctx, input);
  switch (outcome.kind) {
    case 'created':
      ctx.logger?.info('first admin created', { userId: outcome.admin.id, withToken: outcome.withToken });
      return outcome.admin;
    case 'not-configured':
      if (!outcome.adminExists) {
        ctx.logger?.warn(
          'no admin account exists: set PORTHOLE_ADMIN_EMAIL and PORTHOLE_ADMIN_PASSWORD (and PORTHOLE_ADMIN_TOKEN for the API) and restart, or run "npm start -- set-admin" with them',
        );
      }
      return undefined;
    case 'ignored':
      if (outcome.mismatches.length === 0) ctx.logger?.info('the admin account of PORTHOLE_ADMIN_EMAIL exists as configured');
      else {
        ctx.logger?.warn(
          `PORTHOLE_ADMIN_EMAIL, PORTHOLE_ADMIN_PASSWORD and PORTHOLE_ADMIN_TOKEN were ignored: this database has accounts already, and they create the first admin only on an empty one; ${outcome.mismatches.join('; ')}; ${SET_ADMIN_HINT}`,
        );
      }
      return undefined;
  }
}
