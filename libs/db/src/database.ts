// The database factory: PGlite (embedded, in a data directory or in memory) when no URL is given,
// postgres.js when one is. Both expose the same drizzle API and run the same migrations folder.
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { migrateDatabase } from './migrate.js';

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
}

export async function createDatabase(options: CreateDatabaseOptions = {}): Promise<DatabaseHandle> {
  const handle = options.url ? openPostgres(options.url, options) : await openPglite(options.dataDir);
  if (options.migrate !== false) {
    try {
      await migrateDatabase(handle, { url: options.url, migrationsFolder: options.migrationsFolder, logger: options.logger });
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
  }
  options.logger?.info('database ready', { driver: handle.driver, dataDir: options.url ? undefined : (options.dataDir ?? ':memory:') });
  return handle;
}

async function openPglite(dataDir: string | undefined): Promise<DatabaseHandle> {
  const client = await PGlite.create({ ...(dataDir ? { dataDir } : {}), extensions: { pg_trgm } });
  const db = drizzlePglite({ client }) as unknown as Database;
  return {
    db,
    driver: 'pglite',
    close: async () => {
      if (!client.closed) await client.close();
    },
  };
}

function openPostgres(url: string, options: CreateDatabaseOptions): DatabaseHandle {
  const client = postgres(url, {
    max: options.maxConnections ?? 10,
    // Migrations and CREATE EXTENSION … IF NOT EXISTS print notices; they are not problems.
    onnotice: () => {},
    connect_timeout: 10,
  });
  const db = drizzlePostgres({ client }) as unknown as Database;
  return { db, driver: 'postgres', close: () => client.end({ timeout: 5 }) };
}

/** Rows of a `db.execute()` result: postgres.js returns an array, PGlite `{ rows }`. */
export function resultRows<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}
