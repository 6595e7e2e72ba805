// Migration 0006 (organisations) on a database filled with the schema before it: nothing is lost,
// every row lands in the default organisation, administrators become its owners, other accounts
// get no organisation role (they keep their own devices and grants), on PGlite and PostgreSQL.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { requirementsMet } from '../../../test/support/requirements.js';
import { resultRows, type DriverName } from './database.js';
import { DEFAULT_MIGRATIONS_FOLDER, migrateDatabase } from './migrate.js';
import { schemaDrift } from './schema-drift.js';
import { DEFAULT_ORGANIZATION_ID } from './schema/index.js';
import { createTestDatabase, probePostgres, snapshotTables } from './testing.js';

const pgProblem = await probePostgres();
const drivers: DriverName[] = requirementsMet('db on PostgreSQL', { check: () => pgProblem }) ? ['pglite', 'postgres'] : ['pglite'];

/** A copy of migrations/ whose journal stops before 0006: "today's" schema. */
function foldersBefore(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-migrations-'));
  cpSync(DEFAULT_MIGRATIONS_FOLDER, dir, { recursive: true });
  const journalPath = join(dir, 'meta/_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((e) => e.tag === tag);
  if (at < 0) throw new Error(`no migration ${tag}`);
  journal.entries = journal.entries.slice(0, at);
  writeFileSync(journalPath, JSON.stringify(journal));
  return dir;
}

const before = foldersBefore('0006_organizations');
afterAll(() => rmSync(before, { recursive: true, force: true }));

const ADMIN = '11111111-1111-4111-8111-111111111111';
const USER = '22222222-2222-4222-8222-222222222222';
const DEVICE = '33333333-3333-4333-8333-333333333333';
const TOKEN = '44444444-4444-4444-8444-444444444444';

/** Rows in every table that 0006 changes, and some it does not (one statement each: PGlite runs one at a time). */
const fill = `
  insert into users (id, email, password_hash, role) values
    ('${ADMIN}', 'admin@example.com', '$argon2id$x', 'admin'),
    ('${USER}', 'user@example.com', '$argon2id$y', 'user');
  insert into enrollment_tokens (id, created_by, description, token_hash, display_prefix, tags, max_uses, uses, expires_at)
    values ('${TOKEN}', '${ADMIN}', 'line 3', 'h-enroll', 'ph_enr_ab', '{site-a}', 10, 1, now() + interval '1 day');
  insert into devices (id, serial, public_key, tunnel_ip, owner_id, tags, enrollment_token_id, access_policy)
    values ('${DEVICE}', 'an12345678', 'pk-device', '100.64.0.2', '${USER}', '{site-a}', '${TOKEN}', 'public'),
           ('55555555-5555-4555-8555-555555555555', 'an87654321', 'pk-device-2', '100.64.0.3', null, '{}', null, 'owners');
  insert into device_grants (device_id, user_id, granted_by, expires_at) values ('${DEVICE}', '${ADMIN}', '${USER}', now() + interval '48 hours');
  insert into api_tokens (user_id, name, token_hash, display_prefix, scopes) values
    ('${ADMIN}', 'ci', 'h-api-admin', 'ph_api_a', '{read,write}'),
    ('${USER}', 'mine', 'h-api-user', 'ph_api_u', '{connect}');
  insert into admin_peers (name, public_key, tunnel_ip, created_by) values ('laptop', 'pk-peer', '100.64.0.9', '${ADMIN}');
  insert into serial_reservations (prefix, description, created_by) values ('an1', 'vendor line', '${ADMIN}');
  insert into access_log (at, serial, user_id, client_ip, method, path, status, bytes_in, bytes_out, duration_ms) values
    (now(), 'an12345678', '${USER}', '192.0.2.1', 'GET', '/', 200, 10, 20, 3),
    (now(), 'gone00000', null, '192.0.2.2', 'GET', '/x', 404, 0, 0, 1);
  insert into claims (user_code, poll_token_hash, serial, public_key, expires_at) values ('ABCDEFGH', 'h-poll', 'an5555', 'pk-claim', now() + interval '10 minutes');
  insert into sessions (token_hash, user_id, expires_at) values ('h-session', '${USER}', now() + interval '1 day');
`.split(';').map((statement) => statement.trim()).filter(Boolean);

describe.each(drivers)('migration 0006 organisations on %s', (driver) => {
  it('keeps every row, moves it into the default organisation, and makes administrators its owners', async () => {
    const t = await createTestDatabase(driver, undefined, { migrationsFolder: before });
    try {
      for (const statement of fill) await t.db.execute(sql.raw(statement));
      const old = await snapshotTables(t.db);
      expect(old.devices).toHaveLength(2);

      await migrateDatabase(t, { url: t.url });
      expect(await schemaDrift(t.db)).toEqual([]);
      const now = await snapshotTables(t.db);

      // Every row of every table is still there, unchanged but for the new organisation column.
      const moved = ['devices', 'enrollment_tokens', 'admin_peers', 'access_log'];
      for (const [table, rows] of Object.entries(old)) {
        const after = (now[table] ?? []) as Record<string, unknown>[];
        expect(after, table).toHaveLength(rows.length);
        for (const row of after) {
          if (moved.includes(table)) expect(row.organization_id, table).toBe(DEFAULT_ORGANIZATION_ID);
        }
        // The columns the row had before (later migrations may add more, with their defaults).
        const columns = Object.keys((rows[0] ?? {}) as Record<string, unknown>);
        const strip = (r: Record<string, unknown>) => Object.fromEntries(columns.map((c) => [c, r[c]]));
        expect(after.map(strip), table).toEqual(rows);
      }
      // API tokens stay personal: an administrator's still acts as a superadmin, a user's as the user.
      for (const row of now.api_tokens as Record<string, unknown>[]) {
        expect(row.organization_id).toBeNull();
        expect(row.organization_role).toBeNull();
      }
      expect(now.organizations).toEqual([expect.objectContaining({ id: DEFAULT_ORGANIZATION_ID, name: 'Default' })]);
      expect((now.organization_members as Record<string, unknown>[]).map((m) => [m.user_id, m.role])).toEqual([[ADMIN, 'owner']]);
      // Roles are unchanged: admin = superadmin.
      expect((now.users as Record<string, unknown>[]).map((u) => [u.email, u.role]).sort()).toEqual([
        ['admin@example.com', 'admin'],
        ['user@example.com', 'user'],
      ]);

      // New rows must name their organisation: the migration's defaults are gone.
      await expect(
        t.db.execute(sql`insert into devices (serial, public_key, tunnel_ip) values ('an00000001', 'pk-new', '100.64.0.4')`),
      ).rejects.toThrow();
      const [count] = resultRows<{ n: number }>(await t.db.execute(sql`select count(*)::int as n from devices`));
      expect(Number(count!.n)).toBe(2);
    } finally {
      await t.drop();
    }
  }, 60_000);
});
