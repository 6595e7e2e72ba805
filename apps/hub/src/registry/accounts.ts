// Accounts: sign-up with password rules, login throttled per account and address (NIST SP 800-63B
// §5.2.2: growing waits instead of a lockout; see login-throttle below), logout, password change,
// disabling and enabling accounts (the admin from PORTHOLE_ADMIN_* is admin-bootstrap.ts).
// Addresses follow email-address.ts: canonical on entry, both old and new forms on lookup.
//
// Nothing a visitor can reach tells which addresses have accounts:
// - login answers an unknown address and a wrong password alike, at the same cost (a dummy hash);
// - sign-up (signUpAndLogIn) for a taken address is a login attempt with the chosen password: the
//   right one signs in exactly as a new account would, a wrong one gets the answer of a failed
//   login and counts against the same throttles. Without an e-mail round trip a sign-up cannot
//   hide forever that an address was taken (the account opens with the chosen password or not);
//   what holds is that learning it costs a throttled failed login, not a free page load;
// - a grant to an address without an account creates an invited account (no password; the first
//   sign-up for the address sets one), so granting answers alike whether the address existed.
import { asc, eq, inArray, isNull, and } from 'drizzle-orm';
import {
  isUniqueViolation,
  users,
  type Executor,
  type UserRole,
} from '@porthole/db';
import { ConflictError, ForbiddenError, NotFoundError, RateLimitedError, UnauthorizedError, ValidationError } from '../errors.js';
import { burnPasswordCheck, hashPassword, needsRehash, passwordProblem, verifyPassword } from '../auth/passwords.js';
import { createSession, deleteSession, deleteUserSessions, type SessionUser } from '../auth/sessions.js';
import { createRateLimiter, type RateLimiter } from '../http/rate-limit.js';
import type { RegistryContext } from './context.js';
import { UUID_RE } from './devices.js';
import { emailLookupForms, normalizeEmail } from './email-address.js';
import { showRow } from './shown-row.js';
import { clearThrottles, refundAttempt, sharedBudget, takeAttempt, throttleKey, type BackoffRule, type BudgetRule, type SharedBudget } from './throttles.js';

export { normalizeEmail } from './email-address.js';

/** The password hash of an invited account: no password verifies against it. */
export const INVITED_PASSWORD_HASH = '!invited';

