import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { createDatabase } from '@porthole/db';
const N = 30000, BATCH = 2400;
const dir = mkdtempSync(join(tmpdir(), 'flush-'));
const database = await createDatabase({ dataDir: join(dir, 'pglite') });
const db = database.db as any;
const keys = Array.from({ length: N }, () => randomBytes(32).toString('base64'));
await db.execute(sql`insert into organizations (id, name, slug) values ('00000000-0000-4000-8000-000000000001', 'o', 'o') on conflict do nothing`).catch((e: any) => console.log('org', e.message));
for (let from = 0; from < N; from += 10000) {
  const batch = keys.slice(from, from + 10000);
  await db.execute(sql`
    insert into devices (organization_id, serial, public_key, tunnel_ip, status, access_policy)
    select '00000000-0000-4000-8000-000000000001'::uuid, 'sm' || lpad((${from}::int + t.i)::text, 8, '0'), t.k, '100.64.1.0'::inet + (${from}::int + t.i), 'enabled', 'public'
    from unnest(string_to_array(${batch.join(',')}, ',')) with ordinality as t(k, i)`);
}
function textArray(values: readonly (string | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : `"${v.replace(/["\\]/g, '\\$&')}"`)).join(',')}}`;
}
let round = 0;
async function flush(variant: string) {
  const start = (round * BATCH) % N; round++;
  const batch = keys.slice(start, start + BATCH);
  const now = Date.now();
  const k = textArray(batch);
  const hs = textArray(batch.map((_, i) => new Date(now - i).toISOString()));
  const ep = textArray(batch.map((_, i) => `127.0.0.1:${1000 + i}`));
  const rx = `{${batch.map((_, i) => 1000 * round + i).join(',')}}`;
  const tx = rx;
  if (variant === 'current') {
    await db.execute(sql`
        update devices as t set
          last_handshake_at = coalesce(v.hs, t.last_handshake_at),
          last_endpoint = coalesce(v.ep, t.last_endpoint),
          rx_bytes = v.rx, tx_bytes = v.tx
        from unnest(${k}::text[], ${hs}::timestamptz[], ${ep}::text[], ${rx}::bigint[], ${tx}::bigint[]) as v(pk, hs, ep, rx, tx)
        where t.public_key = v.pk`);
  } else if (variant === 'epochms') {
    const hsms = `{${batch.map((_, i) => now - i).join(',')}}`;
    await db.execute(sql`
        update devices as t set
          last_handshake_at = coalesce(to_timestamp(v.hs / 1000.0), t.last_handshake_at),
          last_endpoint = coalesce(v.ep, t.last_endpoint),
          rx_bytes = v.rx, tx_bytes = v.tx
        from unnest(${k}::text[], ${hsms}::bigint[], ${ep}::text[], ${rx}::bigint[], ${tx}::bigint[]) as v(pk, hs, ep, rx, tx)
        where t.public_key = v.pk`);
  }
}
for (const variant of (process.env.VARIANTS ?? 'current').split(',')) {
  for (let i = 0; i < 15; i++) await flush(variant); // warm: each row written several times
  const c0 = process.cpuUsage(); const t0 = performance.now(); const n = 20;
  for (let i = 0; i < n; i++) await flush(variant);
  const c = process.cpuUsage(c0);
  console.log(variant.padEnd(10), 'per flush of', BATCH, 'rows:', ((performance.now() - t0) / n).toFixed(1), 'ms wall', ((c.user + c.system) / 1000 / n).toFixed(1), 'ms cpu');
}
await database.close();
