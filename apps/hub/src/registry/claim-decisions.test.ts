// Claim decisions on both drivers: the approval view names the key an approval replaces and when it
// last connected, admins confirm such a replacement explicitly, a denial carries no return URL, and
// user-code lookups are throttled per user and address (a valid code never lifts a wait).
import { describe, expect, it } from 'vitest';
import { devices } from '@porthole/db';
import { eq } from 'drizzle-orm';
import { keyTag } from '@porthole/wireguard';
import { NotFoundError, RateLimitedError } from '../errors.js';
import { testKey, useRegistryTestBed } from '../testing/registry-test-bed.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

const drivers = await databaseDrivers('claim decisions');
const PASSWORD = 'correct horse battery';

describe.each(drivers)('claim decisions on %s', (driver) => {
  const bed = useRegistryTestBed(driver);

  it('names the key an approval replaces and its last handshake; admins must confirm', async () => {
    const owner = await bed.registry.signUp({ email: 'owner@example.io', password: PASSWORD });
    const admin = await bed.registry.signUp({ email: 'admin@example.io', password: PASSWORD, role: 'admin' });
    const first = await bed.registry.startClaim({ serial: 'an9', publicKey: testKey('genuine') });
    await bed.registry.approveClaim(first.userCode, owner);
    const seen = new Date('2030-01-01T00:00:00.000Z');
    await bed.t.db.update(devices).set({ lastHandshakeAt: seen }).where(eq(devices.serial, 'an9'));

    const phish = await bed.registry.startClaim({ serial: 'an9', publicKey: testKey('phish'), returnUrl: 'https://evil.example/' });
    const view = await bed.registry.viewClaim(phish.userCode, admin);
    expect(view.replacesKey).toEqual({ keyTag: keyTag(testKey('genuine')), lastHandshakeAt: seen.toISOString() });
    expect(view.existingOwner).toBe('someone else');
    const refused = await bed.registry.approveClaim(phish.userCode, admin).catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(new RegExp(`replaces the key of registered device an9 \\(${keyTag(testKey('genuine')).replace(/[()…]/g, '.')}, last handshake 2030-01-01T00:00:00.000Z\\)`));
    expect((await bed.registry.getDevice('an9')).publicKey).toBe(testKey('genuine'));
    // The owner sees the same warning; the same key again replaces nothing.
    expect((await bed.registry.viewClaim(phish.userCode, owner)).replacesKey).not.toBeNull();
    const same = await bed.registry.startClaim({ serial: 'an9', publicKey: testKey('genuine') });
    expect((await bed.registry.viewClaim(same.userCode, owner)).replacesKey).toBeNull();

    const denied = await bed.registry.denyClaim(phish.userCode, admin);
    expect(denied).toEqual({ serial: 'an9' }); // no returnUrl to send the browser to
  });

  it('throttles code lookups per user and address; a valid code gives its count back but lifts no wait', async () => {
    const user = await bed.registry.signUp({ email: 'guesser@example.io', password: PASSWORD });
    const other = await bed.registry.signUp({ email: 'other@example.io', password: PASSWORD });
    const real = await bed.registry.startClaim({ serial: 'an10', publicKey: testKey(10) });
    const actor = { user, clientIp: '198.51.100.4' };
    // A valid lookup between guesses costs nothing.
    expect((await bed.registry.viewClaim(real.userCode, actor)).serial).toBe('an10');
    const guesses: string[] = [];
    for (let i = 0; i < 14; i++) {
      const code = `BCDF-${'GHJK'.slice(0, 3)}${'LMNPQRSTVWXZ'[i % 12]}`;
      const err = await bed.registry.viewClaim(code, actor).catch((e: unknown) => e);
      guesses.push(err instanceof NotFoundError ? 'miss' : err instanceof RateLimitedError ? 'wait' : String(err));
    }
    // Ten free misses, the eleventh starts a 1 s wait.
    expect(guesses).toEqual([...Array(11).fill('miss'), 'wait', 'wait', 'wait']);
    const held = await bed.registry.viewClaim(real.userCode, actor).catch((e: unknown) => e);
    expect(held).toBeInstanceOf(RateLimitedError);
    // The same address is held for another user too; another user elsewhere is not.
    await expect(bed.registry.viewClaim(real.userCode, { user: other, clientIp: '198.51.100.4' })).rejects.toThrow(RateLimitedError);
    expect((await bed.registry.viewClaim(real.userCode, { user: other, clientIp: '198.51.100.5' })).serial).toBe('an10');
    bed.clock.advance(1000);
    expect((await bed.registry.viewClaim(real.userCode, actor)).serial).toBe('an10');
    // Approving and denying count the same way.
    await expect(bed.registry.approveClaim('BCDF-GHJZ', actor)).rejects.toThrow(RateLimitedError);
  });
});
