// What the portal's fleet pages need beyond listDevices: sorted keyset paging (serial either way,
// or most recently seen first), one-transaction bulk enable/disable, and device tags (the schema
// has no free-text name; tags are the device's labels).
import { and, asc, desc, eq, gt, inArray, isNotNull, isNull, lt, ne, or, sql, type SQL } from 'drizzle-orm';
import { devices, users, type DeviceStatus } from '@porthole/db';
import { NotFoundError, ValidationError } from '../errors.js';
import { inTransaction, recordChanges, type RegistryContext } from './context.js';
import { deviceColumns, deviceFilters, MAX_PAGE_SIZE, peerChange, toInfo, type DevicePage, type ListDevicesQuery } from './devices.js';
import { normalizeTags } from './enrollment-tokens.js';
import { normalizeSerial, SERIAL_RE } from './serial.js';

export const DEVICE_SORTS = ['serial', '-serial', '-lastSeen'] as const;
export type DeviceSort = (typeof DEVICE_SORTS)[number];

export interface SearchDevicesQuery extends ListDevicesQuery {
  /** Default `serial` (A→Z). `-lastSeen`: latest handshake first, never-seen devices last (by serial). */
  sort?: DeviceSort;
}

/** Position after the last row of a page: the sort it belongs to, the phase and the keys. */
interface Cursor {
  sort: DeviceSort;
  /** `-lastSeen` walks devices with a handshake first (`h`), then those without (`n`). */
  phase: 'h' | 'n';
  /** The last row's handshake time as PostgreSQL text (microseconds survive the round trip). */
  seen: string;
  serial: string;
}

const TIMESTAMP_TEXT_RE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?([+-]\d\d(:\d\d)?)?$/;

function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.sort}|${c.phase}|${c.seen}|${c.serial}`).toString('base64url');
}

function decodeCursor(cursor: string, sort: DeviceSort): Cursor {
  const [s, phase, seen, serial, ...rest] = Buffer.from(cursor.slice(0, 400), 'base64url').toString('utf8').split('|');
  const ok =
    rest.length === 0 && s === sort && (phase === 'h' || phase === 'n') && serial !== undefined && SERIAL_RE.test(serial) &&
    (phase === 'n' ? seen === '' : TIMESTAMP_TEXT_RE.test(seen ?? ''));
  if (!ok) throw new ValidationError('cursor is not a cursor this page returned (or belongs to another sort order)', { field: 'cursor' });
  return { sort, phase: phase as 'h' | 'n', seen: seen!, serial: serial! };
}

/**
 * Devices matching the filters in the requested order, one keyset page at a time: every order is
 * an index walk (serial unique index, last-handshake index) bounded by the cursor, never an OFFSET.
 */
export async function searchDevices(ctx: RegistryContext, query: SearchDevicesQuery = {}): Promise<DevicePage> {
  const sort = query.sort ?? 'serial';
  if (!DEVICE_SORTS.includes(sort)) throw new ValidationError(`sort must be one of ${DEVICE_SORTS.join(', ')}`, { field: 'sort' });
  const limit = query.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new ValidationError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`, { field: 'limit' });
  }
  const now = ctx.now();
  const cursor = query.cursor ? decodeCursor(query.cursor, sort) : undefined;
  const select = (where: (SQL | undefined)[], order: SQL[], n: number) =>
    ctx.db
      .select({ ...deviceColumns, seen: sql<string | null>`${devices.lastHandshakeAt}::text` })
      .from(devices)
      .leftJoin(users, eq(users.id, devices.ownerId))
      .where(and(...deviceFilters(query, now), ...where))
      .orderBy(...order)
      .limit(n);

  type Row = Awaited<ReturnType<typeof select>>[number];
  let rows: Row[] = [];
  if (sort === 'serial') {
    rows = await select(cursor ? [gt(devices.serial, cursor.serial)] : [], [asc(devices.serial)], limit + 1);
  } else if (sort === '-serial') {
    rows = await select(cursor ? [lt(devices.serial, cursor.serial)] : [], [desc(devices.serial)], limit + 1);
  } else {
    if (!cursor || cursor.phase === 'h') {
      // `<=` alone bounds the index range scan; the OR then only breaks ties (an OR at the top would not).
      const after = cursor
        ? [
            sql`${devices.lastHandshakeAt} <= ${cursor.seen}::timestamptz`,
            or(sql`${devices.lastHandshakeAt} < ${cursor.seen}::timestamptz`, gt(devices.serial, cursor.serial)),
          ]
        : [];
      rows = await select([isNotNull(devices.lastHandshakeAt), ...after], [desc(devices.lastHandshakeAt), asc(devices.serial)], limit + 1);
    }
    if (rows.length <= limit) {
      const after = cursor?.phase === 'n' ? [gt(devices.serial, cursor.serial)] : [];
      rows.push(...(await select([isNull(devices.lastHandshakeAt), ...after], [asc(devices.serial)], limit + 1 - rows.length)));
    }
  }
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const nextCursor =
    rows.length > limit && last
      ? encodeCursor({ sort, phase: last.seen === null ? 'n' : 'h', seen: last.seen ?? '', serial: last.device.serial })
      : null;
  return { devices: page.map((r) => toInfo(ctx, r.device, r.ownerEmail, now)), nextCursor };
}

