// A disabled account reaches nothing, even in the moment between the disable and the deletion of its
// sessions: its portal session cookie is not honoured and it may not access the devices it owns.
import { eq } from 'drizzle-orm';
import { users, devices } from '@porthole/db';
import { describe, expect, it } from 'vitest';
import { testKey, useRegistryTestBed } from '../testing/registry-test-bed.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

const drivers = await databaseDrivers('disabled accounts');

describe.each(drivers)('disabled accounts on %s', (driver) => {
  const bed = useRegistryTestBed(driver);

  it('a session and device access end with the account, even while the session row still exists', async () => {
    const password = 'a long and good password 42';
    const user = await bed.registry.signUp({ email: 'owner@example.io', password });
    const { session } = await bed.registry.login({ email: 'owner@example.io', password, clientIp: '192.0.2.7' });
    const { token } = await bed.registry.createEnrollmentToken({ createdBy: null, maxUses: 1 });
    await bed.registry.registerDevice({ serial: 'an10000001', publicKey: testKey('an10000001'), enrollmentToken: token });
    await bed.t.db.update(devices).set({ ownerId: user.id }).where(eq(devices.serial, 'an10000001'));
    const [device] = await bed.t.db.select({ id: devices.id }).from(devices).where(eq(devices.serial, 'an10000001'));

    expect((await bed.registry.userForSessionToken(session.token))?.id).toBe(user.id);
    expect(await bed.registry.canAccessDevice(user.id, device!.id)).toBe(true);

    // The disable as the first statement of disableUser writes it, before the sessions go.
    await bed.t.db.update(users).set({ disabledAt: bed.clock.now() }).where(eq(users.id, user.id));
    expect(await bed.registry.userForSessionToken(session.token)).toBeUndefined();
    expect(await bed.registry.canAccessDevice(user.id, device!.id)).toBe(false);

    await bed.t.db.update(users).set({ disabledAt: null }).where(eq(users.id, user.id));
    expect((await bed.registry.userForSessionToken(session.token))?.id).toBe(user.id);
    expect(await bed.registry.canAccessDevice(user.id, device!.id)).toBe(true);
  });
});
