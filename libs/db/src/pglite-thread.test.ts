// The embedded database on its own thread: statements run without holding the caller's event loop,
// and through drizzle everything behaves as PGlite on the caller's thread did: results, errors with
// PostgreSQL's fields, transactions that commit or roll back, COPY, a closed or failed database.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyRows } from './copy.js';
import { createDatabase, resultRows, type DatabaseHandle } from './database.js';
import { dbErrorMeaning, isUniqueViolation } from './db-errors.js';
import { PGLITE_THREAD_NAME, PgliteThread } from './pglite-thread.js';

let handle: DatabaseHandle;
const scratch = mkdtempSync(join(tmpdir(), 'porthole-pglite-thread-'));

beforeAll(async () => {
  handle = await createDatabase({ migrate: false });
  await handle.db.execute(sql`create table t (id integer primary key, name text not null unique, at timestamptz not null default now())`);
}, 60_000);

afterAll(async () => {
  await handle?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** Event-loop turns the caller makes while `work` is pending. */
async function turnsDuring(work: Promise<unknown>): Promise<number> {
  let turns = 0;
  let done = false;
  const spin = () => {
    if (done) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  await work;
  done = true;
  return turns;
}

describe('the embedded database thread', () => {
  it('runs a statement without holding the caller: the event loop turns while it sleeps', async () => {
    // On the caller's thread PGlite's pg_sleep is one synchronous WebAssembly call: zero turns.
    const turns = await turnsDuring(handle.db.execute(sql`select pg_sleep(0.5)`));
    expect(turns).toBeGreaterThan(50);
  });

  it('names its thread, so that top -H and the hub bench tell the database\'s CPU apart', () => {
    if (process.platform !== 'linux') return void console.warn('skipped: thread names are read from Linux /proc');
    const names = readdirSync('/proc/self/task').map((tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim());
    // This file's database so far is the one PGlite thread; the thread running the test keeps its name.
    expect(names.filter((name) => name === PGLITE_THREAD_NAME)).toHaveLength(1);
    expect(readFileSync('/proc/thread-self/comm', 'utf8').trim()).not.toBe(PGLITE_THREAD_NAME);
  });

  it('answers rows as drizzle expects them, timestamps as text', async () => {
    await handle.db.execute(sql`insert into t (id, name, at) values (1, 'one', '2026-01-02T03:04:05Z'), (2, 'two', '2026-01-02T03:04:06Z')`);
    const rows = resultRows<{ id: number; name: string; at: unknown }>(await handle.db.execute(sql`select id, name, at from t order by id`));
    expect(rows.map((r) => [r.id, r.name])).toEqual([
      [1, 'one'],
      [2, 'two'],
    ]);
    expect(typeof rows[0]!.at).toBe('string');
    expect(new Date(String(rows[0]!.at)).toISOString()).toBe('2026-01-02T03:04:05.000Z');
  });

  it('passes PostgreSQL errors back with their code and constraint', async () => {
    const err = await handle.db.execute(sql`insert into t (id, name) values (3, 'one')`).catch((e: unknown) => e);
    expect(isUniqueViolation(err, 't_name_unique') || isUniqueViolation(err, 't_name_key')).toBe(true);
    expect(dbErrorMeaning(err)?.kind).toBe('conflict');
  });

  it('commits a transaction that returns and rolls back one that throws, savepoints included', async () => {
    await handle.db.transaction(async (tx) => {
      await tx.execute(sql`insert into t (id, name) values (10, 'ten')`);
      await tx
        .transaction(async (inner) => {
          await inner.execute(sql`insert into t (id, name) values (11, 'eleven')`);
          throw new Error('inner fails');
        })
        .catch(() => {});
    });
    const failed = await handle.db
      .transaction(async (tx) => {
        await tx.execute(sql`insert into t (id, name) values (12, 'twelve')`);
        throw new Error('outer fails');
      })
      .catch((e: unknown) => e);
    expect((failed as Error).message).toBe('outer fails');
    const ids = resultRows<{ id: number }>(await handle.db.execute(sql`select id from t where id >= 10 order by id`)).map((r) => r.id);
    expect(ids).toEqual([10]);
  });

  it('keeps other statements out of an open transaction until it ends, as PGlite does', async () => {
    // One backend: a statement let in while the transaction is open would see its uncommitted row.
    let inside = 0;
    const tx = handle.db
      .transaction(async (t) => {
        await t.execute(sql`insert into t (id, name) values (20, 'twenty')`);
        await new Promise((r) => setTimeout(r, 50));
        inside = resultRows<{ n: number }>(await t.execute(sql`select count(*)::int as n from t where id = 20`))[0]!.n;
        throw new Error('roll back');
      })
      .catch(() => {});
    const outside = handle.db.execute(sql`select count(*)::int as n from t where id = 20`);
    await tx;
    expect(inside).toBe(1);
    expect(resultRows<{ n: number }>(await outside)[0]!.n).toBe(0);
  });

  it('loads rows with COPY through the thread', async () => {
    expect(await copyRows(handle.db, 't', ['id', 'name'], [[30, 'thirty'], [31, 'tab\there']])).toBe(true);
    const rows = resultRows<{ name: string }>(await handle.db.execute(sql`select name from t where id >= 30 order by id`));
    expect(rows.map((r) => r.name)).toEqual(['thirty', 'tab\there']);
  });

  it('refuses parsers it cannot carry across, rather than ignoring them', async () => {
    const client = await PgliteThread.create();
    try {
      await expect(client.query('select 1 as n', [], { parsers: { 23: (v: string) => Number(v) * 2 } })).rejects.toThrow(/raw-text parsers/);
      expect((await client.query<{ n: number }>('select 1 as n')).rows).toEqual([{ n: 1 }]);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('reports a thread lost while open once, failing what waits and what follows as unavailable; close is no loss', async () => {
    const lost: Error[] = [];
    const client = await PgliteThread.create({ onLost: (err) => lost.push(err) });
    const waiting = client.query('select pg_sleep(10)').catch((e: unknown) => e);
    await client.thread.terminate();
    expect(dbErrorMeaning(await waiting)?.kind).toBe('unavailable');
    expect(dbErrorMeaning(await client.query('select 1').catch((e: unknown) => e))?.kind).toBe('unavailable');
    expect(lost).toHaveLength(1);
    expect(lost[0]!.message).toMatch(/embedded database thread stopped/);

    const closing = await PgliteThread.create({ onLost: (err) => lost.push(err) });
    await closing.close();
    expect(lost).toHaveLength(1);
  }, 60_000);

  it('ends the process when the thread of a database from createDatabase is lost, saying why', async () => {
    const script = `
      import { createDatabase } from ${JSON.stringify(new URL('./database.ts', import.meta.url).pathname)};
      const handle = await createDatabase({ migrate: false, logger: { info() {}, warn: (msg) => process.stdout.write(msg + '\\n') } });
      await handle.db.$client.thread.terminate();
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(out).toContain('the embedded database thread stopped; the process exits');
  }, 60_000);

  it('fails calls after close as a lost connection (unavailable), and keeps a data directory it cannot open closed', async () => {
    const client = await PgliteThread.create();
    await client.close();
    const err = await client.query('select 1').catch((e: unknown) => e);
    expect(dbErrorMeaning(err)?.kind).toBe('unavailable');

    const file = join(scratch, 'not-a-directory');
    writeFileSync(file, 'x');
    await expect(PgliteThread.create({ dataDir: file })).rejects.toThrow();
  }, 60_000);
});
