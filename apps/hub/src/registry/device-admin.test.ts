// The portal's registry additions on both drivers: sorted keyset paging compared with a naive sort
// of the same seeded rows (ties and microsecond timestamps included), bulk status changes with
// their peer-set version, device tags, the fleet overview and the fleet-wide access log.
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ORGANIZATION_ID, type PeerChange } from '@porthole/db';
import { snapshotTables } from '@porthole/db/testing';
import { seededRandom } from '@porthole/wireguard/testing';
import { NotFoundError, ValidationError } from '../errors.js';
import type { DeviceSort } from './device-admin.js';
import { testKey, useRegistryTestBed } from '../testing/registry-test-bed.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

const drivers = await databaseDrivers('device admin');

describe.each(drivers)('device admin on %s', (driver) => {
  const bed = useRegistryTestBed(driver);

  async function enroll(...serials: string[]) {
    const { token } = await bed.registry.createEnrollmentToken({ createdBy: null, maxUses: serials.length });
    for (const serial of serials) await bed.registry.registerDevice({ serial, publicKey: testKey(serial), enrollmentToken: token });
  }

  it('pages every sort order exactly like a naive sort of the same rows, at any page size', async () => {
    const seed = Number(process.env.PORTHOLE_TEST_SEED ?? Date.now() % 1_000_000);
    console.log(`device sort seed ${seed} (PORTHOLE_TEST_SEED=${seed} to replay)`);
    const rand = seededRandom(seed);
    const n = 120;
    // A handful of distinct times so ties are common; some with microseconds, some never seen.
    const times = ['2029-12-31 23:59:59.123456+00', '2029-12-31 23:59:59.123457+00', '2029-12-31 23:00:00+00', '2029-12-30 10:00:00.5+00'];
    const rows = Array.from({ length: n }, (_, i) => {
      const r = rand();
      return {
        serial: `s${String(Math.floor(rand() * 1e6)).padStart(6, '0')}x${i}`,
        seen: r < 0.25 ? null : times[Math.floor(rand() * times.length)]!,
        status: rand() < 0.3 ? 'disabled' : 'enabled',
      };
    });
    for (const [i, r] of rows.entries()) {
      await bed.t.db.execute(sql`insert into devices (organization_id, serial, public_key, tunnel_ip, status, last_handshake_at)
        values (${DEFAULT_ORGANIZATION_ID}, ${r.serial}, ${testKey(`sort${i}`)}, ${`100.70.0.${i + 1}`}::inet, ${r.status}, ${r.seen}::timestamptz)`);
    }
    const micros = (s: string) => {
      const m = /^(.{19})(?:\.(\d+))?\+00$/.exec(s)!;
      return Date.parse(`${m[1]!.replace(' ', 'T')}Z`) * 1000 + Number((m[2] ?? '').padEnd(6, '0'));
    };
    const naive: Record<DeviceSort, (f: (typeof rows)[number][]) => string[]> = {
      serial: (f) => f.map((r) => r.serial).sort(),
      '-serial': (f) => f.map((r) => r.serial).sort().reverse(),
      '-lastSeen': (f) =>
        [...f]
          .sort((a, b) => {
            if (a.seen === null || b.seen === null) return a.seen === b.seen ? (a.serial < b.serial ? -1 : 1) : a.seen === null ? 1 : -1;
            return micros(b.seen) - micros(a.seen) || (a.serial < b.serial ? -1 : 1);
          })
          .map((r) => r.serial),
    };
    for (const sort of ['serial', '-serial', '-lastSeen'] as const) {
      for (const [filter, keep] of [
        [{}, () => true],
        [{ status: 'disabled' as const }, (r: (typeof rows)[number]) => r.status === 'disabled'],
      ] as const) {
        const limit = 1 + Math.floor(rand() * 17);
        const got: string[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 200; pages++) {
          const page = await bed.registry.searchDevices({ ...filter, sort, limit, ...(cursor ? { cursor } : {}) });
          expect(page.devices.length).toBeLessThanOrEqual(limit);
          got.push(...page.devices.map((d) => d.serial));
          if (!page.nextCursor) break;
          cursor = page.nextCursor;
        }
        expect(got, `${sort} ${JSON.stringify(filter)} limit ${limit}`).toEqual(naive[sort](rows.filter(keep)));
      }
    }
  });

  it('refuses a cursor of another sort order or a forged one', async () => {
    await enroll('an1', 'an2', 'an3');
    const page = await bed.registry.searchDevices({ sort: 'serial', limit: 1 });
    expect(page.nextCursor).not.toBeNull();
    await expect(bed.registry.searchDevices({ sort: '-serial', cursor: page.nextCursor! })).rejects.toThrow(ValidationError);
    await expect(bed.registry.searchDevices({ sort: '-lastSeen', cursor: Buffer.from('-lastSeen|h|now()|an1').toString('base64url') })).rejects.toThrow(ValidationError);
    await expect(bed.registry.searchDevices({ sort: 'bogus' as DeviceSort })).rejects.toThrow(/sort must be one of/);
  });

  it('disables and enables many devices in one transaction with one peer-set version', async () => {
    await enroll('an1', 'an2', 'an3', 'an4');
    await bed.registry.setDeviceStatus('an4', 'disabled');
    const seen: PeerChange[][] = [];
    bed.registry.onChange((c) => seen.push(c));
    expect(await bed.registry.setDevicesStatus(['AN2', 'an1', 'an4', 'an1'], 'disabled')).toEqual(['an1', 'an2']);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.map((c) => [c.name, c.op])).toEqual([['an2', 'remove'], ['an1', 'remove']].sort());
    expect(new Set(seen[0]!.map((c) => c.version)).size).toBe(1);
    expect((await bed.registry.listDevices({ status: 'disabled' })).devices.map((d) => d.serial)).toEqual(['an1', 'an2', 'an4']);
    expect((await bed.registry.listPeers()).peers.map((p) => p.name).sort()).toEqual(['an3']);

    const before = await snapshotTables(bed.t.db);
    await expect(bed.registry.setDevicesStatus(['an3', 'an404'], 'disabled')).rejects.toThrow(NotFoundError);
    await expect(bed.registry.setDevicesStatus([], 'disabled')).rejects.toThrow(ValidationError);
    await expect(bed.registry.setDevicesStatus(['-bad-'], 'disabled')).rejects.toThrow(ValidationError);
    expect(await snapshotTables(bed.t.db)).toEqual(before);

    expect(await bed.registry.setDevicesStatus(['an1', 'an3'], 'enabled')).toEqual(['an1']);
    expect((await bed.registry.listPeers()).peers.map((p) => p.name).sort()).toEqual(['an1', 'an3']);
  });

  it('replaces device tags with normalised ones', async () => {
    await enroll('an1');
    expect(await bed.registry.setDeviceTags('an1', ['Roof', 'berlin', 'roof'])).toEqual(['berlin', 'roof']);
    expect((await bed.registry.getDevice('an1')).tags).toEqual(['berlin', 'roof']);
    expect((await bed.registry.listDevices({ tag: 'roof' })).devices).toHaveLength(1);
    expect(await bed.registry.setDeviceTags('an1', [])).toEqual([]);
    await expect(bed.registry.setDeviceTags('an1', ['no spaces'])).rejects.toThrow(/tag "no spaces"/);
    await expect(bed.registry.setDeviceTags('an404', ['x'])).rejects.toThrow(NotFoundError);
  });

  it('derives the overview from handshake times and access-log rows', async () => {
    await enroll('an1', 'an2', 'an3', 'an4');
    await bed.registry.setDeviceStatus('an4', 'disabled');
    const now = bed.clock.now().getTime();
    const at = (ms: number) => new Date(now - ms);
    await bed.registry.recordPeerStatus([
      { publicKey: testKey('an1'), lastHandshakeAt: at(10_000), endpoint: '192.0.2.1:1', rxBytes: 1, txBytes: 2 },
      { publicKey: testKey('an2'), lastHandshakeAt: at(120_000), endpoint: '192.0.2.2:1', rxBytes: 1, txBytes: 2 },
      { publicKey: testKey('an3'), lastHandshakeAt: at(400_000), endpoint: '192.0.2.3:1', rxBytes: 1, txBytes: 2 },
    ]);
    const entry = (ms: number, serial = 'an1') => ({ at: at(ms), serial, userId: null, clientIp: '198.51.100.1', method: 'GET', path: '/', status: 200, bytesIn: 0, bytesOut: 10, durationMs: 3 });
    await bed.registry.appendAccessLog([entry(1_000), entry(59_000), entry(61_000), entry(125_000), entry(20 * 60_000)]);
    const o = await bed.registry.fleetOverview(5);
    expect(o.devices).toEqual({ total: 4, enabled: 3, disabled: 1, online: 2, neverSeen: 1 });
    expect(o.handshakesLastMinute).toBe(1);
    expect(o.requestsLastMinute).toBe(2);
    // The clock sits on a minute boundary: the current minute holds nothing yet, earlier ones the rest.
    expect(o.requestsPerMinute.map((m) => m.requests)).toEqual([0, 1, 1, 2, 0]);
    expect(o.requestsPerMinute.at(-1)!.minute).toBe('2030-01-01T00:00:00.000Z');
    expect(o.adminPeers).toBe(0);
  });

  it('searches the access log of one device or all, newest first, with e-mail addresses and a cursor', async () => {
    const user = await bed.registry.signUp({ email: 'visitor@example.io', password: 'correct horse battery' });
    const base = bed.clock.now().getTime();
    const entries = Array.from({ length: 7 }, (_, i) => ({
      at: new Date(base - (i % 3) * 1000), serial: i % 2 ? 'an1' : 'an2', userId: i === 0 ? user.id : null,
      clientIp: '198.51.100.1', method: 'GET', path: `/p${i}`, status: 200, bytesIn: 0, bytesOut: 1, durationMs: 1,
    }));
    await bed.registry.appendAccessLog(entries);
    const all: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await bed.registry.searchAccessLog({ limit: 2, ...(cursor ? { cursor } : {}) });
      all.push(...page.entries.map((e) => e.path));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    // Newest first; equal times in reverse insertion (id) order.
    expect(all).toEqual(['/p6', '/p3', '/p0', '/p4', '/p1', '/p5', '/p2']);
    const one = await bed.registry.searchAccessLog({ serial: 'AN2', from: new Date(base - 1000) });
    expect(one.entries.map((e) => [e.path, e.email])).toEqual([['/p6', null], ['/p0', 'visitor@example.io'], ['/p4', null]]);
    await expect(bed.registry.searchAccessLog({ from: new Date(base), to: new Date(base - 1) })).rejects.toThrow(/from must not be after to/);
  });

  it("files each access-log entry under the organisation it names, else the device's, else the default one", async () => {
    await enroll('an1');
    const named = '7d3c1a2e-0b4f-4c59-9a61-2f0e8d1b5c44';
    const entry = (path: string, serial: string, organizationId?: string) => ({
      at: bed.clock.now(), serial, userId: null, clientIp: '198.51.100.1', method: 'GET', path, status: 200, bytesIn: 0, bytesOut: 1, durationMs: 1,
      ...(organizationId ? { organizationId } : {}),
    });
    await bed.registry.appendAccessLog([entry('/named', 'an1', named), entry('/device', 'an1'), entry('/unknown', 'an404')]);
    const paths = async (serial: string, organizationIds: string[]) => (await bed.registry.queryAccessLog({ serial, organizationIds })).entries.map((e) => e.path);
    expect(await paths('an1', [named])).toEqual(['/named']);
    expect((await bed.registry.getDevice('an1')).organizationId).toBe(DEFAULT_ORGANIZATION_ID);
    expect(await paths('an1', [DEFAULT_ORGANIZATION_ID])).toEqual(['/device']);
    expect(await paths('an404', [DEFAULT_ORGANIZATION_ID])).toEqual(['/unknown']);
  });

  it('keeps every field of a batch whose entries all name their organisation (COPY on the embedded database)', async () => {
    await enroll('an1');
    const user = await bed.registry.signUp({ email: 'copy@example.io', password: 'correct horse battery' });
    const link = '0b8e4f9a-3c1d-4e2b-8f7a-6d5c4b3a2918';
    const at = bed.clock.now();
    const entry = (path: string, userId: string | null, extra: Partial<{ method: string; status: number; bytesIn: number; bytesOut: number; durationMs: number }> = {}) => ({
      at, serial: 'AN1', userId, clientIp: '2001:db8::1', method: 'GET', path, status: 200, bytesIn: 1, bytesOut: 2, durationMs: 3,
      organizationId: DEFAULT_ORGANIZATION_ID, ...extra,
    });
    await bed.registry.appendAccessLog([
      entry('/a\\b?q=\\N', user.id, { method: 'POST', status: 201, bytesIn: 5_000_000_000, bytesOut: 7, durationMs: 12 }),
      entry('/tab\there\nnext', `link:${link}`, { status: 404 }),
      entry('/plain', null, { durationMs: 1e12 }),
    ]);
    const { entries } = await bed.registry.queryAccessLog({ serial: 'an1' });
    const fields = entries.map(({ path, userId, linkId, userEmail, method, status, bytesIn, bytesOut, durationMs, clientIp, serial, organizationId }) => ({
      path, userId, linkId, userEmail, method, status, bytesIn: Number(bytesIn), bytesOut: Number(bytesOut), durationMs, clientIp, serial, organizationId,
    }));
    const common = { clientIp: '2001:db8::1', serial: 'an1', organizationId: DEFAULT_ORGANIZATION_ID };
    // Equal times: newest id first. Control characters are escaped in the log (clean()); backslashes stay.
    expect(fields).toEqual([
      { path: '/plain', userId: null, linkId: null, userEmail: null, method: 'GET', status: 200, bytesIn: 1, bytesOut: 2, durationMs: 2_147_483_647, ...common },
      { path: '/tab\\x09here\\x0anext', userId: null, linkId: link, userEmail: null, method: 'GET', status: 404, bytesIn: 1, bytesOut: 2, durationMs: 3, ...common },
      { path: '/a\\b?q=\\N', userId: user.id, linkId: null, userEmail: 'copy@example.io', method: 'POST', status: 201, bytesIn: 5_000_000_000, bytesOut: 7, durationMs: 12, ...common },
    ]);
    expect(entries.every((e) => e.at === at.toISOString())).toBe(true);
  });
});
