// A cluster's device-login tickets in the database, on both drivers; on PostgreSQL two stores over
// two connection pools stand for two hub nodes. A ticket issued by one is redeemed by the other,
// exactly once however many redemptions race for it on both; it is bound to its serial and kind
// of host, expires, is kept only as its hash, goes with its user, and expired rows are swept.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, resultRows, type DatabaseHandle, type DriverName } from '@porthole/db';
import { createTestDatabase, probePostgres, type TestDatabase } from '@porthole/db/testing';
import { requirementsMet } from '../../../../test/support/requirements.js';
import { hashSecret } from '../proxy/ticket-store.js';
import { createClusterTicketStore } from './cluster-tickets.js';

const pgProblem = await probePostgres();
const drivers: DriverName[] = requirementsMet('cluster tickets on PostgreSQL', { check: () => pgProblem }) ? ['pglite', 'postgres'] : ['pglite'];

describe.each(drivers)('cluster tickets on %s', (driver) => {
  let t: TestDatabase;
  /** The second node's own connections (PostgreSQL); on PGlite the same handle. */
  let other: DatabaseHandle;
  let userId: string;
  let now = Date.parse('2030-01-01T00:00:00Z');
  const clock = () => now;

  beforeAll(async () => {
    t = await createTestDatabase(driver);
    other = driver === 'postgres' ? await createDatabase({ url: t.url!, migrate: false }) : t;
    [{ id: userId }] = resultRows<{ id: string }>(await t.db.execute(sql`insert into users (email, password_hash) values ('k1@example.io', 'x') returning id`)) as [{ id: string }];
  }, 60_000);
  afterAll(async () => {
    if (other && other !== t) await other.close();
    await t?.drop();
  });

  const nodes = () => [createClusterTicketStore(t.db, { now: clock }), createClusterTicketStore(other.db, { now: clock })] as const;

  it('a ticket issued on one node is redeemed on the other, once', async () => {
    const [a, b] = nodes();
    const ticket = await a.issue(userId, 'an1', '/x');
    expect(await b.redeem(ticket, 'an1')).toEqual({ userId, next: '/x' });
    expect(await a.redeem(ticket, 'an1')).toBeUndefined();
    expect(await b.redeem(ticket, 'an1')).toBeUndefined();
  });

  it('gives a ticket to exactly one of many redemptions racing on both nodes', async () => {
    const [a, b] = nodes();
    for (let round = 0; round < 20; round++) {
      const ticket = await (round % 2 ? a : b).issue(userId, 'an1', `/r${round}`);
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).redeem(ticket, 'an1')));
      expect(results.filter((r) => r !== undefined)).toEqual([{ userId, next: `/r${round}` }]);
    }
  });

  it('binds a ticket to its serial and kind of host; a wrong attempt uses it up', async () => {
    const [a, b] = nodes();
    const own = await a.issue(userId, 'an1', '/');
    expect(await b.redeem(own, 'an2')).toBeUndefined();
    expect(await b.redeem(own, 'an1')).toBeUndefined();
    const serialHost = await a.issue(userId, 'an1', '/');
    expect(await b.redeemForSingleHost(serialHost)).toBeUndefined();
    expect(await a.redeem(serialHost, 'an1')).toBeUndefined();
    const single = await a.issueForSingleHost({ serial: 'an3', userId: null, next: '/n' });
    const withUser = await a.issueForSingleHost({ serial: 'an4', userId, next: '/' });
    expect(await b.redeem(single, 'an3')).toBeUndefined();
    expect(await b.redeemForSingleHost(withUser)).toEqual({ serial: 'an4', userId, next: '/' });
  });

  it('refuses an expired ticket and malformed ones', async () => {
    const [a, b] = nodes();
    const ticket = await a.issue(userId, 'an1', '/');
    now += 60_000;
    expect(await b.redeem(ticket, 'an1')).toBeUndefined();
    for (const bad of ['', 'x', 'a'.repeat(44), "x' or '1'='1", null as unknown as string]) expect(await b.redeem(bad, 'an1')).toBeUndefined();
  });

  it('keeps only the hash, drops a deleted user\'s tickets, and sweeps expired rows on a later issue', async () => {
    const [a] = nodes();
    const ticket = await a.issue(userId, 'an1', '/');
    const rows = resultRows<{ hash: string }>(await t.db.execute(sql`select hash from visitor_tickets`));
    expect(rows.map((r) => r.hash)).toContain(hashSecret(ticket));
    expect(JSON.stringify(resultRows(await t.db.execute(sql`select * from visitor_tickets`)))).not.toContain(ticket);

    const [{ id: gone }] = resultRows<{ id: string }>(await t.db.execute(sql`insert into users (email, password_hash) values ('gone@example.io', 'x') returning id`)) as [{ id: string }];
    const orphan = await a.issue(gone, 'an1', '/');
    await t.db.execute(sql`delete from users where id = ${gone}`);
    expect(await a.redeem(orphan, 'an1')).toBeUndefined();

    // A fresh store sweeps on its first issue; everything issued before is expired by then.
    now += 61_000;
    await createClusterTicketStore(t.db, { now: clock }).issue(userId, 'an1', '/');
    const left = resultRows<{ n: number | string }>(await t.db.execute(sql`select count(*)::int as n from visitor_tickets`));
    expect(Number(left[0]!.n)).toBe(1);
  });
});
