// Device access grants: besides the owner, named users may reach a device, optionally until a time.
import { and, asc, eq, gt, isNull, or } from 'drizzle-orm';
import { deviceGrants, devices, users } from '@porthole/db';
import { NotFoundError, ValidationError } from '../errors.js';
import { findOrInviteAccount } from './accounts.js';
import type { RegistryContext } from './context.js';
import { UUID_RE } from './devices.js';
import { normalizeSerial } from './serial.js';

export interface GrantInfo {
  userId: string;
  email: string;
  createdAt: string;
  expiresAt: string | null;
  /** HTTP GET and HEAD only. */
  readOnly: boolean;
}

export interface GrantInput {
  /** The user, by e-mail address. */
  email: string;
  expiresAt?: Date | null;
  grantedBy?: string | null;
  /** HTTP GET and HEAD only (default false). */
  readOnly?: boolean;
}

async function deviceId(ctx: RegistryContext, serial: string): Promise<string> {
  const normalized = normalizeSerial(serial);
  const [row] = await ctx.db.select({ id: devices.id }).from(devices).where(eq(devices.serial, normalized));
  if (!row) throw new NotFoundError(`device ${normalized} does not exist`, { field: 'serial' });
  return row.id;
}

export async function listGrants(ctx: RegistryContext, serial: string): Promise<GrantInfo[]> {
  const id = await deviceId(ctx, serial);
  const rows = await ctx.db
    .select({ userId: deviceGrants.userId, email: users.email, createdAt: deviceGrants.createdAt, expiresAt: deviceGrants.expiresAt, readOnly: deviceGrants.readOnly })
    .from(deviceGrants)
    .innerJoin(users, eq(users.id, deviceGrants.userId))
    .where(eq(deviceGrants.deviceId, id))
    .orderBy(asc(users.email));
  return rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString(), expiresAt: r.expiresAt?.toISOString() ?? null }));
}

/** Grants (or re-grants, replacing the expiry) access to a device for the user with `email`. */
export async function grantAccess(ctx: RegistryContext, serial: string, input: GrantInput): Promise<GrantInfo> {
  const id = await deviceId(ctx, serial);
  const now = ctx.now();
  if (input.expiresAt && input.expiresAt <= now) throw new ValidationError('expiresAt must be in the future', { field: 'expiresAt' });
  // An address without an account gets an invited one: the answer never tells which addresses exist.
  const user = await findOrInviteAccount(ctx, input.email);
  const expiresAt = input.expiresAt ?? null;
  const readOnly = input.readOnly ?? false;
  const [row] = await ctx.db
    .insert(deviceGrants)
    .values({ deviceId: id, userId: user.id, grantedBy: input.grantedBy ?? null, createdAt: now, expiresAt, readOnly })
    .onConflictDoUpdate({ target: [deviceGrants.deviceId, deviceGrants.userId], set: { expiresAt, grantedBy: input.grantedBy ?? null, readOnly } })
    .returning();
  return { userId: user.id, email: user.email, createdAt: row!.createdAt.toISOString(), expiresAt: row!.expiresAt?.toISOString() ?? null, readOnly: row!.readOnly };
}

export async function revokeGrant(ctx: RegistryContext, serial: string, userId: string): Promise<void> {
  const id = await deviceId(ctx, serial);
  if (!UUID_RE.test(userId)) throw new NotFoundError(`no grant for user ${JSON.stringify(userId.slice(0, 40))}`, { field: 'userId' });
  const deleted = await ctx.db
    .delete(deviceGrants)
    .where(and(eq(deviceGrants.deviceId, id), eq(deviceGrants.userId, userId)))
    .returning({ userId: deviceGrants.userId });
  if (deleted.length === 0) throw new NotFoundError(`no grant for user ${userId} on device ${normalizeSerial(serial)}`, { field: 'userId' });
}

/**
 * Whether `userId` reaches the device through a read-only grant only: an unexpired read-only grant,
 * and the user neither an administrator nor the owner (who may do everything). The proxy then lets
 * HTTP GET and HEAD through and nothing else.
 */
export async function isReadOnlyGrantee(ctx: RegistryContext, userId: string, deviceId: string): Promise<boolean> {
  if (!UUID_RE.test(userId) || !UUID_RE.test(deviceId)) return false;
  const now = ctx.now();
  const [row] = await ctx.db
    .select({ ownerId: devices.ownerId, role: users.role })
    .from(deviceGrants)
    .innerJoin(devices, eq(devices.id, deviceGrants.deviceId))
    .innerJoin(users, eq(users.id, deviceGrants.userId))
    .where(and(eq(deviceGrants.deviceId, deviceId), eq(deviceGrants.userId, userId), eq(deviceGrants.readOnly, true), or(isNull(deviceGrants.expiresAt), gt(deviceGrants.expiresAt, now))));
  return row !== undefined && row.role !== 'admin' && row.ownerId !== userId;
}
