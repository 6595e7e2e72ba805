// Test support: a migrated database per test file on either driver. PGlite runs in memory; on
// PostgreSQL each call creates a uniquely named database and `drop()` removes it again.
// Only tests import this module (`@porthole/db/testing`).
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createDatabase, resultRows, type DatabaseHandle, type Database, type DriverName } from './database.js';
import { DEFAULT_ORGANIZATION_ID } from './schema/organization-roles.js';

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** The PostgreSQL server tests use: `DATABASE_URL`, or the local default. */
export function postgresTestUrl(): string {
  return process.env.DATABASE_URL || DEFAULT_TEST_DATABASE_URL;
}

/** Undefined when PostgreSQL answers at `url`, else the reason it does not (for requirementsMet). */
export async function probePostgres(url = postgresTestUrl()): Promise<string | undefined> {
  try {
    await adminUrlFor(url);
    return undefined;
  } catch (err) {
    return `PostgreSQL unreachable at ${redactUrl(url)}: ${(err as Error).message}`;
  }
}

async function answers(url: string): Promise<void> {
  const client = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await client`select 1`;
  } finally {
    await client.end({ timeout: 1 }).catch(() => {});
  }
}

/**
 * Where to run CREATE/DROP DATABASE: the URL's own database, or the server's `postgres` database
 * when the named one does not exist (a fresh CI cluster has no `test` database).
 */
async function adminUrlFor(url: string): Promise<string> {
  try {
    await answers(url);
    return url;
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err;
    const u = new URL(url);
    u.pathname = '/postgres';
    await answers(u.toString());
    return u.toString();
  }
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

export interface TestDatabase extends DatabaseHandle {
  /** Closes the connection and, on PostgreSQL, drops the database. */
  drop(): Promise<void>;
  /** postgres:// URL of the fresh database (PostgreSQL only). */
  url?: string;
}

export interface TestDatabaseOptions {
  /** Migrate from this folder instead (a copy cut at an older migration: tests of a data migration). */
  migrationsFolder?: string;
}

export async function createTestDatabase(driver: DriverName, serverUrl = postgresTestUrl(), options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const folder = options.migrationsFolder ? { migrationsFolder: options.migrationsFolder } : {};
  if (driver === 'pglite') {
    const handle = await createDatabase({ ...folder });
    return { ...handle, drop: () => handle.close() };
  }
  const adminUrl = await adminUrlFor(serverUrl);
  const name = `porthole_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const handle = await createDatabase({ url, maxConnections: 10, ...folder });
  return {
    ...handle,
    url,
    drop: async () => {
      await handle.close();
      const again = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await again.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await again.end({ timeout: 5 });
      }
    },
  };
}

/** Empties every application table (not the migrations journal) but for the default organisation: isolation between tests in one file. */
export async function truncateAll(db: Database): Promise<void> {
  const rows = resultRows<{ tablename: string }>(
    await db.execute(sql`select tablename from pg_tables where schemaname = 'public' order by tablename`),
  );
  if (rows.length === 0) return;
  const list = rows.map((r) => `"${r.tablename}"`).join(', ');
  await db.execute(sql.raw(`truncate ${list} restart identity cascade`));
  // The default organisation is data the migrations create (0006), as an empty hub has it.
  if (rows.some((r) => r.tablename === 'organizations')) {
    await db.execute(sql`insert into organizations (id, name) values (${DEFAULT_ORGANIZATION_ID}, 'Default') on conflict do nothing`);
  }
}

/**
 * For the enclosing describe block: a database of `driver` made before its tests and dropped after
 * them, with `emptyEach` emptied (truncateAll) before each test. What it returns stands for that
 * database: read its fields in tests and hooks, once it is made.
 */
export function useTestDatabase(driver: DriverName, options: TestDatabaseOptions & { emptyEach?: boolean } = {}): TestDatabase {
  let made: TestDatabase | undefined;
  const current = () => {
    if (!made) throw new Error(`the ${driver} test database is read before it is made`);
    return made;
  };
  beforeAll(async () => {
    made = await createTestDatabase(driver, postgresTestUrl(), options);
  });
  afterAll(async () => {
    await made?.drop();
  });
  if (options.emptyEach) {
    beforeEach(async () => {
      await truncateAll(current().db);
    });
  }
  return {
    driver,
    get db() {
      return current().db;
    },
    get url() {
      return current().url;
    },
    get listen() {
      return current().listen?.bind(made);
    },
    close: () => current().close(),
    drop: () => current().drop(),
  };
}

/** Row count per application table, to assert that a refused request changed nothing. */
export async function tableCounts(db: Database): Promise<Record<string, number>> {
  const rows = resultRows<{ tablename: string }>(
    await db.execute(sql`select tablename from pg_tables where schemaname = 'public' order by tablename`),
  );
  const counts: Record<string, number> = {};
  for (const { tablename } of rows) {
    const [row] = resultRows<{ n: number | string }>(await db.execute(sql.raw(`select count(*)::int as n from "${tablename}"`)));
    counts[tablename] = Number(row?.n ?? 0);
  }
  return counts;
}

/** Every row of every application table (as JSON-able values, in a stable order): "nothing changed" checks. */
export async function snapshotTables(db: Database): Promise<Record<string, unknown[]>> {
  const tables = resultRows<{ tablename: string }>(
    await db.execute(sql`select tablename from pg_tables where schemaname = 'public' order by tablename`),
  );
  const out: Record<string, unknown[]> = {};
  for (const { tablename } of tables) {
    const rows = resultRows<{ j: unknown }>(await db.execute(sql.raw(`select to_jsonb(t) as j from "${tablename}" t`)));
    out[tablename] = rows.map((r) => (typeof r.j === 'string' ? JSON.parse(r.j) : r.j)).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  }
  return out;
}
