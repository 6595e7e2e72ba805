// The device registry seen by admins and by the proxy: list with filters and cursor pagination,
// show, enable/disable, access policy, delete (frees the tunnel IP), key-rotation approval, and
// the access decision the proxy asks for.
import { and, arrayContains, asc, eq, gt, gte, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import {
  deviceGrants,
  devices,
  freeTunnelIp,
  keyRotations,
  organizationMembers,
  users,
  type AccessPolicy,
  type DeviceStatus,
  type Executor,
  type PeerChange,
} from '@porthole/db';
import { rolesThatMay } from '../auth/authorization.js';
import { NotFoundError, ValidationError, withDbErrors } from '../errors.js';
import { inTransaction, recordChanges, type PendingPeerChange, type RegistryContext } from './context.js';
import { normalizeSerial, SERIAL_RE } from './serial.js';
import { parsePublicKey } from './wireguard-key.js';

/** A device counts as online when its last WireGuard handshake is this recent (a handshake every ≤ 2 min). */
export const ONLINE_WINDOW_MS = 180_000;
export const MAX_PAGE_SIZE = 500;
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type DeviceRow = typeof devices.$inferSelect;

export interface DeviceInfo {
  id: string;
  serial: string;
  organizationId: string;
  publicKey: string;
  tunnelIp: string;
  status: DeviceStatus;
  accessPolicy: AccessPolicy;
  tags: string[];
  owner: { id: string; email: string } | null;
  agentVersion: string | null;
  url: string;
  online: boolean;
  createdAt: string;
  registeredAt: string;
  lastHandshakeAt: string | null;
  lastEndpoint: string | null;
  rxBytes: number;
  txBytes: number;
  /** The device proved its serial with a vendor certificate (device CA configured) at its last registration or claim. */
  attested: boolean;
  attestedAt: string | null;
  /** Subject and issuer of that certificate (null when not recorded). */
  attestationSubject: string | null;
  attestationIssuer: string | null;
  /** End of the owner's exposure window as the agent reported it (null: until turned off, or not reported). */
  exposureUntil: string | null;
  /** When the agent closed remote access because that window ended (null: it has not). */
  exposureEndedAt: string | null;
}

export const deviceColumns = {
  device: devices,
  ownerEmail: users.email,
};

export function toInfo(ctx: RegistryContext, row: DeviceRow, ownerEmail: string | null, now: Date): DeviceInfo {
  return {
    id: row.id,
    serial: row.serial,
    organizationId: row.organizationId,
    publicKey: row.publicKey,
    tunnelIp: row.tunnelIp,
    status: row.status,
    accessPolicy: row.accessPolicy,
    tags: row.tags,
    owner: row.ownerId && ownerEmail ? { id: row.ownerId, email: ownerEmail } : null,
    agentVersion: row.agentVersion,
    url: ctx.deviceUrl(row.serial),
    online: row.lastHandshakeAt !== null && now.getTime() - row.lastHandshakeAt.getTime() <= ONLINE_WINDOW_MS,
    createdAt: row.createdAt.toISOString(),
    registeredAt: row.registeredAt.toISOString(),
    lastHandshakeAt: row.lastHandshakeAt?.toISOString() ?? null,
    lastEndpoint: row.lastEndpoint,
    rxBytes: row.rxBytes,
    txBytes: row.txBytes,
    attested: row.attestedAt !== null,
    attestedAt: row.attestedAt?.toISOString() ?? null,
    attestationSubject: row.attestationSubject,
    attestationIssuer: row.attestationIssuer,
    exposureUntil: row.exposureUntil?.toISOString() ?? null,
    exposureEndedAt: row.exposureEndedAt?.toISOString() ?? null,
  };
}

export interface ListDevicesQuery {
  status?: DeviceStatus;
  online?: boolean;
  tag?: string;
  /** Substring of the serial. */
  q?: string;
  /** Only devices this user owns, has a grant for, or sees as a member of the device's organisation. */
  visibleTo?: string;
  /** Only devices of these organisations (what the caller may see; auth/authorization.ts). */
  organizationIds?: readonly string[];
  limit?: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface DevicePage {
  devices: DeviceInfo[];
  nextCursor: string | null;
}

function decodeCursor(cursor: string): string {
  const serial = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!SERIAL_RE.test(serial)) throw new ValidationError('cursor is not a cursor this API returned', { field: 'cursor' });
  return serial;
}

export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Keyset pagination in serial order (the unique serial index), so page 2000 costs what page 1 does. */
export async function listDevices(ctx: RegistryContext, query: ListDevicesQuery = {}): Promise<DevicePage> {
  const limit = query.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new ValidationError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`, { field: 'limit' });
  }
  const now = ctx.now();
  const where = deviceFilters(query, now);
  if (query.cursor) where.push(gt(devices.serial, decodeCursor(query.cursor)));
  const rows = await ctx.db
    .select(deviceColumns)
    .from(devices)
    .leftJoin(users, eq(users.id, devices.ownerId))
    .where(and(...where))
    .orderBy(asc(devices.serial))
    .limit(limit + 1);
  const page = rows.slice(0, limit).map((r) => toInfo(ctx, r.device, r.ownerEmail, now));
  const nextCursor = rows.length > limit ? Buffer.from(page.at(-1)!.serial).toString('base64url') : null;
  return { devices: page, nextCursor };
}

/** The WHERE terms for a query's filters (everything but the cursor), shared by every device listing. */
export function deviceFilters(query: Omit<ListDevicesQuery, 'cursor' | 'limit'>, now: Date): (SQL | undefined)[] {
  const onlineSince = new Date(now.getTime() - ONLINE_WINDOW_MS);
  const where: (SQL | undefined)[] = [];
  if (query.organizationIds) where.push(query.organizationIds.length === 0 ? sql`false` : inArray(devices.organizationId, [...query.organizationIds]));
  if (query.status) where.push(eq(devices.status, query.status));
  if (query.online === true) where.push(gte(devices.lastHandshakeAt, onlineSince));
  if (query.online === false) where.push(or(isNull(devices.lastHandshakeAt), lt(devices.lastHandshakeAt, onlineSince)));
  if (query.tag) where.push(arrayContains(devices.tags, [query.tag.toLowerCase()]));
  if (query.q) where.push(sql`${devices.serial} like ${`%${escapeLike(query.q.toLowerCase())}%`}`);
  if (query.visibleTo) {
    where.push(
      or(
        eq(devices.ownerId, query.visibleTo),
        sql`exists (select 1 from ${deviceGrants} g where g.device_id = ${devices.id} and g.user_id = ${query.visibleTo}
              and (g.expires_at is null or g.expires_at > ${now.toISOString()}::timestamptz))`,
        // Every role of an organisation reads its devices (auth/authorization.ts).
        sql`exists (select 1 from ${organizationMembers} m where m.organization_id = ${devices.organizationId} and m.user_id = ${query.visibleTo})`,
      ),
    );
  }
  return where;
}

export async function findDeviceRow(ex: Executor, serial: string): Promise<DeviceRow | undefined> {
  const [row] = await ex.select().from(devices).where(eq(devices.serial, serial));
  return row;
}

/** The device with this serial, or undefined (input is normalised; a non-label is simply not found). */
export async function findDeviceBySerial(ctx: RegistryContext, serial: string): Promise<DeviceInfo | undefined> {
  const lower = serial.toLowerCase();
  if (!SERIAL_RE.test(lower)) return undefined;
  const [row] = await ctx.db.select(deviceColumns).from(devices).leftJoin(users, eq(users.id, devices.ownerId)).where(eq(devices.serial, lower));
  return row ? toInfo(ctx, row.device, row.ownerEmail, ctx.now()) : undefined;
}

/**
 * The answer for an unknown serial: also the answer for a device of an organisation the caller
 * cannot see, so that nobody learns that it exists.
 */
export function deviceNotFound(serial: string): NotFoundError {
  return new NotFoundError(`device ${serial.toLowerCase()} does not exist`, { field: 'serial' });
}

export async function getDevice(ctx: RegistryContext, serial: string): Promise<DeviceInfo> {
  const device = await findDeviceBySerial(ctx, normalizeSerial(serial));
  if (!device) throw deviceNotFound(serial);
  return device;
}

export function peerChange(row: Pick<DeviceRow, 'serial' | 'publicKey' | 'tunnelIp' | 'organizationId'>, op: PeerChange['op']): PendingPeerChange {
  return { kind: 'device', op, publicKey: row.publicKey, tunnelIp: row.tunnelIp, name: row.serial, organizationId: row.organizationId };
}

/** Runs a device mutation and its peer changes in one transaction; notifies listeners after commit. */
async function mutateDevice(
  ctx: RegistryContext,
  serial: string,
  fn: (tx: Executor, row: DeviceRow) => Promise<PendingPeerChange[]>,
): Promise<DeviceInfo> {
  const normalized = normalizeSerial(serial);
  const changes = await inTransaction(ctx.db, async (tx) => {
    const [row] = await tx.select().from(devices).where(eq(devices.serial, normalized)).for('update');
    if (!row) throw new NotFoundError(`device ${normalized} does not exist`, { field: 'serial' });
    return recordChanges(tx, await fn(tx, row));
  });
  ctx.emit(changes);
  return getDevice(ctx, normalized);
}

export async function setDeviceStatus(ctx: RegistryContext, serial: string, status: DeviceStatus): Promise<DeviceInfo> {
  const result = await mutateDevice(ctx, serial, async (tx, row) => {
    if (row.status === status) return [];
    await tx.update(devices).set({ status }).where(eq(devices.id, row.id));
    return [peerChange(row, status === 'enabled' ? 'upsert' : 'remove')];
  });
  ctx.logger?.info(`device ${status}`, { device: result.serial });
  return result;
}

export async function setAccessPolicy(ctx: RegistryContext, serial: string, accessPolicy: AccessPolicy): Promise<DeviceInfo> {
  return mutateDevice(ctx, serial, async (tx, row) => {
    await tx.update(devices).set({ accessPolicy }).where(eq(devices.id, row.id));
    return [];
  });
}

export async function setDeviceOwner(ctx: RegistryContext, serial: string, ownerId: string | null): Promise<DeviceInfo> {
  return mutateDevice(ctx, serial, async (tx, row) => {
    await withDbErrors(() => tx.update(devices).set({ ownerId }).where(eq(devices.id, row.id)), {
      devices_owner_id_users_id_fk: () => new NotFoundError(`user ${ownerId} does not exist`, { field: 'ownerId' }),
    });
    return [];
  });
}

/** Deletes the device, its grants and pending rotation; its tunnel IP returns to the pool. */
export async function deleteDevice(ctx: RegistryContext, serial: string): Promise<void> {
  const normalized = normalizeSerial(serial);
  const changes = await inTransaction(ctx.db, async (tx) => {
    const [row] = await tx.delete(devices).where(eq(devices.serial, normalized)).returning();
    if (!row) throw new NotFoundError(`device ${normalized} does not exist`, { field: 'serial' });
    await freeTunnelIp(tx, ctx.pool, row.tunnelIp);
    return recordChanges(tx, row.status === 'enabled' ? [peerChange(row, 'remove')] : []);
  });
  ctx.emit(changes);
  ctx.logger?.info('device deleted', { device: normalized });
}

/** Lets the device's next registration present `newPublicKey` instead of its current key. */
export async function approveKeyRotation(
  ctx: RegistryContext,
  serial: string,
  newPublicKey: string,
  approvedBy: string | null,
  ttlSeconds = 86_400,
): Promise<{ serial: string; newPublicKey: string; expiresAt: string }> {
  const key = parsePublicKey(newPublicKey);
  const expiresAt = new Date(ctx.now().getTime() + ttlSeconds * 1000);
  await mutateDevice(ctx, serial, async (tx, row) => {
    if (row.publicKey === key) throw new ValidationError('publicKey is already the device key', { field: 'publicKey' });
    await tx
      .insert(keyRotations)
      .values({ deviceId: row.id, newPublicKey: key, approvedBy, expiresAt })
      .onConflictDoUpdate({ target: keyRotations.deviceId, set: { newPublicKey: key, approvedBy, expiresAt, createdAt: ctx.now() } });
    return [];
  });
  return { serial: normalizeSerial(serial), newPublicKey: key, expiresAt: expiresAt.toISOString() };
}

/**
 * May `userId` reach the device? Admins, the owner and holders of an unexpired grant may; anyone may
 * when the policy is `public`; nobody when the device is disabled.
 */
/** `in (…)` list of the roles that open devices. */
const CONNECT_ROLES = sql`(${sql.join(rolesThatMay('connect').map((r) => sql`${r}`), sql`, `)})`;

export async function canAccessDevice(ctx: RegistryContext, userId: string | null, deviceId: string): Promise<boolean> {
  if (!UUID_RE.test(deviceId) || (userId !== null && !UUID_RE.test(userId))) return false;
  const now = ctx.now().toISOString();
  const [row] = await ctx.db
    .select({
      status: devices.status,
      accessPolicy: devices.accessPolicy,
      ownerId: devices.ownerId,
      // A disabled account reaches nothing, even in the moment before its sessions are deleted.
      role: sql<string | null>`(select role from ${users} where id = ${userId ?? null}::uuid and disabled_at is null)`,
      granted: sql<boolean>`exists (select 1 from ${deviceGrants} g where g.device_id = ${devices.id}
        and g.user_id = ${userId ?? null}::uuid and (g.expires_at is null or g.expires_at > ${now}::timestamptz))`,
      // Members who may open the organisation's devices (auth/authorization.ts: the connect action).
      member: sql<boolean>`exists (select 1 from ${organizationMembers} m where m.organization_id = ${devices.organizationId}
        and m.user_id = ${userId ?? null}::uuid and m.role in ${CONNECT_ROLES})`,
    })
    .from(devices)
    .where(eq(devices.id, deviceId));
  if (!row || row.status !== 'enabled') return false;
  if (row.accessPolicy === 'public') return true;
  if (userId === null || row.role === null) return false;
  return row.role === 'admin' || row.ownerId === userId || row.granted === true || row.member === true;
}

/** Does the device belong to the organisation, and is it enabled (what an organisation token may open)? */
export async function deviceInOrganization(ctx: RegistryContext, deviceId: string, organizationId: string): Promise<boolean> {
  if (!UUID_RE.test(deviceId) || !UUID_RE.test(organizationId)) return false;
  const [row] = await ctx.db
    .select({ id: devices.id })
    .from(devices)
    .where(and(eq(devices.id, deviceId), eq(devices.organizationId, organizationId), eq(devices.status, 'enabled')));
  return row !== undefined;
}
