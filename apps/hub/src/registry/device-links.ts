// Installer links: an owner's link to one device, valid for some hours, optionally
// read-only, that opens the device without an account. The holder's device session lives in
// link_sessions; the proxy knows the holder as the principal `link:<id>` (its access-log visitor).
// Revoking a link deletes its sessions and tells the session listeners, like a sign-out does.
import { and, desc, eq, gt, isNull, lte, sql } from 'drizzle-orm';
import { deviceLinks, devices, linkSessions, users } from '@porthole/db';
import { generateToken, hashToken, looksLikeToken } from '../auth/secret-token.js';
import { NotFoundError } from '../errors.js';
import { INSTALLER_LINK_PATH } from '../proxy/contracts.js';
import { inTransaction, type RegistryContext } from './context.js';
import { notifyDeviceSessionsEnded } from './device-sessions.js';
import { UUID_RE } from './devices.js';
import { normalizeSerial } from './serial.js';

/** How the proxy names a link holder (user ids are bare UUIDs). */
export const LINK_PRINCIPAL_PREFIX = 'link:';
export const linkPrincipal = (linkId: string): string => `${LINK_PRINCIPAL_PREFIX}${linkId}`;
/** The link id of a `link:<id>` principal, or undefined for a user id. */
export function linkIdOf(principal: string | null): string | undefined {
  return principal?.startsWith(LINK_PRINCIPAL_PREFIX) ? principal.slice(LINK_PRINCIPAL_PREFIX.length) : undefined;
}


export interface DeviceLinkInfo {
  id: string;
  serial: string;
  readOnly: boolean;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  createdBy: string | null;
  uses: number;
  lastUsedAt: string | null;
}

export interface CreateDeviceLinkInput {
  hours: number;
  readOnly?: boolean;
  createdBy: string | null;
}

export type LinkRedemption =
  | { ok: true; linkId: string; readOnly: boolean; expiresAt: Date }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'expired'; at: Date }
  | { ok: false; reason: 'revoked'; at: Date };

export interface LinkSessionRecord {
  tokenHash: string;
  linkId: string;
  deviceId: string;
  serial: string;
  readOnly: boolean;
  expiresAt: Date;
}

async function deviceBySerial(ctx: RegistryContext, serial: string): Promise<{ id: string; serial: string }> {
  const normalized = normalizeSerial(serial);
  const [row] = await ctx.db.select({ id: devices.id, serial: devices.serial }).from(devices).where(eq(devices.serial, normalized));
  if (!row) throw new NotFoundError(`device ${normalized} does not exist`, { field: 'serial' });
  return row;
}

/** Makes a link; its URL (with the token) is returned only here. */
export async function createDeviceLink(ctx: RegistryContext, serial: string, input: CreateDeviceLinkInput): Promise<{ id: string; url: string; expiresAt: string }> {
  const device = await deviceBySerial(ctx, serial);
  const now = ctx.now();
  const token = generateToken('link');
  const expiresAt = new Date(now.getTime() + input.hours * 3_600_000);
  const [row] = await ctx.db
    .insert(deviceLinks)
    .values({ deviceId: device.id, tokenHash: token.hash, readOnly: input.readOnly ?? false, createdBy: input.createdBy, createdAt: now, expiresAt })
    .returning({ id: deviceLinks.id });
  const url = new URL(INSTALLER_LINK_PATH, ctx.deviceUrl(device.serial));
  url.search = new URLSearchParams({ token: token.plaintext }).toString();
  ctx.logger?.info('installer link made', { device: device.serial, link: row!.id, readOnly: input.readOnly ?? false, hours: input.hours });
  return { id: row!.id, url: url.toString(), expiresAt: expiresAt.toISOString() };
}

export async function listDeviceLinks(ctx: RegistryContext, serial: string): Promise<DeviceLinkInfo[]> {
  const device = await deviceBySerial(ctx, serial);
  const rows = await ctx.db
    .select({ link: deviceLinks, createdBy: users.email })
    .from(deviceLinks)
    .leftJoin(users, eq(users.id, deviceLinks.createdBy))
    .where(eq(deviceLinks.deviceId, device.id))
    .orderBy(desc(deviceLinks.createdAt));
  return rows.map(({ link, createdBy }) => ({
    id: link.id,
    serial: device.serial,
    readOnly: link.readOnly,
    createdAt: link.createdAt.toISOString(),
    expiresAt: link.expiresAt.toISOString(),
    revokedAt: link.revokedAt?.toISOString() ?? null,
    createdBy,
    uses: link.uses,
    lastUsedAt: link.lastUsedAt?.toISOString() ?? null,
  }));
}

