// The cluster's rows on PGlite migrated from the real migrations: the hub key recorded once and a
// different one refused, leases read back with their times, the hold compare-and-set (a newer
// handshake takes the device, an older one elsewhere never does, a dead holder loses it to any),
// and notification payloads checked before use.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultRows } from '@porthole/db';
import { createTestDatabase, type TestDatabase } from '@porthole/db/testing';
import { HubIdentityError, checkHubIdentity, endLease, heartbeat, parseNotice, readHolds, takeHolds } from './cluster-store.js';

let t: TestDatabase;
const KEY = `${'K'.repeat(43)}=`;
const T0 = new Date('2030-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

beforeAll(async () => {
  t = await createTestDatabase('pglite');
  const [org] = resultRows<{ id: string }>(await t.db.execute(sql`insert into organizations (name) values ('k1 org') returning id`));
  await t.db.execute(sql`insert into devices (serial, public_key, tunnel_ip, organization_id) values ('k1dev', ${KEY}, '100.64.0.9', ${org!.id})`);
}, 60_000);
afterAll(() => t?.drop());

describe('cluster store', () => {
  it('records the hub key once and refuses another', async () => {
    await checkHubIdentity(t.db, 'PUBKEY-ONE');
    await checkHubIdentity(t.db, 'PUBKEY-ONE');
    await expect(checkHubIdentity(t.db, 'PUBKEY-TWO')).rejects.toBeInstanceOf(HubIdentityError);
  });

  it('a heartbeat renews the lease and reads every node; leaving ends it now', async () => {
    const a = await heartbeat(t.db, { name: 'a', wgEndpoint: 'a:1', clusterUrl: 'http://a:2', startedAt: T0, now: T0, leaseMs: 5000 });
    expect(a).toEqual([{ name: 'a', wgEndpoint: 'a:1', clusterUrl: 'http://a:2', startedAtMs: T0.getTime(), lastSeenAtMs: T0.getTime(), leaseExpiresAtMs: T0.getTime() + 5000 }]);
    const both = await heartbeat(t.db, { name: 'b', wgEndpoint: 'b:1', clusterUrl: null, startedAt: T0, now: at(1000), leaseMs: 5000 });
    expect(both.map((n) => n.name).sort()).toEqual(['a', 'b']);
    await endLease(t.db, 'b', at(2000));
    const after = await heartbeat(t.db, { name: 'a', wgEndpoint: 'a:1', clusterUrl: 'http://a:2', startedAt: T0, now: at(2000), leaseMs: 5000 });
    expect(after.find((n) => n.name === 'b')!.leaseExpiresAtMs).toBe(at(2000).getTime());
  });

  it('a hold moves only to a newer handshake, unless its node is dead', async () => {
    // Leases: a until +7 s, b ended at +2 s (dead from then on); c lives long.
    await heartbeat(t.db, { name: 'c', wgEndpoint: 'c:1', clusterUrl: null, startedAt: T0, now: at(2000), leaseMs: 60_000 });
    expect(await takeHolds(t.db, 'a', [{ publicKey: KEY, handshakeAt: at(100) }], at(2000))).toEqual([{ tunnelIp: '100.64.0.9', node: 'a', heldSinceMs: at(100).getTime() }]);
    // c's session is older than a's: a keeps the device.
    expect(await takeHolds(t.db, 'c', [{ publicKey: KEY, handshakeAt: at(50) }], at(2000))).toEqual([]);
    // A newer one takes it.
    expect(await takeHolds(t.db, 'c', [{ publicKey: KEY, handshakeAt: at(150) }], at(2000))).toHaveLength(1);
    expect((await readHolds(t.db))[0]).toMatchObject({ node: 'c' });
    // Unknown keys write nothing.
    expect(await takeHolds(t.db, 'a', [{ publicKey: `${'Z'.repeat(43)}=`, handshakeAt: at(9000) }], at(2000))).toEqual([]);
    // Once c's lease lapsed, even an older session elsewhere takes the device.
    expect(await takeHolds(t.db, 'a', [{ publicKey: KEY, handshakeAt: at(10) }], at(120_000))).toHaveLength(1);
    expect(await readHolds(t.db, at(0))).toEqual([{ tunnelIp: '100.64.0.9', node: 'a', heldSinceMs: at(10).getTime() }]);
    expect(await readHolds(t.db, at(11))).toEqual([]);
  });

  it('accepts only well-formed notices', () => {
    expect(parseNotice('{"from":"a","kind":"device","serials":["x"]}')).toEqual({ from: 'a', kind: 'device', serials: ['x'] });
    expect(parseNotice('{"from":"a","kind":"device","serials":[1]}')).toBeUndefined();
    // Tickets are redeemed through the database now: an older node's ticket notice is not taken.
    expect(parseNotice(`{"from":"a","kind":"ticket","hash":"${'A'.repeat(43)}","entry":{"userId":null,"next":"/","serial":"x","singleHost":true,"expiresMs":9e15}}`)).toBeUndefined();
    expect(parseNotice('{"from":"a","kind":"nope"}')).toBeUndefined();
    expect(parseNotice('{"from":"a","kind":"peers"}')).toEqual({ from: 'a', kind: 'peers' });
    expect(parseNotice('{"from":"a","kind":"sessions","ended":[{"nope":1}]}')).toBeUndefined();
    expect(parseNotice('not json')).toBeUndefined();
    expect(parseNotice('null')).toBeUndefined();
  });
});
