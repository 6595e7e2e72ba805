// The API's account routes and guessing budgets on both drivers: list/disable/enable accounts (a
// disabled admin's token stops at once), grants that answer alike for addresses with and without
// an account, and per-address budgets for refused enrollment tokens and unknown poll tokens.
import { describe, expect, it } from 'vitest';
import { tableCounts, useTestDatabase } from '@porthole/db/testing';
import { testKey } from '../testing/registry-test-bed.js';
import { ADMIN_PASSWORD, ADMIN_TOKEN, createApiHarness } from '../testing/api-harness.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

const drivers = await databaseDrivers('API accounts');

describe.each(drivers)('API accounts on %s', (driver) => {
  const t = useTestDatabase(driver, { emptyEach: true });

  async function harness(limits = {}) {
    const h = await createApiHarness(t.db, { limits });
    const admin = (await h.registry.bootstrapAdmin({ adminEmail: 'admin@example.io', adminPassword: ADMIN_PASSWORD, adminToken: ADMIN_TOKEN }))!;
    const enrollment = await h.registry.createEnrollmentToken({ createdBy: admin.id, maxUses: 10 });
    return { h, admin, enrollment };
  }

  it('lists, disables and enables accounts; a disabled admin’s token stops working at once', async () => {
    const { h } = await harness();
    const ops = await h.registry.signUp({ email: 'ops@example.io', password: ADMIN_PASSWORD, role: 'admin' });
    const { token } = await h.registry.createApiToken({ userId: ops.id, name: 'ops', scopes: ['read', 'write'] });
    expect((await h.request('GET', '/whoami', { token })).status).toBe(200);

    const list = await h.request('GET', '/users');
    expect(h.documented('GET', '/users', list)).toEqual([
      expect.objectContaining({ email: 'admin@example.io', role: 'admin', disabledAt: null, invited: false }),
      expect.objectContaining({ email: 'ops@example.io', id: ops.id }),
    ]);
    expect(JSON.stringify(list.body)).not.toMatch(/argon2|password_?hash/i);

    const disabled = await h.request('POST', `/users/${ops.id}/disable`);
    expect(h.documented('POST', `/users/${ops.id}/disable`, disabled)).toMatchObject({ id: ops.id, disabledAt: h.clock.now().toISOString() });
    const refused = await h.request('GET', '/whoami', { token });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('unauthorized');

    const enabled = await h.request('POST', `/users/${ops.id}/enable`);
    expect(h.documented('POST', `/users/${ops.id}/enable`, enabled)).toMatchObject({ id: ops.id, disabledAt: null });
    expect((await h.request('GET', '/whoami', { token })).status).toBe(200);
  });

  it('grants to an address with and without an account answer alike', async () => {
    const { h, enrollment } = await harness();
    await h.registry.signUp({ email: 'known@example.io', password: ADMIN_PASSWORD });
    await h.request('POST', '/devices/register', { token: null, body: { serial: 'an1', publicKey: testKey(1), enrollmentToken: enrollment.token } });
    const known = await h.request('POST', '/devices/an1/grants', { body: { email: ' Known@Example.io ' } });
    const unknown = await h.request('POST', '/devices/an1/grants', { body: { email: 'Nobody@Example.io' } });
    expect(known.status).toBe(201);
    expect(unknown.status).toBe(201);
    expect(Object.keys(h.documented('POST', '/devices/an1/grants', unknown) as object).sort()).toEqual(Object.keys(known.body).sort());
    expect([known.body.email, unknown.body.email]).toEqual(['known@example.io', 'nobody@example.io']);
  });

  it('budgets refused enrollment tokens per address: then even a good token waits', async () => {
    const { h, enrollment } = await harness({ enrollmentTokenFailures: { capacity: 3, refillPerSecond: 1 / 60 } });
    const register = (enrollmentToken: string, ip = '198.51.100.7', serial = 'an2') =>
      h.request('POST', '/devices/register', { token: null, ip, body: { serial, publicKey: testKey(serial), enrollmentToken } });
    for (let i = 0; i < 3; i++) expect((await register(`ph_enr_${String(i).repeat(43)}`)).status).toBe(401);
    const before = await tableCounts(t.db);
    const held = await register(enrollment.token);
    expect(held.status).toBe(429);
    expect(held.body.error.code).toBe('rate_limited');
    expect(Number(held.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await tableCounts(t.db)).toEqual(before);
    expect((await register(enrollment.token, '198.51.100.8')).status).toBe(201); // another address
    // Successes spend nothing: the same address registers device after device.
    for (let i = 0; i < 5; i++) expect((await register(enrollment.token, '198.51.100.9', `an${10 + i}`)).status).toBe(201);
  });

  it('budgets unknown poll tokens per address', async () => {
    const { h } = await harness({ pollTokenFailures: { capacity: 2, refillPerSecond: 1 / 60 } });
    const poll = (pollToken: string) => h.request('POST', '/claims/poll', { token: null, ip: '198.51.100.20', body: { pollToken } });
    const started = await h.request('POST', '/claims', { token: null, ip: '198.51.100.20', body: { serial: 'an3', publicKey: testKey(3) } });
    expect((await poll(started.body.pollToken)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await poll(`ph_poll_${String(i).repeat(43)}`)).body.error.code).toBe('expired_token');
    const held = await poll(started.body.pollToken);
    expect(held.status).toBe(429);
    expect(held.body.error.code).toBe('rate_limited');
  });
});
