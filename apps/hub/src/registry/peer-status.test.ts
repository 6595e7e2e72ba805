// The data plane's status write-back (recordPeerStatus): every field of a batch lands on its own
// row, in the table of the peer's kind, whatever characters the values hold; a null keeps what the
// row had, a batch larger than one statement is written whole, and the columns it writes carry no
// index (HOT updates).
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ORGANIZATION_ID, devices, resultRows } from '@porthole/db';
import { testKey, useRegistryTestBed } from '../testing/registry-test-bed.js';
import { peerStatusUpdate, withKeyedUpdatePlan, type PeerStatus } from './peer-feed.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

const drivers = await databaseDrivers('registry');

describe.each(drivers)('peer status write-back on %s', (driver) => {
  const bed = useRegistryTestBed(driver);

  it('writes each peer its own values (IPv6 and WebSocket endpoints too); a null keeps the old value', async () => {
    const token = (await bed.registry.createEnrollmentToken({ createdBy: null, maxUses: 10 })).token;
    for (const serial of ['w1', 'w2', 'w3']) await bed.registry.registerDevice({ serial, publicKey: testKey(serial), enrollmentToken: token });
    const first = new Date(bed.clock.now().getTime() - 1_000);
    await bed.registry.recordPeerStatus([
      { publicKey: testKey('w1'), lastHandshakeAt: first, endpoint: '[2001:db8::7]:51820', rxBytes: 1, txBytes: 2 },
      { publicKey: testKey('w2'), lastHandshakeAt: null, endpoint: 'ws:"odd,\\name}":8080', rxBytes: 3, txBytes: 4 },
      { publicKey: testKey('w3'), lastHandshakeAt: first, endpoint: null, rxBytes: 2 ** 40, txBytes: 0 },
    ]);
    expect(await bed.registry.getDevice('w1')).toMatchObject({ lastHandshakeAt: first.toISOString(), lastEndpoint: '[2001:db8::7]:51820', rxBytes: 1, txBytes: 2 });
    expect(await bed.registry.getDevice('w2')).toMatchObject({ lastHandshakeAt: null, lastEndpoint: 'ws:"odd,\\name}":8080', rxBytes: 3, txBytes: 4 });
    expect(await bed.registry.getDevice('w3')).toMatchObject({ lastHandshakeAt: first.toISOString(), lastEndpoint: null, rxBytes: 2 ** 40 });

    const later = new Date(bed.clock.now().getTime());
    await bed.registry.recordPeerStatus([
      { publicKey: testKey('w1'), lastHandshakeAt: null, endpoint: null, rxBytes: 10, txBytes: 20 },
      { publicKey: testKey('w3'), lastHandshakeAt: later, endpoint: '198.51.100.3:1', rxBytes: 5, txBytes: 6 },
    ]);
    expect(await bed.registry.getDevice('w1')).toMatchObject({ lastHandshakeAt: first.toISOString(), lastEndpoint: '[2001:db8::7]:51820', rxBytes: 10, txBytes: 20 });
    expect(await bed.registry.getDevice('w3')).toMatchObject({ lastHandshakeAt: later.toISOString(), lastEndpoint: '198.51.100.3:1', rxBytes: 5 });
  });

  it('writes a status named as a device or an admin peer to that table only, and one of no kind to whichever holds the key', async () => {
    const token = (await bed.registry.createEnrollmentToken({ createdBy: null, maxUses: 2 })).token;
    await bed.registry.registerDevice({ serial: 'k1', publicKey: testKey('k1'), enrollmentToken: token });
    await bed.registry.createAdminPeer({ name: 'k-laptop', publicKey: testKey('k-laptop') });
    const at = new Date(bed.clock.now().getTime() - 1_000);
    const adminRow = async () => (await bed.registry.listAdminPeers()).find((p) => p.name === 'k-laptop')!;
    // A status sent to the wrong table changes nothing.
    await bed.registry.recordPeerStatus([
      { publicKey: testKey('k1'), kind: 'admin', lastHandshakeAt: at, endpoint: '198.51.100.1:1', rxBytes: 1, txBytes: 1 },
      { publicKey: testKey('k-laptop'), kind: 'device', lastHandshakeAt: at, endpoint: '198.51.100.2:1', rxBytes: 1, txBytes: 1 },
    ]);
    expect(await bed.registry.getDevice('k1')).toMatchObject({ lastHandshakeAt: null, lastEndpoint: null });
    expect(await adminRow()).toMatchObject({ lastHandshakeAt: null, lastEndpoint: null });
    await bed.registry.recordPeerStatus([
      { publicKey: testKey('k1'), kind: 'device', lastHandshakeAt: at, endpoint: '198.51.100.1:1', rxBytes: 1, txBytes: 1 },
      { publicKey: testKey('k-laptop'), kind: 'admin', lastHandshakeAt: at, endpoint: '198.51.100.2:1', rxBytes: 1, txBytes: 1 },
    ]);
    expect(await bed.registry.getDevice('k1')).toMatchObject({ lastHandshakeAt: at.toISOString(), lastEndpoint: '198.51.100.1:1' });
    expect(await adminRow()).toMatchObject({ lastHandshakeAt: at.toISOString(), lastEndpoint: '198.51.100.2:1' });
    await bed.registry.recordPeerStatus([{ publicKey: testKey('k-laptop'), lastHandshakeAt: null, endpoint: '198.51.100.3:1', rxBytes: 2, txBytes: 2 }]);
    expect(await adminRow()).toMatchObject({ lastEndpoint: '198.51.100.3:1' });
  });

  it('writes a batch of more peers than one statement carries', async () => {
    const token = (await bed.registry.createEnrollmentToken({ createdBy: null, maxUses: 2 })).token;
    await bed.registry.registerDevice({ serial: 'b1', publicKey: testKey('b1'), enrollmentToken: token });
    await bed.registry.registerDevice({ serial: 'b2', publicKey: testKey('b2'), enrollmentToken: token });
    const at = new Date(bed.clock.now().getTime() - 5_000);
    // 5,000 unknown keys between the two devices: the second lands in the second statement.
    const filler = Array.from({ length: 5_000 }, (_, i) => ({ publicKey: testKey(`unknown${i}`), lastHandshakeAt: at, endpoint: null, rxBytes: 0, txBytes: 0 }));
    await bed.registry.recordPeerStatus([
      { publicKey: testKey('b1'), lastHandshakeAt: at, endpoint: '198.51.100.1:1', rxBytes: 7, txBytes: 7 },
      ...filler,
      { publicKey: testKey('b2'), lastHandshakeAt: at, endpoint: '198.51.100.2:2', rxBytes: 8, txBytes: 8 },
    ]);
    expect(await bed.registry.getDevice('b1')).toMatchObject({ lastEndpoint: '198.51.100.1:1', rxBytes: 7, online: true });
    expect(await bed.registry.getDevice('b2')).toMatchObject({ lastEndpoint: '198.51.100.2:2', rxBytes: 8, online: true });
  });

  it('writes only columns no index of devices covers, on pages with room, so each rekey is a HOT update', async () => {
    // An index on any written column (a devices_last_handshake_idx, say) would put a new entry in
    // every index of the table on each of ~230 rekeys/s at 30,000 devices.
    const indexed = resultRows<{ index: string; column: string }>(
      await bed.t.db.execute(sql`
        select i.indexrelid::regclass::text as index, a.attname as column
        from pg_index i join pg_attribute a on a.attrelid = i.indrelid and (a.attnum = any(i.indkey) or pg_get_indexdef(i.indexrelid) like '%' || a.attname || '%')
        where i.indrelid = 'devices'::regclass and a.attname in ('last_handshake_at', 'last_endpoint', 'rx_bytes', 'tx_bytes')`),
    );
    expect(indexed).toEqual([]);
    const [table] = resultRows<{ options: string[] | null }>(await bed.t.db.execute(sql`select reloptions as options from pg_class where oid = 'devices'::regclass`));
    expect(table?.options).toContain('fillfactor=70');
  });

  it('finds each row it writes through the public key index, not by scanning every device', async () => {
    // A flush carries the peers that rekeyed since the last one, ~1/12 of an online fleet. Hashing
    // the whole table for it (the planner's own choice on PGlite at 2,000 devices and at 30,000)
    // costs each flush a pass over every device.
    const keys = Array.from({ length: 3_000 }, (_, i) => testKey(`fleet${i}`));
    await bed.t.db.execute(sql`
      insert into devices (organization_id, serial, public_key, tunnel_ip, status)
      select ${DEFAULT_ORGANIZATION_ID}::uuid, 'fl' || lpad(t.i::text, 8, '0'), t.k, '100.70.0.0'::inet + t.i, 'enabled'
      from unnest(string_to_array(${keys.join(',')}, ',')) with ordinality as t(k, i)`);
    await bed.t.db.execute(sql`analyze devices`);
    const at = new Date(bed.clock.now().getTime() - 1_000);
    const batch: PeerStatus[] = keys.slice(0, 250).map((publicKey, i) => ({ publicKey, kind: 'device', lastHandshakeAt: at, endpoint: `198.51.100.9:${i + 1}`, rxBytes: i, txBytes: i }));
    const plan = resultRows<{ 'QUERY PLAN': string }>(
      await withKeyedUpdatePlan(bed.t.db, (tx) => tx.execute(sql`explain (costs off) ${peerStatusUpdate(devices, batch)}`)),
    ).map((row) => row['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/Index Scan using devices_public_key_unique on devices t/);
    expect(plan).not.toMatch(/Seq Scan on devices/);
    // And the real write lands.
    await bed.registry.recordPeerStatus(batch);
    const [row] = resultRows<{ n: number }>(await bed.t.db.execute(sql`select count(*)::int as n from devices where last_endpoint like '198.51.100.9:%'`));
    expect(row?.n).toBe(250);
  });
});