/** Revokes a link of the device (again: no change) and ends every session opened with it. */
export async function revokeDeviceLink(ctx: RegistryContext, serial: string, linkId: string): Promise<void> {
  const device = await deviceBySerial(ctx, serial);
  const missing = () => new NotFoundError(`no installer link ${JSON.stringify(linkId.slice(0, 64))} on device ${device.serial}`, { field: 'id' });
  if (!UUID_RE.test(linkId)) throw missing();
  const found = await inTransaction(ctx.db, async (tx) => {
    const [row] = await tx
      .update(deviceLinks)
      .set({ revokedAt: sql`coalesce(${deviceLinks.revokedAt}, ${ctx.now().toISOString()}::timestamptz)` })
      .where(and(eq(deviceLinks.id, linkId), eq(deviceLinks.deviceId, device.id)))
      .returning({ id: deviceLinks.id });
    if (!row) return false;
    await tx.delete(linkSessions).where(eq(linkSessions.linkId, linkId));
    return true;
  });
  if (!found) throw missing();
  ctx.logger?.info('installer link revoked', { device: device.serial, link: linkId });
  notifyDeviceSessionsEnded(ctx, { userId: linkPrincipal(linkId) });
}

/** Checks a link's token for the device and counts the use; never throws on a bad token. */
export async function redeemDeviceLink(ctx: RegistryContext, token: string, deviceId: string): Promise<LinkRedemption> {
  if (!looksLikeToken('link', token) || !UUID_RE.test(deviceId)) return { ok: false, reason: 'unknown' };
  const now = ctx.now();
  const [row] = await ctx.db
    .select()
    .from(deviceLinks)
    .where(and(eq(deviceLinks.tokenHash, hashToken(token)), eq(deviceLinks.deviceId, deviceId)));
  if (!row) return { ok: false, reason: 'unknown' };
  if (row.revokedAt) return { ok: false, reason: 'revoked', at: row.revokedAt };
  if (row.expiresAt <= now) return { ok: false, reason: 'expired', at: row.expiresAt };
  await ctx.db
    .update(deviceLinks)
    .set({ uses: sql`${deviceLinks.uses} + 1`, lastUsedAt: now })
    .where(eq(deviceLinks.id, row.id));
  return { ok: true, linkId: row.id, readOnly: row.readOnly, expiresAt: row.expiresAt };
}

/** Starts a link session; false when the link was revoked or expired meanwhile (share-locked like a user). */
export async function createLinkSession(ctx: RegistryContext, input: LinkSessionRecord & { createdIp: string | null }): Promise<boolean> {
  const now = ctx.now();
  const created = await inTransaction(ctx.db, async (tx) => {
    const [link] = await tx
      .select({ expiresAt: deviceLinks.expiresAt })
      .from(deviceLinks)
      .where(and(eq(deviceLinks.id, input.linkId), eq(deviceLinks.deviceId, input.deviceId), isNull(deviceLinks.revokedAt)))
      .for('share');
    if (!link || link.expiresAt <= now) return false;
    const expiresAt = input.expiresAt < link.expiresAt ? input.expiresAt : link.expiresAt;
    await tx.insert(linkSessions).values({ ...input, expiresAt, createdAt: now });
    return true;
  });
  if (created) await ctx.db.delete(linkSessions).where(lte(linkSessions.expiresAt, now));
  return created;
}

export async function findLinkSession(ctx: RegistryContext, tokenHash: string): Promise<LinkSessionRecord | undefined> {
  const [row] = await ctx.db
    .select({
      tokenHash: linkSessions.tokenHash,
      linkId: linkSessions.linkId,
      deviceId: linkSessions.deviceId,
      serial: linkSessions.serial,
      readOnly: linkSessions.readOnly,
      expiresAt: linkSessions.expiresAt,
    })
    .from(linkSessions)
    .where(and(eq(linkSessions.tokenHash, tokenHash), gt(linkSessions.expiresAt, ctx.now())));
  return row;
}

export async function deleteLinkSession(ctx: RegistryContext, tokenHash: string): Promise<void> {
  await ctx.db.delete(linkSessions).where(eq(linkSessions.tokenHash, tokenHash));
}

/** May the holder of link `linkId` still reach the device: the link is the device's, unrevoked, unexpired, the device enabled. */
export async function linkMayAccess(ctx: RegistryContext, linkId: string, deviceId: string): Promise<boolean> {
  if (!UUID_RE.test(linkId) || !UUID_RE.test(deviceId)) return false;
  const [row] = await ctx.db
    .select({ status: devices.status })
    .from(deviceLinks)
    .innerJoin(devices, eq(devices.id, deviceLinks.deviceId))
    .where(and(eq(deviceLinks.id, linkId), eq(deviceLinks.deviceId, deviceId), isNull(deviceLinks.revokedAt), gt(deviceLinks.expiresAt, ctx.now())));
  return row?.status === 'enabled';
}

/** How a link holder is named in journals and logs: "installer link 1a2b3c4d (read-only)". */
export async function describeLink(ctx: RegistryContext, linkId: string): Promise<string | undefined> {
  if (!UUID_RE.test(linkId)) return undefined;
  const [row] = await ctx.db.select({ readOnly: deviceLinks.readOnly }).from(deviceLinks).where(eq(deviceLinks.id, linkId));
  if (!row) return undefined;
  return `installer link ${linkId.slice(0, 8)}${row.readOnly ? ' (read-only)' : ''}`;
}