export const MAX_BULK_DEVICES = 500;

/**
 * Enables or disables many devices in one transaction with one peer-set version; serials already in
 * that state are left alone. Returns the serials that changed. Unknown serials fail the whole call.
 */
export async function setDevicesStatus(ctx: RegistryContext, serials: readonly string[], status: DeviceStatus): Promise<string[]> {
  if (status !== 'enabled' && status !== 'disabled') throw new ValidationError('status must be enabled or disabled', { field: 'status' });
  const wanted = [...new Set(serials.map((s) => normalizeSerial(s)))];
  if (wanted.length === 0) throw new ValidationError('choose at least one device', { field: 'serial' });
  if (wanted.length > MAX_BULK_DEVICES) throw new ValidationError(`at most ${MAX_BULK_DEVICES} devices at once`, { field: 'serial' });
  const { changed, changes } = await inTransaction(ctx.db, async (tx) => {
    const found = await tx.select({ serial: devices.serial }).from(devices).where(inArray(devices.serial, wanted)).for('update');
    if (found.length !== wanted.length) {
      const have = new Set(found.map((r) => r.serial));
      const missing = wanted.filter((s) => !have.has(s));
      throw new NotFoundError(`device ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ' …' : ''} does not exist`, { field: 'serial' });
    }
    const rows = await tx
      .update(devices)
      .set({ status })
      .where(and(inArray(devices.serial, wanted), ne(devices.status, status)))
      .returning({ serial: devices.serial, publicKey: devices.publicKey, tunnelIp: devices.tunnelIp, organizationId: devices.organizationId });
    const changes = await recordChanges(tx, rows.map((r) => peerChange(r, status === 'enabled' ? 'upsert' : 'remove')));
    return { changed: rows.map((r) => r.serial).sort(), changes };
  });
  ctx.emit(changes);
  if (changed.length > 0) ctx.logger?.info(`devices ${status}`, { count: changed.length, devices: changed.slice(0, 20) });
  return changed;
}

/** Replaces a device's tags (lowercased, deduplicated, sorted; same rules as enrollment-token tags). */
export async function setDeviceTags(ctx: RegistryContext, serial: string, tags: readonly string[]): Promise<string[]> {
  const normalized = normalizeSerial(serial);
  const clean = normalizeTags(tags);
  const [row] = await ctx.db.update(devices).set({ tags: clean }).where(eq(devices.serial, normalized)).returning({ tags: devices.tags });
  if (!row) throw new NotFoundError(`device ${normalized} does not exist`, { field: 'serial' });
  return row.tags;
}
