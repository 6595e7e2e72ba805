// The access log as the portal shows it: one device or the whole fleet, over a time range, newest
// first with the same keyset cursor as queryAccessLog, each row with the visitor's e-mail address.
import { eq, type SQL } from 'drizzle-orm';
import { accessLog } from '@porthole/db';
import { ValidationError } from '../errors.js';
import { accessLogPage, pageLimit, type AccessLogRecord } from './access-log.js';
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
  const limit = pageLimit(query.limit);
  if (query.from && query.to && query.from > query.to) throw new ValidationError('from must not be after to', { field: 'from' });
  const where: (SQL | undefined)[] = [];
  if (query.serial) where.push(eq(accessLog.serial, normalizeSerial(query.serial)));
  return accessLogPage(ctx, where, query, limit);
}
