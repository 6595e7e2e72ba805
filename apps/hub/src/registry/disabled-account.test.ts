// A disabled account reaches nothing, even in the moment between the disable and the deletion of its
// sessions: its portal session cookie is not honoured and it may not access the devices it owns.
import { eq } from 'drizzle-orm';
import { users, devices, type DriverName } from '@porthole/db';
import { probePostgres } from '@porthole/db/testing';
import { describe, expect, it } from 'vitest';
import { requirementsMet } from '../../../../test/support/requirements.js';
import { createTestClock, testKey, useRegistryTestBed, type TestRegistry } from '../testing/registry-test-bed.js';
import type { TestDatabase } from '@porthole/db/testing';

const pgProblem = await probePostgres();
const drivers: DriverName[] = requirementsMet('disabled accounts on PostgreSQL', { check: () => pgProblem }) ? ['pglite', 'postgres'] : ['pglite'];

describe.each(drivers)('disabled accounts on %s', (driver) => {
  const clock = createTestClock();
  let t!: TestDatabase;
  let registry!: TestRegistry;
  useRegistryTestBed(driver, clock, (db, r) => {
    t = db;
    registry = r;
  });

  it('a session and device access end with the account, even while the session row still exists', async () => {
    const password = 'a long and good password 42';
    const user = await registry.signUp({ email: 'owner@example.io', password });
    const { session } = await registry.login({ email: 'owner@example.io', password, clientIp: '192.0.2.7' });
    const { token } = await registry.createEnrollmentToken({ createdBy: null, maxUses: 1 });
    await registry.registerDevice({ serial: 'an10000001', publicKey: testKey('an10000001'), enrollmentToken: token });
    await t.db.update(devices).set({ ownerId: user.id }).where(eq(devices.serial, 'an10000001'));
    const [device] = await t.db.select({ id: devices.id }).from(devices).where(eq(devices.serial, 'an10000001'));

    expect((await registry.userForSessionToken(session.token))?.id).toBe(user.id);
    expect(await registry.canAccessDevice(user.id, device!.id)).toBe(true);

    // The disable as the first statement of disableUser writes it, before the sessions go.
    await t.db.update(users).set({ disabledAt: clock.now() }).where(eq(users.id, user.id));
    expect(await registry.userForSessionToken(session.token)).toBeUndefined();
    expect(await registry.canAccessDevice(user.id, device!.id)).toBe(false);

    await t.db.update(users).set({ disabledAt: null }).where(eq(users.id, user.id));
    expect((await registry.userForSessionToken(session.token))?.id).toBe(user.id);
    expect(await registry.canAccessDevice(user.id, device!.id)).toBe(true);
  });
});
