// Device sessions in the database on both drivers: stored by hash with an absolute expiry, and ended
// by device-host logout, portal logout, password change or account disable (deleteUserSessions),
// with listeners told only after the deletion committed.
import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { deviceSessions, users } from '@porthole/db';
import type { DeviceSessionsEnded } from './device-sessions.js';
import { testKey, useRegistryTestBed } from '../testing/registry-test-bed.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

const drivers = await databaseDrivers('device sessions');

describe.each(drivers)('device sessions on %s', (driver) => {
  const bed = useRegistryTestBed(driver);

  async function fixture() {
    const alice = await bed.registry.signUp({ email: 'alice@example.io', password: 'correct horse battery' });
    const bob = await bed.registry.signUp({ email: 'bob@example.io', password: 'correct horse battery' });
    const { token } = await bed.registry.createEnrollmentToken({ createdBy: null, maxUses: 2 });
    for (const serial of ['an1', 'an2']) await bed.registry.registerDevice({ serial, publicKey: testKey(serial), enrollmentToken: token });
    const an1 = (await bed.registry.findDeviceBySerial('an1'))!;
    const an2 = (await bed.registry.findDeviceBySerial('an2'))!;
    const ended: DeviceSessionsEnded[] = [];
    bed.registry.onDeviceSessionsEnded((e) => ended.push(e));
    const start = (tokenHash: string, userId: string, device: { id: string; serial: string }, ttlMs = 3_600_000) =>
      bed.registry.createDeviceSession({ tokenHash, userId, deviceId: device.id, serial: device.serial, expiresAt: new Date(bed.clock.now().getTime() + ttlMs), createdIp: '192.0.2.7' });
    return { alice, bob, an1, an2, ended, start };
  }

  it('stores a session by hash and finds it until it expires', async () => {
    const f = await fixture();
    await f.start('hash-a', f.alice.id, f.an1, 60_000);
    expect(await bed.registry.findDeviceSession('hash-a')).toMatchObject({ tokenHash: 'hash-a', userId: f.alice.id, deviceId: f.an1.id, serial: 'an1' });
    const [row] = await bed.t.db.select().from(deviceSessions);
    expect(row).toMatchObject({ tokenHash: 'hash-a', createdIp: '192.0.2.7' });
    bed.clock.advance(60_000);
    expect(await bed.registry.findDeviceSession('hash-a')).toBeUndefined();
    // The next sign-in sweeps expired rows away.
    await f.start('hash-b', f.bob.id, f.an2);
    expect((await bed.t.db.select().from(deviceSessions)).map((r) => r.tokenHash)).toEqual(['hash-b']);
  });

  it('starts no session for a disabled account (a ticket issued just before the disable)', async () => {
    const f = await fixture();
    await bed.t.db.update(users).set({ disabledAt: bed.clock.now() }).where(eq(users.id, f.bob.id));
    expect(await f.start('hash-b', f.bob.id, f.an1)).toBe(false);
    expect(await bed.registry.findDeviceSession('hash-b')).toBeUndefined();
    expect(await f.start('hash-a', f.alice.id, f.an1)).toBe(true);
  });

  it('ends one session on device-host logout and says which', async () => {
    const f = await fixture();
    await f.start('hash-a', f.alice.id, f.an1);
    await f.start('hash-b', f.alice.id, f.an2);
    await bed.registry.deleteDeviceSession('hash-a');
    expect(await bed.registry.findDeviceSession('hash-a')).toBeUndefined();
    expect(await bed.registry.findDeviceSession('hash-b')).toBeDefined();
    expect(f.ended).toEqual([{ tokenHash: 'hash-a' }]);
  });

  it('ends every device session of the user on portal logout, and only theirs', async () => {
    const f = await fixture();
    const login = await bed.registry.login({ email: 'alice@example.io', password: 'correct horse battery', clientIp: null });
    await f.start('hash-a1', f.alice.id, f.an1);
    await f.start('hash-a2', f.alice.id, f.an2);
    await f.start('hash-b1', f.bob.id, f.an1);
    let seenWhenTold: unknown[] = [];
    bed.registry.onDeviceSessionsEnded(() => {
      // Told after the commit: a re-read at this point already misses the rows.
      void bed.registry.findDeviceSession('hash-a1').then((r) => seenWhenTold.push(r));
    });
    await bed.registry.logout(login.session.token);
    expect(await bed.registry.userForSessionToken(login.session.token)).toBeUndefined();
    expect(await bed.registry.findDeviceSession('hash-a1')).toBeUndefined();
    expect(await bed.registry.findDeviceSession('hash-a2')).toBeUndefined();
    expect(await bed.registry.findDeviceSession('hash-b1')).toBeDefined();
    expect(f.ended).toEqual([{ userId: f.alice.id }]);
    await new Promise((r) => setTimeout(r, 50));
    expect(seenWhenTold).toEqual([undefined]);
    seenWhenTold = [];
    // Logging out with a token that is no session any more changes nothing and tells no one.
    await bed.registry.logout(login.session.token);
    expect(f.ended).toHaveLength(1);
  });

  it('ends portal and device sessions together on deleteUserSessions (password change, account disable)', async () => {
    const f = await fixture();
    const login = await bed.registry.login({ email: 'bob@example.io', password: 'correct horse battery', clientIp: null });
    await f.start('hash-b1', f.bob.id, f.an1);
    await f.start('hash-a1', f.alice.id, f.an1);
    await bed.registry.deleteUserSessions(f.bob.id);
    expect(await bed.registry.userForSessionToken(login.session.token)).toBeUndefined();
    expect(await bed.registry.findDeviceSession('hash-b1')).toBeUndefined();
    expect(await bed.registry.findDeviceSession('hash-a1')).toBeDefined();
    expect(f.ended).toEqual([{ userId: f.bob.id }]);
  });

  it('keeps going when a listener throws, and stops telling one that unsubscribed', async () => {
    const f = await fixture();
    const off = bed.registry.onDeviceSessionsEnded(() => {
      throw new Error('listener bug');
    });
    await f.start('hash-a', f.alice.id, f.an1);
    await bed.registry.deleteDeviceSession('hash-a');
    expect(f.ended).toEqual([{ tokenHash: 'hash-a' }]);
    off();
    expect(await bed.registry.deleteUserDeviceSessions(f.alice.id)).toBe(0);
    expect(f.ended).toEqual([{ tokenHash: 'hash-a' }, { userId: f.alice.id }]);
  });
});
