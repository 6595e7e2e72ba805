import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, currentPeerVersion, peerChangesSince } from '@porthole/db';
import { sql } from 'drizzle-orm';
const dir = mkdtempSync(join(tmpdir(), 'polls-'));
const database = await createDatabase({ dataDir: join(dir, 'pglite') });
const db = database.db as any;
async function time(name: string, n: number, fn: () => Promise<unknown>) {
  for (let i = 0; i < 50; i++) await fn();
  const c0 = process.cpuUsage(); const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  const c = process.cpuUsage(c0);
  console.log(name.padEnd(40), ((performance.now() - t0) * 1000 / n).toFixed(0), 'us wall', ((c.user + c.system) / n).toFixed(0), 'us cpu');
}
await time('currentPeerVersion (drizzle execute)', 500, () => currentPeerVersion(db));
await time('peerChangesSince (drizzle builder)', 500, () => peerChangesSince(db, 0, 1001));
await time('select 1', 500, () => db.execute(sql`select 1`));
await time('transaction(select 1)', 500, () => db.transaction(async (tx: any) => tx.execute(sql`select 1`)));
await database.close();
const { PGlite } = await import('@electric-sql/pglite');
for (const opts of [{}, { relaxedDurability: true }]) {
  const pg = new PGlite(join(dir, 'raw' + JSON.stringify(opts).length), opts as any);
  await pg.waitReady;
  await time('raw pglite select 1 ' + JSON.stringify(opts), 500, () => pg.query('select 1'));
  await time('raw pglite exec select 1 ' + JSON.stringify(opts), 500, () => pg.exec('select 1'));
  await pg.close();
}
const mem = new PGlite();
await time('memory pglite select 1', 500, () => mem.query('select 1'));
