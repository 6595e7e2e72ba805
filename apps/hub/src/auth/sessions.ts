// Browser sessions (OWASP Session Management Cheat Sheet): 256-bit random tokens stored as SHA-256,
// a new session on every login, idle and absolute expiry, server-side logout. `last_seen_at` is
// written at most once a minute so page views do not turn into a write each.
import { and, eq, gt, lt, or } from 'drizzle-orm';
import { sessions, users, type UserRole } from '@porthole/db';
import type { RegistryContext } from '../registry/context.js';
import { generateToken, hashToken, looksLikeToken } from './secret-token.js';

export const SESSION_IDLE_MS = 12 * 3600_000;
export const SESSION_ABSOLUTE_MS = 7 * 24 * 3600_000;
const TOUCH_EVERY_MS = 60_000;

export interface SessionUser {
  id: string;
  email: string;
  role: UserRole;
}

export async function createSession(
  ctx: RegistryContext,
  userId: string,
  clientIp: string | null,
): Promise<{ token: string; expiresAt: Date }> {
  const now = ctx.now();
  const secret = generateToken('session');
  const expiresAt = new Date(now.getTime() + SESSION_ABSOLUTE_MS);
  await ctx.db.insert(sessions).values({ tokenHash: secret.hash, userId, createdAt: now, lastSeenAt: now, expiresAt, createdIp: clientIp });
  // Opportunistic cleanup keeps the table from growing with abandoned sessions.
  await ctx.db
    .delete(sessions)
    .where(and(eq(sessions.userId, userId), or(lt(sessions.expiresAt, now), lt(sessions.lastSeenAt, new Date(now.getTime() - SESSION_IDLE_MS)))));
  return { token: secret.plaintext, expiresAt };
}

/** The user a session cookie belongs to, or undefined when it is unknown, idle too long or expired. */
export async function userForSessionToken(ctx: RegistryContext, token: string): Promise<SessionUser | undefined> {
  if (!looksLikeToken('session', token)) return undefined;
  const now = ctx.now();
  const [row] = await ctx.db
    .select({ id: users.id, email: users.email, role: users.role, sessionId: sessions.id, lastSeenAt: sessions.lastSeenAt })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(eq(sessions.tokenHash, hashToken(token)), gt(sessions.expiresAt, now), gt(sessions.lastSeenAt, new Date(now.getTime() - SESSION_IDLE_MS))),
    );
  if (!row) return undefined;
  if (now.getTime() - row.lastSeenAt.getTime() >= TOUCH_EVERY_MS) {
    await ctx.db.update(sessions).set({ lastSeenAt: now }).where(eq(sessions.id, row.sessionId));
  }
  return { id: row.id, email: row.email, role: row.role };
}

export async function deleteSession(ctx: RegistryContext, token: string): Promise<void> {
  if (!looksLikeToken('session', token)) return;
  await ctx.db.delete(sessions).where(eq(sessions.tokenHash, hashToken(token)));
}

/** Ends every session of a user (password change, account disabled). */
export async function deleteUserSessions(ctx: RegistryContext, userId: string): Promise<void> {
  await ctx.db.delete(sessions).where(eq(sessions.userId, userId));
}
