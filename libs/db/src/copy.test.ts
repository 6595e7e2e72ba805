// COPY in text format on the embedded database: every value comes back exactly as given, whatever
// characters it holds, and a driver without the fast path writes nothing and says so.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirementsMet } from '../../../test/support/requirements.js';
import { copyRows, copyText } from './copy.js';
import { resultRows, type DriverName } from './database.js';
import { createTestDatabase, probePostgres, type TestDatabase } from './testing.js';

const pgProblem = await probePostgres();
const drivers: DriverName[] = requirementsMet('db on PostgreSQL', { check: () => pgProblem }) ? ['pglite', 'postgres'] : ['pglite'];

describe('copyText', () => {
  it('escapes what would end a column or a row, and writes NULL as \\N', () => {
    expect(copyText(null)).toBe('\\N');
    expect(copyText(42)).toBe('42');
    expect(copyText('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyText('\\N')).toBe('\\\\N');
    expect(copyText('plain')).toBe('plain');
  });
});

describe.each(drivers)('copyRows on %s', (driver) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(driver);
    await t.db.execute(sql`create table copy_probe (id integer not null, label text, size bigint)`);
  });
  afterAll(async () => {
    await t?.drop();
  });

  const hostile = ['tab\there', 'line\nbreak', 'carriage\rreturn', 'back\\slash', '\\N', '\\.', 'end\\', 'ünïcødé ✓', '', ' spaced '];

  it(driver === 'pglite' ? 'loads every row, each value exactly as given' : 'answers false and writes nothing', async () => {
    const rows = hostile.map((label, i) => [i, label, i * 1_000_000_007] as const);
    const loaded = await copyRows(t.db, 'copy_probe', ['id', 'label', 'size'], [...rows, [99, null, null]]);
    const back = resultRows<{ id: number; label: string | null; size: string | null }>(await t.db.execute(sql`select id, label, size::text as size from copy_probe order by id`));
    if (driver !== 'pglite') {
      expect(loaded).toBe(false);
      expect(back).toEqual([]);
      return;
    }
    expect(loaded).toBe(true);
    expect(back).toEqual([...rows.map(([id, label, size]) => ({ id, label, size: String(size) })), { id: 99, label: null, size: null }]);
  });

  it('refuses a name that is not a plain identifier, and a row of the wrong width', async () => {
    if (driver !== 'pglite') return expect(await copyRows(t.db, 'copy_probe', ['id'], [[1]])).toBe(false);
    await expect(copyRows(t.db, 'copy_probe; drop table x', ['id'], [[1]])).rejects.toThrow(/not a plain identifier/);
    await expect(copyRows(t.db, 'copy_probe', ['id', 'label'], [[1]])).rejects.toThrow(/1 values for 2 columns/);
  });
});
