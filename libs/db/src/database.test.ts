// The database layer on both drivers: migrations from the real migrations/ folder produce exactly
// the drizzle schema, driver errors become domain errors, and the driver factory behaves.
import { readFileSync } from 'node:fs';
import net, { type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { is, sql } from 'drizzle-orm';
import { PgTable, getTableConfig } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirementsMet } from '../../../test/support/requirements.js';
import { createDatabase, reconnectDelaySeconds, resultRows, type DriverName } from './database.js';
import { dbErrorMeaning, isUniqueViolation } from './db-errors.js';
import { DEFAULT_MIGRATIONS_FOLDER } from './migrate.js';
import { schemaDrift } from './schema-drift.js';
import * as schema from './schema/index.js';
import { createTestDatabase, probePostgres, tableCounts, truncateAll, type TestDatabase } from './testing.js';

const pgProblem = await probePostgres();
const drivers: DriverName[] = requirementsMet('db on PostgreSQL', { check: () => pgProblem }) ? ['pglite', 'postgres'] : ['pglite'];

describe('migrations folder', () => {
  it('the last snapshot equals the schema (drizzle-kit generate would report no changes)', async () => {
    const { generateDrizzleJson, generateMigration } = await import('drizzle-kit/api');
    const journal = JSON.parse(readFileSync(join(DEFAULT_MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8')) as {
      entries: { idx: number; tag: string }[];
    };
    const last = journal.entries.at(-1)!;
    const snapshot = JSON.parse(
      readFileSync(join(DEFAULT_MIGRATIONS_FOLDER, `meta/${String(last.idx).padStart(4, '0')}_snapshot.json`), 'utf8'),
    );
    const current = generateDrizzleJson(schema as Record<string, unknown>, snapshot.id);
    expect(await generateMigration(snapshot, current)).toEqual([]);
  });
});

describe.each(drivers)('database on %s', (driver) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(driver);
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('reports its driver', () => {
    expect(t.driver).toBe(driver);
  });

  it('migrations applied to an empty database match the drizzle schema exactly', async () => {
    expect(await schemaDrift(t.db)).toEqual([]);
    const tables = resultRows<{ tablename: string }>(
      await t.db.execute(sql`select tablename from pg_tables where schemaname = 'public' order by tablename`),
    ).map((r) => r.tablename);
    // Every table the schema declares, and nothing else.
    const declared = (Object.values(schema) as unknown[])
      .filter((v): v is PgTable => is(v, PgTable))
      .map((table) => getTableConfig(table).name)
      .sort();
    expect(declared.length).toBeGreaterThanOrEqual(14);
    expect(tables).toEqual(declared);
  });

  it('the drift check notices a database that differs from the schema', async () => {
    await t.db.execute(sql`alter table access_log add column extra text`);
    await t.db.execute(sql`alter table access_log alter column method drop not null`);
    await t.db.execute(sql`drop index access_log_at_idx`);
    try {
      expect(await schemaDrift(t.db)).toEqual([
        'access_log.method nullability differs (db not null: false)',
        'access_log.extra exists but is not in the schema',
        'index access_log_at_idx on access_log is missing',
      ]);
    } finally {
      await t.db.execute(sql`alter table access_log drop column extra`);
      await t.db.execute(sql`alter table access_log alter column method set not null`);
      await t.db.execute(sql`create index access_log_at_idx on access_log using btree (at)`);
    }
    expect(await schemaDrift(t.db)).toEqual([]);
  });

  it('migrating again is a no-op', async () => {
    const { migrateDatabase } = await import('./migrate.js');
    await migrateDatabase(t, { url: t.url });
    const [row] = resultRows<{ n: number }>(await t.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`));
    const journal = JSON.parse(readFileSync(new URL('../../../migrations/meta/_journal.json', import.meta.url), 'utf8')) as { entries: unknown[] };
    expect(Number(row!.n)).toBe(journal.entries.length);
  });

  it('says a unique violation is a conflict, naming the constraint', async () => {
    await truncateAll(t.db);
    await t.db.insert(schema.users).values({ email: 'a@example.io', passwordHash: 'x' });
    const dup = t.db.insert(schema.users).values({ email: 'a@example.io', passwordHash: 'y' });
    const err = await dup.catch((e: unknown) => e);
    expect(isUniqueViolation(err, 'users_email_unique')).toBe(true);
    expect(isUniqueViolation(err, 'devices_serial_unique')).toBe(false);
    expect(dbErrorMeaning(err)).toEqual({ kind: 'conflict', constraint: 'users_email_unique' });
    expect(dbErrorMeaning(new Error('not from a driver'))).toBeUndefined();
    expect(await tableCounts(t.db)).toMatchObject({ users: 1 });
  });

  it('says check and foreign-key violations are an invalid value and a missing reference', async () => {
    await truncateAll(t.db);
    const check = await t.db
      .insert(schema.users)
      .values({ email: 'b@example.io', passwordHash: 'x', role: 'root' as 'admin' })
      .catch((e: unknown) => e);
    expect(dbErrorMeaning(check)).toEqual({ kind: 'invalid_value', constraint: 'users_role_check' });
    const fk = await t.db
      .insert(schema.sessions)
      .values({ tokenHash: 'h', userId: '00000000-0000-4000-8000-000000000000', expiresAt: new Date() })
      .catch((e: unknown) => e);
    expect(dbErrorMeaning(fk)?.kind).toBe('missing_reference');
    expect(await tableCounts(t.db)).toMatchObject({ users: 0, sessions: 0 });
  });

  it('enforces the enrollment-token use limit in the database itself', async () => {
    await truncateAll(t.db);
    await t.db.insert(schema.enrollmentTokens).values({
      organizationId: schema.DEFAULT_ORGANIZATION_ID,
      tokenHash: 'h1',
      displayPrefix: 'ph_enr_x',
      maxUses: 1,
      uses: 1,
      expiresAt: new Date(Date.now() + 60_000),
    });
    const over = await t.db
      .update(schema.enrollmentTokens)
      .set({ uses: sql`uses + 1` })
      .catch((e: unknown) => e);
    expect(dbErrorMeaning(over)?.kind).toBe('invalid_value');
  });
});

describe('createDatabase', () => {
  it('keeps PGlite data in a data directory across restarts', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'porthole-db-'));
    try {
      const first = await createDatabase({ dataDir: dir });
      await first.db.insert(schema.users).values({ email: 'kept@example.io', passwordHash: 'x' });
      await first.close();
      const second = await createDatabase({ dataDir: dir });
      const rows = await second.db.select({ email: schema.users.email }).from(schema.users);
      await second.close();
      expect(rows).toEqual([{ email: 'kept@example.io' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!drivers.includes('postgres'))('says an unreachable PostgreSQL is unavailable', async () => {
    const err = await createDatabase({ url: 'postgres://postgres@127.0.0.1:1/none', migrate: false }).then(async (h) => {
      try {
        return await h.db.execute(sql`select 1`).catch((e: unknown) => e);
      } finally {
        await h.close();
      }
    });
    expect(dbErrorMeaning(err)?.kind).toBe('unavailable');
  });

  it('waits at most a second before it reconnects, however long the database has been down', () => {
    const delays = Array.from({ length: 40 }, (_, failures) => reconnectDelaySeconds(failures));
    expect(delays[0]).toBeGreaterThan(0);
    expect(delays[0]).toBeLessThanOrEqual(0.01);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1);
    expect(delays.slice(20).every((d) => d >= 0.5)).toBe(true);
  });

  // postgres.js delays a pool connection's reconnect by a backoff that grows with every failed
  // attempt (its own curve reaches 20 s), and a query arriving meanwhile waits for it. Through an
  // outage of many failed queries, each must still fail as unavailable, and the pool must be
  // back as soon as the database is: with the default curve the later queries of this test wait
  // 10-20 s each, past the test's timeout.
  it.skipIf(!drivers.includes('postgres'))('through a PostgreSQL outage queries fail as unavailable, and the next one after it succeeds', async () => {
    const t = await createTestDatabase('postgres');
    const target = new URL(t.url!);
    const open = new Set<Socket>();
    let server: Server | undefined;
    const listen = (port: number) =>
      new Promise<number>((resolve, reject) => {
        server = net.createServer((client) => {
          const upstream = net.connect(Number(target.port || 5432), target.hostname);
          for (const s of [client, upstream]) {
            open.add(s);
            s.on('error', () => {}).on('close', () => {
              client.destroy();
              upstream.destroy();
              open.delete(s);
            });
          }
          client.pipe(upstream).pipe(client);
        });
        server.once('error', reject).listen(port, '127.0.0.1', () => resolve((server!.address() as AddressInfo).port));
      });
    const cut = async () => {
      const closed = new Promise((r) => server!.close(r));
      for (const s of open) s.destroy();
      await closed;
    };
    const port = await listen(0);
    const viaRelay = new URL(t.url!);
    viaRelay.hostname = '127.0.0.1';
    viaRelay.port = String(port);
    const h = await createDatabase({ url: viaRelay.toString(), migrate: false, maxConnections: 2 });
    try {
      expect(resultRows(await h.db.execute(sql`select 1 as one`))).toEqual([{ one: 1 }]);
      await cut();
      const meanings: (string | undefined)[] = [];
      for (let i = 0; i < 10; i++) meanings.push(await h.db.execute(sql`select 1`).then(() => 'answered', (e: unknown) => dbErrorMeaning(e)?.kind));
      expect(meanings).toEqual(Array(10).fill('unavailable'));
      await listen(port);
      expect(resultRows(await h.db.execute(sql`select 2 as two`))).toEqual([{ two: 2 }]);
    } finally {
      await h.close();
      await cut();
      await t.drop();
    }
  }, 15_000);
});
