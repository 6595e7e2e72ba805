// The access log: the proxy appends entries in batches (one INSERT per batch), admins query one
// device's entries over a time range, newest first, with a keyset cursor.
import { and, desc, eq, gte, lt, lte, or, type SQL } from 'drizzle-orm';
import { accessLog, ValidationError } from '@porthole/db';
import type { RegistryContext } from './context.js';
import { normalizeSerial } from './serial.js';

export interface AccessLogEntry {
  at: Date;
  serial: string;
  userId: string | null;
  clientIp: string;
  method: string;
  path: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
}

export interface AccessLogRecord extends Omit<AccessLogEntry, 'at'> {
  id: number;
  at: string;
}

const INSERT_BATCH = 500;
const MAX_PATH = 2048;

/** Control characters would let a path forge log lines in a text export; escape them. */
function clean(s: string, max: number): string {
  const escaped = s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return escaped.length > max ? escaped.slice(0, max) : escaped;
}

export async function appendAccessLog(ctx: RegistryContext, entries: readonly AccessLogEntry[]): Promise<void> {
  for (let i = 0; i < entries.length; i += INSERT_BATCH) {
    const batch = entries.slice(i, i + INSERT_BATCH).map((e) => ({
      at: e.at,
      serial: e.serial.toLowerCase().slice(0, 63),
      userId: e.userId,
      clientIp: clean(e.clientIp, 64),
      method: clean(e.method, 16),
      path: clean(e.path, MAX_PATH),
      status: Math.trunc(e.status),
      bytesIn: Math.max(0, Math.trunc(e.bytesIn)),
      bytesOut: Math.max(0, Math.trunc(e.bytesOut)),
      durationMs: Math.max(0, Math.min(2_147_483_647, Math.trunc(e.durationMs))),
    }));
    await ctx.db.insert(accessLog).values(batch);
  }
}

export interface AccessLogQuery {
  serial: string;
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

export async function queryAccessLog(
  ctx: RegistryContext,
  query: AccessLogQuery,
): Promise<{ entries: AccessLogRecord[]; nextCursor: string | null }> {
  const serial = normalizeSerial(query.serial);
  const limit = query.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ValidationError('limit must be an integer from 1 to 1000', { field: 'limit' });
  const where: (SQL | undefined)[] = [eq(accessLog.serial, serial)];
  if (query.from) where.push(gte(accessLog.at, query.from));
  if (query.to) where.push(lte(accessLog.at, query.to));
  if (query.cursor) {
    const c = decodeCursor(query.cursor);
    where.push(or(lt(accessLog.at, c.at), and(eq(accessLog.at, c.at), lt(accessLog.id, c.id))));
  }
  const rows = await ctx.db
    .select()
    .from(accessLog)
    .where(and(...where))
    .orderBy(desc(accessLog.at), desc(accessLog.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const nextCursor = rows.length > limit && last ? Buffer.from(`${last.at.getTime()}.${last.id}`).toString('base64url') : null;
  return { entries: page.map((r) => ({ ...r, at: r.at.toISOString() })), nextCursor };
}
