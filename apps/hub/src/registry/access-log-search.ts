// The access log as the portal shows it: one device or the whole fleet, over a time range, newest
// first with the same keyset cursor as queryAccessLog, each row with the visitor's e-mail address.
import { and, desc, eq, gte, lt, lte, or, type SQL } from 'drizzle-orm';
import { accessLog, users } from '@porthole/db';
import { ValidationError } from '../errors.js';
import { decodeCursor, type AccessLogRecord } from './access-log.js';
import type { RegistryContext } from './context.js';
import { normalizeSerial } from './serial.js';

export interface AccessLogSearch {
  /** One device; all devices when absent. */
  serial?: string;
  from?: Date;
  to?: Date;
  /** 1-1000, default 100. */
  limit?: number;
  cursor?: string;
}

export interface AccessLogRow extends AccessLogRecord {
  /** The visitor's account, when the request was authenticated and the account still exists. */
  email: string | null;
}

export async function searchAccessLog(
  ctx: RegistryContext,
  query: AccessLogSearch,
): Promise<{ entries: AccessLogRow[]; nextCursor: string | null }> {
  const limit = query.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ValidationError('limit must be an integer from 1 to 1000', { field: 'limit' });
  if (query.from && query.to && query.from > query.to) throw new ValidationError('from must not be after to', { field: 'from' });
  const where: (SQL | undefined)[] = [];
  if (query.serial) where.push(eq(accessLog.serial, normalizeSerial(query.serial)));
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
