// Browser sessions (OWASP Session Management Cheat Sheet): 256-bit random tokens stored as SHA-256,
// a new session on every login, idle and absolute expiry, server-side logout. `last_seen_at` is
// written at most once a minute so page views do not turn into a write each. Ending portal sessions
// (logout, password change, account disable) ends the user's device sessions too.
import { and, eq, gt, isNull, lt, or } from 'drizzle-orm';
import { sessions, users, type UserRole } from '@porthole/db';
import { inTransaction, type RegistryContext } from '../registry/context.js';
import { deleteUserDeviceSessionRows, notifyDeviceSessionsEnded } from '../registry/device-sessions.js';
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
      and(
        eq(sessions.tokenHash, hashToken(token)),
        gt(sessions.expiresAt, now),
        gt(sessions.lastSeenAt, new Date(now.getTime() - SESSION_IDLE_MS)),
        // Disabling deletes the sessions; this closes the window of a request racing the disable.
        isNull(users.disabledAt),
      ),
    );
  if (!row) return undefined;
  if (now.getTime() - row.lastSeenAt.getTime() >= TOUCH_EVERY_MS) {
    await ctx.db.update(sessions).set({ lastSeenAt: now }).where(eq(sessions.id, row.sessionId));
  }
  return { id: row.id, email: row.email, role: row.role };
}

/**
 * Logout: ends this portal session and every device session of its user (device sessions are not
 * tied to the portal session that started them, so all of them go).
 */
export async function deleteSession(ctx: RegistryContext, token: string): Promise<void> {
  if (!looksLikeToken('session', token)) return;
  const userIds = await inTransaction(ctx.db, async (tx) => {
    const rows = await tx.delete(sessions).where(eq(sessions.tokenHash, hashToken(token))).returning({ userId: sessions.userId });
    for (const { userId } of rows) await deleteUserDeviceSessionRows(tx, userId);
    return rows.map((r) => r.userId);
  });
  // After the commit, so nobody re-reads a row that is about to disappear.
  for (const userId of userIds) notifyDeviceSessionsEnded(ctx, { userId });
}

/** Ends every session of a user, portal and device (password change, account disabled). */
export async function deleteUserSessions(ctx: RegistryContext, userId: string): Promise<void> {
  await inTransaction(ctx.db, async (tx) => {
    await tx.delete(sessions).where(eq(sessions.userId, userId));
    await deleteUserDeviceSessionRows(tx, userId);
  });
  notifyDeviceSessionsEnded(ctx, { userId });
}
