// Registration and tunnel-IP allocation on both drivers: the contract's answers, idempotency, key
// conflicts and rotation, every token failure leaving the database unchanged, and the races
// (200 concurrent registrations → 200 distinct addresses; one single-use token → one device).
import { describe, expect, it } from 'vitest';
import { type PeerChange } from '@porthole/db';
import { tableCounts } from '@porthole/db/testing';
import { parseIpv4Address } from '@porthole/netstack';
import { ConflictError, ForbiddenError, UnauthorizedError, ValidationError } from '../errors.js';
import { createTestClock, createTestRegistry, HUB_PUBLIC_KEY, testKey, useRegistryTestBed } from '../testing/registry-test-bed.js';
import { parseOverlayCidr } from './overlay-pool.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

const drivers = await databaseDrivers('registry');

describe.each(drivers)('registration on %s', (driver) => {
  const bed = useRegistryTestBed(driver);

  const newToken = async (opts: { maxUses?: number; tags?: string[]; expiresInSeconds?: number } = {}) =>
    (await bed.registry.createEnrollmentToken({ createdBy: null, ...opts })).token;

  it('registers a device with the contract body, then answers a repeat idempotently', async () => {
    const token = await newToken({ tags: ['Fleet-A', 'berlin'] });
    const first = await bed.registry.registerDevice({ serial: 'AN12345678', publicKey: testKey(1), enrollmentToken: token, agentVersion: '1.0.0' });
    expect(first.created).toBe(true);
    expect(first.registration).toEqual({
      serial: 'an12345678',
      tunnelIp: '100.64.0.2',
      overlayCidr: '100.64.0.0/10',
      hub: { publicKey: HUB_PUBLIC_KEY, endpoint: 'hub.example.io:51820', tunnelIp: '100.64.0.1' },
      url: 'https://an12345678.example.io/',
      persistentKeepalive: 25,
    });
    // The single-use token that enrolled the device stays good for repeats, which spend nothing.
    const again = await bed.registry.registerDevice({ serial: 'an12345678', publicKey: testKey(1), enrollmentToken: token });
    expect(again).toEqual({ created: false, registration: first.registration });
    const device = await bed.registry.getDevice('an12345678');
    expect(device).toMatchObject({ tags: ['berlin', 'fleet-a'], agentVersion: '1.0.0', status: 'enabled', accessPolicy: 'owners', owner: null });
    const [tokenInfo] = await bed.registry.listEnrollmentTokens();
    expect(tokenInfo).toMatchObject({ uses: 1, maxUses: 1, state: 'used' });
  });

  it('refuses a second key for a serial and a key already used by another serial, changing nothing', async () => {
    const token = await newToken({ maxUses: 10 });
    await bed.registry.registerDevice({ serial: 'an1', publicKey: testKey(1), enrollmentToken: token });
    const before = await tableCounts(bed.t.db);
    const otherKey = await bed.registry.registerDevice({ serial: 'an1', publicKey: testKey(2), enrollmentToken: token }).catch((e: unknown) => e);
    expect(otherKey).toBeInstanceOf(ConflictError);
    expect((otherKey as ConflictError).field).toBe('publicKey');
    expect((otherKey as Error).message).toMatch(/registered with another key/);
    const takenKey = await bed.registry.registerDevice({ serial: 'an2', publicKey: testKey(1), enrollmentToken: token }).catch((e: unknown) => e);
    expect(takenKey).toBeInstanceOf(ConflictError);
    expect((takenKey as Error).message).toBe('publicKey is already registered to another peer');
    expect(await tableCounts(bed.t.db)).toEqual(before);
    expect((await bed.registry.listEnrollmentTokens())[0]!.uses).toBe(1);
  });

  it.each([
    ['unknown', async () => 'ph_enr_' + 'A'.repeat(43), 'enrollmentToken is not valid'],
    ['malformed', async () => 'hello', 'enrollmentToken is not valid'],
    ['expired', async (r: ReturnType<typeof createTestRegistry>, c: ReturnType<typeof createTestClock>) => {
      const { token } = await r.createEnrollmentToken({ createdBy: null, expiresInSeconds: 60 });
      c.advance(60_000);
      return token;
    }, 'enrollmentToken has expired'],
    ['revoked', async (r: ReturnType<typeof createTestRegistry>) => {
      const { token, info } = await r.createEnrollmentToken({ createdBy: null });
      await r.revokeEnrollmentToken(info.id);
      return token;
    }, 'enrollmentToken has been revoked'],
    ['used up', async (r: ReturnType<typeof createTestRegistry>) => {
      const { token } = await r.createEnrollmentToken({ createdBy: null });
      await r.registerDevice({ serial: 'first', publicKey: testKey('first'), enrollmentToken: token });
      return token;
    }, 'enrollmentToken has no uses left'],
  ] as const)('refuses an %s enrollment token with 401 and changes nothing', async (_name, make, message) => {
    const token = await make(bed.registry, bed.clock);
    const before = await tableCounts(bed.t.db);
    const err = await bed.registry.registerDevice({ serial: 'an9', publicKey: testKey(9), enrollmentToken: token }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as UnauthorizedError).message).toBe(message);
    expect((err as UnauthorizedError).field).toBe('enrollmentToken');
    expect(await tableCounts(bed.t.db)).toEqual(before);
  });

  it('refuses bad serials and keys before touching the database', async () => {
    const token = await newToken();
    for (const serial of ['', '-an1', 'an1-', 'an_1', 'a'.repeat(64), 'an1.example', 'ä1']) {
      await expect(bed.registry.registerDevice({ serial, publicKey: testKey(1), enrollmentToken: token })).rejects.toThrow(ValidationError);
    }
    for (const publicKey of ['', 'abc', Buffer.alloc(31).toString('base64'), Buffer.alloc(33, 1).toString('base64'), `${testKey(1).slice(0, 42)}B=`, Buffer.alloc(32).toString('base64')]) {
      const err = await bed.registry.registerDevice({ serial: 'an1', publicKey, enrollmentToken: token }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe('publicKey');
    }
    expect(await tableCounts(bed.t.db)).toMatchObject({ devices: 0 });
  });

  it('refuses a disabled device, and accepts an approved key rotation keeping the address', async () => {
    const token = await newToken({ maxUses: 5 });
    const first = await bed.registry.registerDevice({ serial: 'an1', publicKey: testKey(1), enrollmentToken: token });
    const seen: PeerChange[][] = [];
    bed.registry.onChange((c) => seen.push(c));
    await bed.registry.setDeviceStatus('an1', 'disabled');
    await expect(bed.registry.registerDevice({ serial: 'an1', publicKey: testKey(1), enrollmentToken: token })).rejects.toThrow(ForbiddenError);
    await bed.registry.setDeviceStatus('an1', 'enabled');
    await bed.registry.approveKeyRotation('an1', testKey('new'), null);
    const rotated = await bed.registry.registerDevice({ serial: 'an1', publicKey: testKey('new'), enrollmentToken: token });
    expect(rotated).toEqual({ created: false, registration: first.registration });
    expect((await bed.registry.getDevice('an1')).publicKey).toBe(testKey('new'));
    expect(seen.map((batch) => batch.map((c) => `${c.op} ${c.publicKey === testKey(1) ? 'old' : 'new'}`))).toEqual([
      ['remove old'],
      ['upsert old'],
      ['remove old', 'upsert new'],
    ]);
    // The approval is spent: the old key is now "another key".
    await expect(bed.registry.registerDevice({ serial: 'an1', publicKey: testKey(1), enrollmentToken: token })).rejects.toThrow(ConflictError);
  });

  it('gives 200 concurrent registrations 200 distinct addresses in the pool', async () => {
    const token = await newToken({ maxUses: 200 });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => bed.registry.registerDevice({ serial: `dev${i}`, publicKey: testKey(`c${i}`), enrollmentToken: token })),
    );
    const ips = results.map((r) => r.registration.tunnelIp);
    expect(new Set(ips).size).toBe(200);
    expect(results.every((r) => r.created)).toBe(true);
    const pool = parseOverlayCidr('100.64.0.0/10');
    for (const ip of ips) expect(parseIpv4Address(ip)).toBeGreaterThanOrEqual(parseIpv4Address(pool.firstIp));
    expect(Math.max(...ips.map(parseIpv4Address))).toBe(parseIpv4Address('100.64.0.201')); // dense: no address skipped
    expect((await bed.registry.listEnrollmentTokens())[0]!.uses).toBe(200);
  });

  it('lets exactly one of 50 concurrent registrations spend a single-use token', async () => {
    const token = await newToken({ maxUses: 1 });
    const settled = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => bed.registry.registerDevice({ serial: `race${i}`, publicKey: testKey(`r${i}`), enrollmentToken: token })),
    );
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
    const reasons = settled.flatMap((s) => (s.status === 'rejected' ? [(s.reason as Error).message] : []));
    expect(new Set(reasons)).toEqual(new Set(['enrollmentToken has no uses left']));
    expect(await tableCounts(bed.t.db)).toMatchObject({ devices: 1 });
  });

  it('answers concurrent first registrations of one serial with one device and one address', async () => {
    const token = await newToken({ maxUses: 10 });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => bed.registry.registerDevice({ serial: 'same', publicKey: testKey('same'), enrollmentToken: token })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.registration.tunnelIp))).toEqual(new Set(['100.64.0.2']));
    expect((await bed.registry.listEnrollmentTokens())[0]!.uses).toBe(1);
  });

  it('frees an address only on delete, then reuses the lowest freed one', async () => {
    const token = await newToken({ maxUses: 10 });
    const reg = (s: string) => bed.registry.registerDevice({ serial: s, publicKey: testKey(s), enrollmentToken: token });
    expect((await reg('a')).registration.tunnelIp).toBe('100.64.0.2');
    expect((await reg('b')).registration.tunnelIp).toBe('100.64.0.3');
    expect((await reg('c')).registration.tunnelIp).toBe('100.64.0.4');
    await bed.registry.setDeviceStatus('b', 'disabled'); // disabling keeps the address
    expect((await reg('d')).registration.tunnelIp).toBe('100.64.0.5');
    await bed.registry.deleteDevice('c');
    await bed.registry.deleteDevice('b');
    expect((await reg('e')).registration.tunnelIp).toBe('100.64.0.3');
    expect((await reg('f')).registration.tunnelIp).toBe('100.64.0.4');
    expect((await reg('g')).registration.tunnelIp).toBe('100.64.0.6');
  });

  it('reports an exhausted pool as a conflict', async () => {
    const small = createTestRegistry(bed.t.db, bed.clock, { overlayCidr: '10.9.0.0/29' });
    const { token } = await small.createEnrollmentToken({ createdBy: null, maxUses: 10 });
    const ips: string[] = [];
    for (let i = 0; i < 5; i++) ips.push((await small.registerDevice({ serial: `s${i}`, publicKey: testKey(`s${i}`), enrollmentToken: token })).registration.tunnelIp);
    expect(ips).toEqual(['10.9.0.2', '10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6']);
    const err = await small.registerDevice({ serial: 's5', publicKey: testKey('s5'), enrollmentToken: token }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toMatch(/10\.9\.0\.0\/29 is exhausted/);
    expect((await small.listEnrollmentTokens())[0]!.uses).toBe(5); // the failed attempt's use rolled back
  });

  it('feeds the data plane: peer set, ordered changes, status write-back', async () => {
    const token = await newToken({ maxUses: 10 });
    const v0 = (await bed.registry.listPeers()).version;
    await bed.registry.registerDevice({ serial: 'p1', publicKey: testKey('p1'), enrollmentToken: token });
    await bed.registry.registerDevice({ serial: 'p2', publicKey: testKey('p2'), enrollmentToken: token });
    const admin = await bed.registry.createAdminPeer({ name: 'laptop', publicKey: testKey('laptop') });
    expect(admin.peer.tunnelIp).toBe('100.64.0.4');
    await bed.registry.setDeviceStatus('p1', 'disabled');
    const set = await bed.registry.listPeers();
    expect(set.peers.map((p) => `${p.kind} ${p.name} ${p.tunnelIp}`).sort()).toEqual(['admin laptop 100.64.0.4', 'device p2 100.64.0.3']);
    const since = await bed.registry.changesSince(v0);
    expect(since.version).toBe(set.version);
    expect(since.changes.map((c) => `${c.op} ${c.name}`)).toEqual(['upsert p1', 'upsert p2', 'upsert laptop', 'remove p1']);
    expect(since.more).toBe(false);
    const paged = await bed.registry.changesSince(v0, 2);
    expect(paged).toMatchObject({ more: true, version: v0 + 2 });
    expect((await bed.registry.changesSince(set.version)).changes).toEqual([]);

    const hs = new Date('2030-01-01T00:00:00.000Z');
    await bed.registry.recordPeerStatus([
      { publicKey: testKey('p2'), lastHandshakeAt: hs, endpoint: '198.51.100.7:40000', rxBytes: 1234, txBytes: 5678 },
      { publicKey: testKey('laptop'), lastHandshakeAt: hs, endpoint: '203.0.113.1:5000', rxBytes: 1, txBytes: 2 },
      { publicKey: testKey('unknown'), lastHandshakeAt: hs, endpoint: null, rxBytes: 0, txBytes: 0 },
    ]);
    expect(await bed.registry.getDevice('p2')).toMatchObject({
      lastHandshakeAt: hs.toISOString(), lastEndpoint: '198.51.100.7:40000', rxBytes: 1234, txBytes: 5678, online: true,
    });
    expect((await bed.registry.listAdminPeers())[0]).toMatchObject({ lastEndpoint: '203.0.113.1:5000' });
    bed.clock.advance(181_000);
    expect((await bed.registry.getDevice('p2')).online).toBe(false);
  });
});
