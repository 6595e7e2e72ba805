// The access log: the proxy appends entries in batches (one INSERT per batch), admins query one
// device's entries over a time range, newest first, with a keyset cursor.
import { and, desc, eq, gte, inArray, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import { accessLog, copyRows, DEFAULT_ORGANIZATION_ID, devices, users } from '@porthole/db';
import { ValidationError } from '../errors.js';
import type { RegistryContext } from './context.js';
import type { AccessLogEntry } from '../proxy/contracts.js';
import { linkIdOf } from './device-links.js';
import { normalizeSerial } from './serial.js';

/**
 * What the log stores of one proxied request: the proxy's AccessLogEntry without what only its own
 * consumers read (its request id, the device id, the kind of request, the port). `userId` may be
 * `link:<id>` for an installer link's holder (stored as linkId).
 */
export type NewAccessLogRecord = Omit<AccessLogEntry, 'requestId' | 'deviceId' | 'kind' | 'port'>;

export interface AccessLogRecord extends Omit<NewAccessLogRecord, 'at'> {
  id: number;
  at: string;
  /** The installer link a visitor without an account used. */
  linkId: string | null;
}

/** An entry as the API answers it: with the visitor's e-mail address, as the portal shows it. */
export interface AccessLogApiRecord extends AccessLogRecord {
  /** The account's address, when the request was authenticated and the account still exists. */
  userEmail: string | null;
}

const INSERT_BATCH = 1000;
const MAX_PATH = 2048;

/** Control characters would let a path forge log lines in a text export; escape them. */
function clean(s: string, max: number): string {
  const escaped = s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return escaped.length > max ? escaped.slice(0, max) : escaped;
}

const COPY_COLUMNS = ['organization_id', 'at', 'serial', 'user_id', 'link_id', 'client_ip', 'method', 'path', 'status', 'bytes_in', 'bytes_out', 'duration_ms'] as const;

export async function appendAccessLog(ctx: RegistryContext, entries: readonly NewAccessLogRecord[]): Promise<void> {
  for (let i = 0; i < entries.length; i += INSERT_BATCH) {
    const rows = entries.slice(i, i + INSERT_BATCH).map((e) => ({
      at: e.at.toISOString(),
      serial: e.serial.toLowerCase().slice(0, 63),
      organization_id: e.organizationId ?? null,
      user_id: linkIdOf(e.userId) === undefined ? e.userId : null,
      link_id: linkIdOf(e.userId) ?? null,
      client_ip: clean(e.clientIp, 64),
      method: clean(e.method, 16),
      path: clean(e.path, MAX_PATH),
      status: Math.trunc(e.status),
      bytes_in: Math.max(0, Math.trunc(e.bytesIn)),
      bytes_out: Math.max(0, Math.trunc(e.bytesOut)),
      duration_ms: Math.max(0, Math.min(2_147_483_647, Math.trunc(e.durationMs))),
    }));
    // On PGlite (the hub's own CPU) entries that name their organisation go in with COPY,
    // about a quarter cheaper a row (@porthole/db's copy.ts); copyRows answers false on PostgreSQL.
    const named = rows.every((r) => r.organization_id !== null);
    if (named && (await copyRows(ctx.db, 'access_log', COPY_COLUMNS, rows.map((r) => COPY_COLUMNS.map((c) => r[c]))))) continue;
    // Else the batch as one JSON parameter rather than ten parameters a row: measured on PGlite,
    // about a quarter of the CPU per row of a multi-row VALUES insert.
    // Each entry belongs to the device's organisation: the one the proxy's device row names, else
    // (an entry recorded without it) the device's by serial, else (a serial no device has) the
    // default one. COALESCE stops at the first non-null, so the lookup runs only for entries without.
    await ctx.db.execute(sql`insert into ${accessLog} (organization_id, at, serial, user_id, link_id, client_ip, method, path, status, bytes_in, bytes_out, duration_ms)
      select coalesce(x.organization_id, (select d.organization_id from ${devices} d where d.serial = x.serial), ${DEFAULT_ORGANIZATION_ID}::uuid), at, serial, user_id, link_id, client_ip, method, path, status, bytes_in, bytes_out, duration_ms
      from json_to_recordset(${JSON.stringify(rows)}::json)
        as x(at timestamptz, serial text, organization_id uuid, user_id uuid, link_id uuid, client_ip text, method text, path text, status integer, bytes_in bigint, bytes_out bigint, duration_ms integer)`);
  }
}

export interface AccessLogQuery {
  serial: string;
  /** Only entries of these organisations (what the caller may see). */
  organizationIds?: readonly string[];
  from?: Date;
  to?: Date;
  limit?: number;
  cursor?: string;
}

export function decodeCursor(cursor: string): { at: Date; id: number } {
  const m = /^(\d{13})\.(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new ValidationError('cursor is not a cursor this API returned', { field: 'cursor' });
  return { at: new Date(Number(m[1])), id: Number(m[2]) };
}

/** A page size from a query: 1 to 1000, default 100. */
export function pageLimit(limit: number | undefined): number {
  const n = limit ?? 100;
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new ValidationError('limit must be an integer from 1 to 1000', { field: 'limit' });
  return n;
}

/**
 * One page of entries matching `where`, within the query's time range and after its cursor, newest
 * first, each with the visitor's e-mail address; the cursor of the next page when there is one.
 */
export async function accessLogPage(
  ctx: RegistryContext,
  where: (SQL | undefined)[],
  query: { from?: Date | undefined; to?: Date | undefined; cursor?: string | undefined },
  limit: number,
): Promise<{ entries: (AccessLogRecord & { email: string | null })[]; nextCursor: string | null }> {
  if (query.from) where.push(gte(accessLog.at, query.from));
  if (query.to) where.push(lte(accessLog.at, query.to));
  if (query.cursor) {
    const c = decodeCursor(query.cursor);
    where.push(or(lt(accessLog.at, c.at), and(eq(accessLog.at, c.at), lt(accessLog.id, c.id))));
  }
  const rows = await ctx.db
    .select({ entry: accessLog, email: users.email })
    .from(accessLog)
    .leftJoin(users, eq(users.id, accessLog.userId))
    .where(and(...where))
    .orderBy(desc(accessLog.at), desc(accessLog.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1)?.entry;
  const nextCursor = rows.length > limit && last ? Buffer.from(`${last.at.getTime()}.${last.id}`).toString('base64url') : null;
  return { entries: page.map((r) => ({ ...r.entry, at: r.entry.at.toISOString(), email: r.email })), nextCursor };
}

export async function queryAccessLog(
  ctx: RegistryContext,
  query: AccessLogQuery,
): Promise<{ entries: AccessLogApiRecord[]; nextCursor: string | null }> {
  const serial = normalizeSerial(query.serial);
  const limit = pageLimit(query.limit);
  const where: (SQL | undefined)[] = [eq(accessLog.serial, serial)];
  if (query.organizationIds) where.push(query.organizationIds.length === 0 ? sql`false` : inArray(accessLog.organizationId, [...query.organizationIds]));
  const { entries, nextCursor } = await accessLogPage(ctx, where, query, limit);
  return { entries: entries.map(({ email, ...e }) => ({ ...e, userEmail: email })), nextCursor };
}
