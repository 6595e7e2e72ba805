// Accounts: sign-up with password rules, login with per-account and per-address throttling (NIST
// SP 800-63B §5.2.2: at most ~100 consecutive failures per account, growing waits instead of a
// lockout), logout, and the first-start admin (PORTHOLE_ADMIN_EMAIL / _PASSWORD / _TOKEN).
import { count, eq } from 'drizzle-orm';
import { ConflictError, isUniqueViolation, RateLimitedError, UnauthorizedError, users, ValidationError, type UserRole } from '@porthole/db';
import { createApiToken } from '../auth/api-tokens.js';
import { burnPasswordCheck, hashPassword, needsRehash, passwordProblem, verifyPassword } from '../auth/passwords.js';
import { createSession, deleteSession, type SessionUser } from '../auth/sessions.js';
import { createRateLimiter, type RateLimiter } from '../http/rate-limit.js';
import type { RegistryContext } from './context.js';

const EMAIL_RE = /^[^\s@"<>()[\]\\,;:]{1,64}@[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function normalizeEmail(input: string): string {
  const email = input.trim().toLowerCase();
  if (email.length > 254 || !EMAIL_RE.test(email)) throw new ValidationError('email must be an e-mail address', { field: 'email' });
  return email;
}

export interface LoginThrottleOptions {
  /** Failed logins one account may burst, and the refill rate (per second). */
  accountBurst?: number;
  accountRefillPerSecond?: number;
  /** Failed logins one client address may burst, and the refill rate. */
  addressBurst?: number;
  addressRefillPerSecond?: number;
  /** Sign-ups one address may burst, and the refill rate. */
  signUpBurst?: number;
  signUpRefillPerSecond?: number;
}

export interface LoginResult {
  user: SessionUser;
  session: { token: string; expiresAt: Date };
}

export function createAccounts(ctx: RegistryContext, throttle: LoginThrottleOptions = {}) {
  const clock = () => ctx.now().getTime();
  // 10 failures at once, then one a minute: ≤ 70 in the first hour, never a hard lockout.
  const perAccount: RateLimiter = createRateLimiter({
    capacity: throttle.accountBurst ?? 10,
    refillPerSecond: throttle.accountRefillPerSecond ?? 1 / 60,
    now: clock,
  });
  const perAddress: RateLimiter = createRateLimiter({
    capacity: throttle.addressBurst ?? 30,
    refillPerSecond: throttle.addressRefillPerSecond ?? 1 / 10,
    now: clock,
  });
  const signUps: RateLimiter = createRateLimiter({
    capacity: throttle.signUpBurst ?? 5,
    refillPerSecond: throttle.signUpRefillPerSecond ?? 1 / 60,
    now: clock,
  });

  async function signUp(input: { email: string; password: string; role?: UserRole; clientIp?: string | null }): Promise<SessionUser> {
    const email = normalizeEmail(input.email);
    const problem = passwordProblem(input.password, email);
    if (problem) throw new ValidationError(problem, { field: 'password' });
    if (input.clientIp !== undefined) {
      const decision = signUps.take(input.clientIp ?? 'unknown');
      if (!decision.allowed) throw new RateLimitedError('too many sign-ups from this address; try again later', decision.retryAfterSeconds);
    }
    const passwordHash = await hashPassword(input.password);
    try {
      const [row] = await ctx.db
        .insert(users)
        .values({ email, passwordHash, role: input.role ?? 'user', createdAt: ctx.now() })
        .returning({ id: users.id, email: users.email, role: users.role });
      ctx.logger?.info('account created', { userId: row!.id, role: row!.role });
      return row!;
    } catch (err) {
      if (isUniqueViolation(err, 'users_email_unique')) throw new ConflictError('an account with this e-mail address exists; log in instead', { field: 'email' });
      throw err;
    }
  }

  async function login(input: { email: string; password: string; clientIp: string | null }): Promise<LoginResult> {
    const email = input.email.trim().toLowerCase();
    const address = input.clientIp ?? 'unknown';
    for (const [limiter, key, what] of [
      [perAccount, email, 'this account'],
      [perAddress, address, 'this address'],
    ] as const) {
      const decision = limiter.peek(key);
      if (!decision.allowed) throw new RateLimitedError(`too many failed logins for ${what}; try again later`, decision.retryAfterSeconds);
    }
    const [row] = email.length <= 254 ? await ctx.db.select().from(users).where(eq(users.email, email)) : [];
    const ok = row ? await verifyPassword(row.passwordHash, input.password) : (await burnPasswordCheck(input.password), false);
    if (!row || !ok) {
      perAccount.take(email);
      perAddress.take(address);
      ctx.logger?.info('login failed', { clientIp: address });
      // One message for unknown account and wrong password: no account enumeration.
      throw new UnauthorizedError('e-mail address or password is wrong', { field: 'password' });
    }
    perAccount.reset(email);
    if (needsRehash(row.passwordHash)) {
      await ctx.db.update(users).set({ passwordHash: await hashPassword(input.password) }).where(eq(users.id, row.id));
    }
    const session = await createSession(ctx, row.id, input.clientIp);
    ctx.logger?.info('login', { userId: row.id, clientIp: address });
    return { user: { id: row.id, email: row.email, role: row.role }, session };
  }

  async function logout(sessionToken: string): Promise<void> {
    await deleteSession(ctx, sessionToken);
  }

  /**
   * On a database without any account: creates the admin and, when given, stores `adminToken`
   * (hashed) as that admin's API token. Does nothing once any account exists.
   */
  async function bootstrapAdmin(input: { adminEmail?: string; adminPassword?: string; adminToken?: string }): Promise<SessionUser | undefined> {
    if (!input.adminEmail || !input.adminPassword) return undefined;
    const [{ n } = { n: 0 }] = await ctx.db.select({ n: count() }).from(users);
    if (Number(n) > 0) return undefined;
    let admin: SessionUser;
    try {
      admin = await signUp({ email: input.adminEmail, password: input.adminPassword, role: 'admin' });
    } catch (err) {
      if (err instanceof ConflictError) return undefined; // another hub node won the race
      throw err;
    }
    if (input.adminToken) {
      await createApiToken(ctx, { userId: admin.id, name: 'bootstrap admin token', scopes: ['read', 'write'], plaintext: input.adminToken });
    }
    ctx.logger?.info('first admin created', { userId: admin.id, withToken: Boolean(input.adminToken) });
    return admin;
  }

  async function findUserByEmail(email: string): Promise<SessionUser | undefined> {
    const [row] = await ctx.db.select({ id: users.id, email: users.email, role: users.role }).from(users).where(eq(users.email, email.trim().toLowerCase()));
    return row;
  }

  return { signUp, login, logout, bootstrapAdmin, findUserByEmail };
}