export interface LoginThrottleOptions {
  /** Failed logins of one account from one address: free ones, then doubling waits. */
  pair?: Partial<BackoffRule>;
  /**
   * Failed logins of one account from anywhere: past the free ones, addresses that have failed on
   * this account wait too. An address without a failure on the account is never held back by it.
   */
  account?: Partial<BackoffRule>;
  /** Failed logins from one address across all accounts, per window. */
  address?: Partial<BudgetRule>;
  /** Sign-ups one address may burst, and the refill rate. */
  signUpBurst?: number;
  signUpRefillPerSecond?: number;
  /** Count sign-ups per address in the throttles table (every node of a cluster shares one budget). */
  sharedSignUpBudget?: boolean;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
export const DEFAULT_LOGIN_THROTTLE = {
  pair: { kind: 'backoff', free: 5, baseDelayMs: 1000, maxDelayMs: 15 * MINUTE, forgetAfterMs: DAY },
  account: { kind: 'backoff', free: 20, baseDelayMs: 1000, maxDelayMs: 15 * MINUTE, forgetAfterMs: DAY },
  address: { kind: 'budget', budget: 100, windowMs: HOUR },
} as const satisfies Record<string, BackoffRule | BudgetRule>;

export interface LoginResult {
  user: SessionUser;
  session: { token: string; expiresAt: Date };
}

export interface UserInfo {
  id: string;
  email: string;
  role: UserRole;
  createdAt: string;
  disabledAt: string | null;
  passwordChangedAt: string | null;
  /** Created by a grant; nobody has signed up for the address yet. */
  invited: boolean;
}

type UserRow = typeof users.$inferSelect;

function toInfo(row: UserRow): UserInfo {
  return { ...showRow(row, ['id', 'email', 'role', 'createdAt', 'disabledAt', 'passwordChangedAt']), invited: row.passwordHash === INVITED_PASSWORD_HASH };
}

/** The account an address names, under its canonical or its pre-canonical stored form (typed form first). */
export async function findUserRow(ex: Executor, email: string): Promise<UserRow | undefined> {
  const forms = emailLookupForms(email);
  if (forms.length === 0) return undefined;
  const rows = await ex.select().from(users).where(inArray(users.email, forms));
  return forms.map((f) => rows.find((r) => r.email === f)).find((r) => r !== undefined);
}

/**
 * The account a grant names: the existing one, or a new invited account (see the header), so a
 * grant answers alike whether the address had an account. The address must pass the look-alike
 * rule either way.
 */
export async function findOrInviteAccount(ctx: RegistryContext, email: string): Promise<{ id: string; email: string }> {
  const canonical = normalizeEmail(email);
  const existing = await findUserRow(ctx.db, email);
  if (existing) return { id: existing.id, email: existing.email };
  const [row] = await ctx.db
    .insert(users)
    .values({ email: canonical, passwordHash: INVITED_PASSWORD_HASH, role: 'user', createdAt: ctx.now() })
    .onConflictDoNothing()
    .returning({ id: users.id, email: users.email });
  if (row) {
    ctx.logger?.info('account invited', { userId: row.id });
    return row;
  }
  const raced = await findUserRow(ctx.db, canonical);
  if (!raced) throw new ConflictError('the account changed meanwhile; try again', { field: 'email' });
  return { id: raced.id, email: raced.email };
}

export function createAccounts(ctx: RegistryContext, throttle: LoginThrottleOptions = {}) {
  const rules = {
    pair: { ...DEFAULT_LOGIN_THROTTLE.pair, ...throttle.pair },
    account: { ...DEFAULT_LOGIN_THROTTLE.account, ...throttle.account },
    address: { ...DEFAULT_LOGIN_THROTTLE.address, ...throttle.address },
  };
  const signUpRate = { capacity: throttle.signUpBurst ?? 5, refillPerSecond: throttle.signUpRefillPerSecond ?? 1 / 60 };
  const signUps: RateLimiter | SharedBudget = throttle.sharedSignUpBudget
    ? sharedBudget(ctx, 'sign-up', signUpRate)
    : createRateLimiter({ ...signUpRate, now: () => ctx.now().getTime() });

  function throttleKeys(email: string, address: string) {
    return {
      pair: throttleKey('login-pair', email, address),
      account: throttleKey('login-account', email),
      address: throttleKey('login-address', address),
    };
  }

  /**
   * Counts a password attempt for `email` from `address` before the password is checked; throws
   * RateLimitedError while one of the counters says wait. Returns what to do on success.
   */
  async function beginPasswordAttempt(email: string, address: string): Promise<{ succeeded(): Promise<void> }> {
    const keys = throttleKeys(email, address);
    const decision = await takeAttempt(ctx, [
      { key: keys.address, rule: rules.address },
      { key: keys.pair, rule: rules.pair },
      // Only addresses that already failed on this account wait for the account-wide counter:
      // the owner at an address of their own still gets in while others guess.
      { key: keys.account, rule: rules.account, enforce: (rows) => (rows.get(keys.pair)?.count ?? 0) > 0 },
    ]);
    if (!decision.allowed) {
      const seconds = Math.max(1, Math.ceil(decision.retryAfterSeconds));
      throw new RateLimitedError(`too many failed logins; try again in ${seconds} second${seconds === 1 ? '' : 's'}`, decision.retryAfterSeconds);
    }
    return {
      async succeeded() {
        await clearThrottles(ctx, [keys.pair, keys.account]);
        await refundAttempt(ctx, [keys.address]);
      },
    };
  }

  async function takeSignUp(clientIp: string | null | undefined): Promise<void> {
    if (clientIp === undefined) return;
    const decision = await signUps.take(clientIp ?? 'unknown');
    if (!decision.allowed) throw new RateLimitedError('too many sign-ups from this address; try again later', decision.retryAfterSeconds);
  }

  /**
   * Checks `password` for an account row; an unknown account, and one without a password (invited,
   * or made by single sign-on: not a PHC string), costs the same as a wrong password.
   */
  async function passwordMatches(row: UserRow | undefined, password: string): Promise<boolean> {
    if (!row || !row.passwordHash.startsWith('$') || password.length > 1024) {
      await burnPasswordCheck(password.slice(0, 1024));
      return false;
    }
    return verifyPassword(row.passwordHash, password);
  }

  async function insertUser(email: string, passwordHash: string, role: UserRole): Promise<SessionUser> {
    const now = ctx.now();
    const [row] = await ctx.db
      .insert(users)
      .values({ email, passwordHash, role, createdAt: now, passwordChangedAt: passwordHash === INVITED_PASSWORD_HASH ? null : now })
      .returning({ id: users.id, email: users.email, role: users.role });
    ctx.logger?.info(passwordHash === INVITED_PASSWORD_HASH ? 'account invited' : 'account created', { userId: row!.id, role: row!.role });
    return row!;
  }

  /** Sets the first password of an invited account; undefined when someone else did first. */
  async function acceptInvitation(row: UserRow, passwordHash: string): Promise<SessionUser | undefined> {
    const [accepted] = await ctx.db
      .update(users)
      .set({ passwordHash, passwordChangedAt: ctx.now() })
      .where(and(eq(users.id, row.id), eq(users.passwordHash, INVITED_PASSWORD_HASH)))
      .returning({ id: users.id, email: users.email, role: users.role });
    if (accepted) ctx.logger?.info('invited account signed up', { userId: accepted.id });
    return accepted;
  }

  /**
   * Creates an account (operators, tests, the first admin). A taken address is a ConflictError: this
   * is not what a sign-up form calls (see signUpAndLogIn).
   */
  async function signUp(input: { email: string; password: string; role?: UserRole; clientIp?: string | null }): Promise<SessionUser> {
    const email = normalizeEmail(input.email);
    const problem = passwordProblem(input.password, email);
    if (problem) throw new ValidationError(problem, { field: 'password' });
    await takeSignUp(input.clientIp);
    const passwordHash = await hashPassword(input.password);
    const existing = await findUserRow(ctx.db, email);
    if (existing?.passwordHash === INVITED_PASSWORD_HASH) {
      const accepted = await acceptInvitation(existing, passwordHash);
      if (accepted) return accepted;
    }
    try {
      return await insertUser(email, passwordHash, input.role ?? 'user');
    } catch (err) {
      if (isUniqueViolation(err, 'users_email_unique')) throw new ConflictError('an account with this e-mail address exists', { field: 'email' });
      throw err;
    }
  }

  /** Why a verified account may not sign in, or undefined. */
  function refusal(row: UserRow): ForbiddenError | undefined {
    return row.disabledAt ? new ForbiddenError('this account is disabled; ask an administrator', { field: 'email' }) : undefined;
  }

  async function startSession(row: UserRow, password: string, clientIp: string | null): Promise<LoginResult> {
    if (needsRehash(row.passwordHash)) {
      await ctx.db.update(users).set({ passwordHash: await hashPassword(password) }).where(eq(users.id, row.id));
    }
    const session = await createSession(ctx, row.id, clientIp);
    ctx.logger?.info('login', { userId: row.id, clientIp: clientIp ?? 'unknown' });
    return { user: { id: row.id, email: row.email, role: row.role }, session };
  }

  async function login(input: { email: string; password: string; clientIp: string | null }): Promise<LoginResult> {
    const forms = emailLookupForms(input.email.slice(0, 1024));
    const email = forms.at(-1) ?? '';
    const address = input.clientIp ?? 'unknown';
    const attempt = await beginPasswordAttempt(email, address);
    const row = email.length > 0 ? await findUserRow(ctx.db, input.email) : undefined;
    if (!(await passwordMatches(row, input.password)) || !row) {
      ctx.logger?.info('login failed', { clientIp: address });
      // One message for unknown account and wrong password: no account enumeration.
      throw new UnauthorizedError('e-mail address or password is wrong', { field: 'password' });
    }
    const refused = refusal(row);
    if (refused) throw refused;
    await attempt.succeeded();
    return startSession(row, input.password, input.clientIp);
  }

  /**
   * The sign-up form: a new address gets an account and a session; a taken one is a login attempt
   * with the chosen password (see the header). Input rules (address form, password strength) are
   * checked first and say what is wrong: they depend on the input only.
   */
  async function signUpAndLogIn(input: { email: string; password: string; clientIp: string | null }): Promise<LoginResult> {
    const email = normalizeEmail(input.email);
    const problem = passwordProblem(input.password, email);
    if (problem) throw new ValidationError(problem, { field: 'password' });
    await takeSignUp(input.clientIp);
    const attempt = await beginPasswordAttempt(email, input.clientIp ?? 'unknown');
    const existing = await findUserRow(ctx.db, email);
    let row: UserRow | undefined;
    if (!existing || existing.passwordHash === INVITED_PASSWORD_HASH) {
      const passwordHash = await hashPassword(input.password);
      const created = existing ? await acceptInvitation(existing, passwordHash) : await insertUser(email, passwordHash, 'user').catch((err: unknown) => {
        if (isUniqueViolation(err, 'users_email_unique')) return undefined; // a concurrent sign-up won
        throw err;
      });
      if (created) row = await findUserRow(ctx.db, created.email);
    } else if (await passwordMatches(existing, input.password)) {
      row = existing;
    }
    if (!row) {
      ctx.logger?.info('sign-up for a taken address refused', { clientIp: input.clientIp ?? 'unknown' });
      throw new UnauthorizedError('could not sign up with this e-mail address and password (to use an account of yours, log in)', { field: 'password' });
    }
    const refused = refusal(row);
    if (refused) throw refused;
    await attempt.succeeded();
    return startSession(row, input.password, input.clientIp);
  }

  async function logout(sessionToken: string): Promise<void> {
    await deleteSession(ctx, sessionToken);
  }

  /**
   * The signed-in user's new password, after the current one (counted like a login attempt: a
   * stolen session must not become a way to guess it). Every session of the user ends, portal and
   * device; the answer is a fresh session for the browser that made the change.
   */
  async function changePassword(input: { userId: string; currentPassword: string; newPassword: string; clientIp: string | null }): Promise<LoginResult> {
    const [row] = UUID_RE.test(input.userId) ? await ctx.db.select().from(users).where(eq(users.id, input.userId)) : [];
    if (!row || row.disabledAt) throw new UnauthorizedError('sign in again first', { field: 'currentPassword' });
    const attempt = await beginPasswordAttempt(row.email, input.clientIp ?? 'unknown');
    if (!(await passwordMatches(row, input.currentPassword))) {
      throw new UnauthorizedError('the current password is wrong', { field: 'currentPassword' });
    }
    await attempt.succeeded();
    const problem = passwordProblem(input.newPassword, row.email);
    if (problem) throw new ValidationError(problem.replace(/^password/, 'the new password'), { field: 'newPassword' });
    if (input.newPassword === input.currentPassword) {
      throw new ValidationError('the new password must differ from the current one', { field: 'newPassword' });
    }
    await ctx.db
      .update(users)
      .set({ passwordHash: await hashPassword(input.newPassword), passwordChangedAt: ctx.now() })
      .where(eq(users.id, row.id));
    await deleteUserSessions(ctx, row.id);
    ctx.logger?.info('password changed', { userId: row.id });
    const session = await createSession(ctx, row.id, input.clientIp);
    return { user: { id: row.id, email: row.email, role: row.role }, session };
  }

  async function userRow(id: string): Promise<UserRow> {
    const [row] = UUID_RE.test(id) ? await ctx.db.select().from(users).where(eq(users.id, id)) : [];
    if (!row) throw new NotFoundError(`user ${JSON.stringify(id.slice(0, 40))} does not exist`, { field: 'id' });
    return row;
  }

  async function listUsers(): Promise<UserInfo[]> {
    return (await ctx.db.select().from(users).orderBy(asc(users.email))).map(toInfo);
  }

  async function getUser(id: string): Promise<UserInfo> {
    return toInfo(await userRow(id));
  }

  /**
   * Disables an account: it cannot sign in or use its API tokens, and every session it has, portal
   * and device, ends now. Repeating it changes nothing. Nobody disables their own account (an
   * administrator could lock the last administrator out).
   */
  async function disableUser(id: string, by: { id: string }): Promise<UserInfo> {
    const row = await userRow(id);
    if (row.id === by.id) throw new ForbiddenError('you cannot disable your own account', { field: 'id' });
    const [updated] = await ctx.db
      .update(users)
      .set({ disabledAt: ctx.now() })
      .where(and(eq(users.id, row.id), isNull(users.disabledAt)))
      .returning();
    await deleteUserSessions(ctx, row.id);
    if (updated) ctx.logger?.info('account disabled', { userId: row.id, by: by.id });
    return toInfo(updated ?? row);
  }

  async function enableUser(id: string, by: { id: string }): Promise<UserInfo> {
    const row = await userRow(id);
    const [updated] = await ctx.db.update(users).set({ disabledAt: null }).where(eq(users.id, row.id)).returning();
    if (row.disabledAt) ctx.logger?.info('account enabled', { userId: row.id, by: by.id });
    return toInfo(updated!);
  }

  async function findUserByEmail(email: string): Promise<SessionUser | undefined> {
    const row = await findUserRow(ctx.db, email);
    return row ? { id: row.id, email: row.email, role: row.role } : undefined;
  }

  return {
    signUp,
    signUpAndLogIn,
    login,
    logout,
    changePassword,
    listUsers,
    getUser,
    disableUser,
    enableUser,
    findUserByEmail,
    /** The login throttle for other password checks (directory sign-in), keyed by their own subject. */
    beginPasswordAttempt,
  };
}
