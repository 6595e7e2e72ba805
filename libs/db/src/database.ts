// The database factory: PGlite (embedded, in a data directory or in memory) when no URL is given,
// postgres.js when one is. Both expose the same drizzle API and run the same migrations folder.
// A data directory is locked for one process (data-dir-lock.ts); a PostgreSQL that cannot be used
// is a DatabaseConnectError naming the server and the driver's own reason.
import type { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { lockDataDir } from './data-dir-lock.js';
import { pgErrorInfo } from './db-errors.js';
import { migrateDatabase } from './migrate.js';
import { PgliteThread } from './pglite-thread.js';

export { DataDirLockedError, LOCK_FILE_NAME, type LockHolder } from './data-dir-lock.js';

/** The drizzle handle every query function takes. A transaction (`db.transaction(tx => …)`) is one too. */
export type Database = PgDatabase<PgQueryResultHKT>;
/** Anything queries can run on: the database or an open transaction. */
export type Executor = Database;

export type DriverName = 'pglite' | 'postgres';

/** Structural logger; the hub's JSON logger fits. Libraries stay silent without one. */
export interface DbLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface CreateDatabaseOptions {
  /** `postgres://…`: use PostgreSQL. Unset: embedded PGlite. */
  url?: string;
  /** PGlite data directory; in-memory when unset (tests). Ignored with `url`. */
  dataDir?: string;
  logger?: DbLogger;
  /** Apply migrations before returning (default true). */
  migrate?: boolean;
  /** Override the migrations folder (default: the repository's top-level migrations/). */
  migrationsFolder?: string;
  /** postgres.js pool size (default 10). */
  maxConnections?: number;
}

export interface DatabaseHandle {
  db: Database;
  driver: DriverName;
  close(): Promise<void>;
  /**
   * PostgreSQL LISTEN on `channel` over a connection of its own (re-established by the driver after
   * a reconnect, when `onListen` runs again): what a cluster's nodes wake each other with. Absent on
   * PGlite, which one process alone opens.
   */
  listen?(channel: string, onNotify: (payload: string) => void, onListen?: () => void): Promise<{ unlisten(): Promise<void> }>;
}

export async function createDatabase(options: CreateDatabaseOptions = {}): Promise<DatabaseHandle> {
  const handle = options.url ? openPostgres(options.url, options) : await openPglite(options.dataDir, options.logger);
  try {
    if (options.migrate !== false) {
      // One round trip first on the pool the caller gets: a server that is down or refuses these
      // credentials is named as such, not as the migration's first statement failing.
      if (options.url) await handle.db.execute(sql`select 1`);
      await migrateDatabase(handle, { url: options.url, migrationsFolder: options.migrationsFolder, logger: options.logger });
    }
  } catch (err) {
    await handle.close().catch(() => {});
    throw options.url ? DatabaseConnectError.from(options.url, err) : err;
  }
  options.logger?.info('database ready', { driver: handle.driver, dataDir: options.url ? undefined : (options.dataDir ?? ':memory:') });
  return handle;
}

async function openPglite(dataDir: string | undefined, logger: DbLogger | undefined): Promise<DatabaseHandle> {
  const lock = dataDir ? lockDataDir(dataDir, (reason) => logger?.warn('data directory not locked', { dataDir, reason })) : undefined;
  let client: PgliteThread;
  try {
    // On a thread of its own (pglite-thread.ts): its statements never hold the caller's event loop.
    // A lost thread is fatal, said in this logger first (PgliteThread's default).
    client = await PgliteThread.create({ ...(dataDir ? { dataDir } : {}), ...(logger ? { logger } : {}) });
  } catch (err) {
    lock?.release();
    throw err;
  }
  // drizzle's PGlite driver calls query and transaction only, which PgliteThread answers as PGlite does.
  const db = drizzlePglite({ client: client as unknown as PGlite }) as unknown as Database;
  return {
    db,
    driver: 'pglite',
    close: async () => {
      try {
        if (!client.closed) await client.close();
      } finally {
        lock?.release();
      }
    },
  };
}

/** Where a PostgreSQL URL points, without its password. */
export function describePostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default database)';
    return `${u.hostname || 'localhost'}:${u.port || '5432'}/${database}${u.username ? ` as ${decodeURIComponent(u.username)}` : ''}`;
  } catch {
    return 'the DATABASE_URL server';
  }
}

