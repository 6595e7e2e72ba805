// Registry benchmark: registrations per second and device-list latency at 100,000 devices,
// on PGlite and on PostgreSQL (skipped with a note when unreachable). Devices are seeded in bulk
// with INSERT … SELECT generate_series, then listed through the registry as the API does.
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import type { DriverName } from '@porthole/db';
import { createTestDatabase, probePostgres } from '@porthole/db/testing';
import { createTestClock, createTestRegistry, testKey } from '@porthole/hub/testing';
import { median, type BenchResult } from './harness.js';

const SEEDED = 100_000;
const REGISTRATIONS = 300;
const LIST_RUNS = 30;

async function benchDriver(driver: DriverName, log: (line: string) => void): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];
  const t = await createTestDatabase(driver);
  try {
    const clock = createTestClock(new Date().toISOString());
    const registry = createTestRegistry(t.db, clock);
    const { token } = await registry.createEnrollmentToken({ createdBy: null, maxUses: 1_000_000 });

    const registerRate = async (prefix: string, concurrency: number): Promise<number> => {
      let next = 0;
      const start = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (let i = next++; i < REGISTRATIONS; i = next++) {
            await registry.registerDevice({ serial: `${prefix}${i}`, publicKey: testKey(`${prefix}${i}`), enrollmentToken: token });
          }
        }),
      );
      return REGISTRATIONS / ((performance.now() - start) / 1000);
    };
    const push = (c: string, value: number, unit: string, note?: string) => {
      rows.push({ suite: 'registry', case: `${driver}: ${c}`, value, unit, ...(note ? { note } : {}) });
      log(`${driver}: ${c} = ${value.toFixed(unit === 'ms' ? 2 : 0)} ${unit}`);
    };

    push('register, sequential (empty db)', await registerRate('seq', 1), 'registrations/s');
    push('register, 16 concurrent (empty db)', await registerRate('par', 16), 'registrations/s');

    // Bulk seed: serials an00000001…, base64 SHA-256 keys, addresses after the registered ones.
    const seedStart = performance.now();
    await t.db.execute(sql`
      insert into devices (organization_id, serial, public_key, tunnel_ip, status, tags, last_handshake_at, created_at, registered_at)
      select '00000000-0000-4000-8000-000000000001'::uuid, 'an' || lpad(i::text, 8, '0'),
             encode(sha256(('seed' || i)::bytea), 'base64'),
             '100.65.0.0'::inet + i,
             case when i % 20 = 0 then 'disabled' else 'enabled' end,
             case when i % 10 = 0 then array['fleet-a'] else array['fleet-b', 'berlin'] end,
             case when i % 3 = 0 then now() else now() - interval '1 day' end,
             now(), now()
      from generate_series(1, ${SEEDED}) as g(i)`);
    await t.db.execute(sql`analyze devices`);
    push(`bulk seed of ${SEEDED} devices`, performance.now() - seedStart, 'ms', 'INSERT … SELECT generate_series, incl. indexes');

    const cases: [string, Parameters<typeof registry.listDevices>[0]][] = [
      ['list first page (50)', { limit: 50 }],
      ['list filtered page (status+tag, 50)', { status: 'enabled', tag: 'fleet-a', limit: 50 }],
      ['list online page (50)', { online: true, limit: 50 }],
      ['list search "4567" (50)', { q: '4567', limit: 50 }],
      ['list deep cursor page (~90,000th, 50)', { cursor: Buffer.from('an00090000').toString('base64url'), limit: 50 }],
    ];
    for (const [name, query] of cases) {
      await registry.listDevices(query); // warm
      const times: number[] = [];
      for (let i = 0; i < LIST_RUNS; i++) {
        const start = performance.now();
        const page = await registry.listDevices(query);
        times.push(performance.now() - start);
        if (page.devices.length === 0) throw new Error(`${name} returned no devices`);
      }
      push(name, median(times), 'ms', `median of ${LIST_RUNS}, ${SEEDED + 2 * REGISTRATIONS} devices`);
    }
    push(`register, 16 concurrent (${SEEDED} devices)`, await registerRate('late', 16), 'registrations/s');
  } finally {
    await t.drop();
  }
  return rows;
}

export default async function registryBench(log: (line: string) => void): Promise<BenchResult[]> {
  const rows = await benchDriver('pglite', log);
  const pgProblem = await probePostgres();
  if (pgProblem) {
    log(`postgres skipped: ${pgProblem}`);
    rows.push({ suite: 'registry', case: 'postgres', value: NaN, unit: '-', note: `skipped: ${pgProblem}` });
  } else {
    rows.push(...(await benchDriver('postgres', log)));
  }
  return rows;
}
