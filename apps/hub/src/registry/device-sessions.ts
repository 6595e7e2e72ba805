// Device sessions in the database (table device_sessions): the proxy's cookie sessions, stored by
// token hash so they survive a restart and every hub node sees them. Ending sessions (device-host
// logout, portal logout, password change, account disable) deletes the rows and then tells this
// process's listeners, which drop their cached copies; a cluster feed would publish the same events.
import { and, eq, gt, lte } from 'drizzle-orm';
import { deviceSessions, users, type Executor } from '@porthole/db';
import { inTransaction, type RegistryContext } from './context.js';

export interface DeviceSessionRecord {
  tokenHash: string;
  userId: string;
  deviceId: string;
  serial: string;
  expiresAt: Date;
}

/** Sessions that ended: every session of a user, or one by token hash. */
export type DeviceSessionsEnded = { userId: string } | { tokenHash: string };
export type DeviceSessionsEndedListener = (ended: DeviceSessionsEnded) => void;

// Keyed by the registry's context: the code that ends sessions (accounts, sessions.ts) holds only it.
const listeners = new WeakMap<RegistryContext, Set<DeviceSessionsEndedListener>>();

/** Calls `listener` after sessions ended (after the deletion committed); returns the unsubscribe function. */
export function onDeviceSessionsEnded(ctx: RegistryContext, listener: DeviceSessionsEndedListener): () => void {
  let set = listeners.get(ctx);
  if (!set) listeners.set(ctx, (set = new Set()));
  set.add(listener);
  return () => void set.delete(listener);
}

/** Tells the listeners; call only once the deletion has committed. */
export function notifyDeviceSessionsEnded(ctx: RegistryContext, ended: DeviceSessionsEnded): void {
  for (const listener of listeners.get(ctx) ?? []) {
    try {
      listener(ended);
    } catch (err) {
      ctx.logger?.error('device session listener failed', { err });
    }
  }
}

/**
 * Starts a session; false when the account is disabled or gone (a ticket issued just before the
 * disable must not outlive it). The user row is share-locked, so a concurrent disable either comes
 * first and is seen, or waits and then deletes this session with the others.
 */
export async function createDeviceSession(ctx: RegistryContext, input: DeviceSessionRecord & { createdIp: string | null }): Promise<boolean> {
  const now = ctx.now();
  const created = await inTransaction(ctx.db, async (tx) => {
    const [user] = await tx.select({ disabledAt: users.disabledAt }).from(users).where(eq(users.id, input.userId)).for('share');
    if (!user || user.disabledAt) return false;
    await tx.insert(deviceSessions).values({ ...input, createdAt: now });
    return true;
  });
  if (!created) return false;
  // Expired rows are useless; the expiry index makes this cheap, and sign-ins are rare next to requests.
  await ctx.db.delete(deviceSessions).where(lte(deviceSessions.expiresAt, now));
  return true;
}

/** The unexpired session with this token hash, or undefined. */
export async function findDeviceSession(ctx: RegistryContext, tokenHash: string): Promise<DeviceSessionRecord | undefined> {
  const [row] = await ctx.db
    .select({
      tokenHash: deviceSessions.tokenHash,
      userId: deviceSessions.userId,
      deviceId: deviceSessions.deviceId,
      serial: deviceSessions.serial,
      expiresAt: deviceSessions.expiresAt,
    })
    .from(deviceSessions)
    .where(and(eq(deviceSessions.tokenHash, tokenHash), gt(deviceSessions.expiresAt, ctx.now())));
  return row;
}

export async function deleteDeviceSession(ctx: RegistryContext, tokenHash: string): Promise<void> {
  await ctx.db.delete(deviceSessions).where(eq(deviceSessions.tokenHash, tokenHash));
  notifyDeviceSessionsEnded(ctx, { tokenHash });
}

/** Deletes every device session of a user inside `tx`; the caller notifies after its commit. */
export async function deleteUserDeviceSessionRows(tx: Executor, userId: string): Promise<number> {
  const rows = await tx.delete(deviceSessions).where(eq(deviceSessions.userId, userId)).returning({ id: deviceSessions.id });
  return rows.length;
}

/** Ends every device session of a user; resolves to how many there were. */
export async function deleteUserDeviceSessions(ctx: RegistryContext, userId: string): Promise<number> {
  const n = await deleteUserDeviceSessionRows(ctx.db, userId);
  notifyDeviceSessionsEnded(ctx, { userId });
  return n;
}