/**
 * PostgreSQL could not be used at start: the message names the server (never the password) and the
 * driver's own reason with its code (`password authentication failed for user "x" (28P01)`,
 * `connection refused (ECONNREFUSED)`), not the statement that happened to run first.
 */
export class DatabaseConnectError extends Error {
  readonly code: string | undefined;
  constructor(
    readonly server: string,
    readonly reason: string,
    code: string | undefined,
    cause: unknown,
  ) {
    super(`cannot use PostgreSQL at ${server}: ${reason}${code ? ` (${code})` : ''}`, { cause });
    this.name = 'DatabaseConnectError';
    this.code = code;
  }

  static from(url: string, err: unknown): DatabaseConnectError {
    if (err instanceof DatabaseConnectError) return err;
    const code = pgErrorInfo(err)?.code;
    return new DatabaseConnectError(describePostgresUrl(url), driverReason(err), code, err);
  }
}

const SOCKET_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is PostgreSQL running and listening there?)',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'no answer in time',
  CONNECT_TIMEOUT: 'no answer within the connect timeout',
  EHOSTUNREACH: 'host unreachable',
  ECONNRESET: 'the server closed the connection',
};

/** The innermost driver message: drizzle wraps it as "Failed query: …" with the real error as cause. */
function driverReason(err: unknown): string {
  let innermost: unknown = err;
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) innermost = e;
  const code = pgErrorInfo(err)?.code;
  if (code && SOCKET_REASONS[code]) return SOCKET_REASONS[code]!;
  const message = innermost instanceof Error ? innermost.message : String(innermost);
  // AggregateError (several addresses of one host) has an empty message; its errors carry the reasons.
  if (message === '' && innermost instanceof AggregateError) return innermost.errors.map((e: unknown) => driverReason(e)).join('; ');
  return message.split('\n')[0]!;
}

/**
 * Seconds postgres.js waits before it reconnects a pool connection after `failures` failed
 * connection attempts in a row (the pool shares the count). A query that arrives meanwhile waits
 * for that reconnect before it can even fail. postgres.js's own curve grows to 20 s, so after a
 * few seconds of a database outage every portal and API request hung for up to 20 s where it
 * should answer 503 at once, and recovery lagged the database by as much. Same jittered curve,
 * capped at 1 s: requests fail fast, the hub follows the database back within a second, and a
 * down server sees at most one attempt per pool connection per second.
 */
export function reconnectDelaySeconds(failures: number): number {
  return (0.5 + Math.random() / 2) * Math.min(3 ** failures / 100, 1);
}

function openPostgres(url: string, options: CreateDatabaseOptions): DatabaseHandle {
  const client = postgres(url, {
    max: options.maxConnections ?? 10,
    // Migrations and CREATE EXTENSION … IF NOT EXISTS print notices; they are not problems.
    onnotice: () => {},
    connect_timeout: 10,
    backoff: reconnectDelaySeconds,
  });
  const db = drizzlePostgres({ client }) as unknown as Database;
  return {
    db,
    driver: 'postgres',
    close: () => client.end({ timeout: 5 }),
    async listen(channel, onNotify, onListen) {
      const { unlisten } = await client.listen(channel, onNotify, onListen);
      return { unlisten: () => unlisten() };
    },
  };
}

/** Rows of a `db.execute()` result: postgres.js returns an array, PGlite `{ rows }`. */
export function resultRows<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}
