// Login throttling on both drivers: guesses slow down per account and address with doubling waits,
// an address without failures still gets in however many guesses come from elsewhere (the old
// per-account bucket locked the owner out), a per-address budget across accounts, parallel
// guesses counted before they are checked, and counters kept hashed in `throttles`, pruned.
import { describe, expect, it } from 'vitest';
import { throttles } from '@porthole/db';
import { RateLimitedError, UnauthorizedError } from '../errors.js';
import { createTestRegistry, useRegistryTestBed, type TestRegistry } from '../testing/registry-test-bed.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

const drivers = await databaseDrivers('login throttle');

const PASSWORD = 'correct horse battery';
const OWNER = 'owner@example.io';

describe.each(drivers)('login throttle on %s', (driver) => {
  const bed = useRegistryTestBed(driver);
  const attempt = (r: TestRegistry, password: string, clientIp: string, email = OWNER) =>
    r.login({ email, password, clientIp }).then(
      () => 'ok' as const,
      (err: unknown) => err as Error,
    );

  it('answers an unknown account and a wrong password alike', async () => {
    await bed.registry.signUp({ email: OWNER, password: PASSWORD });
    const wrong = await attempt(bed.registry, 'wrong password!', '192.0.2.1');
    const unknown = await attempt(bed.registry, 'wrong password!', '192.0.2.1', 'nobody@example.io');
    expect(wrong).toBeInstanceOf(UnauthorizedError);
    expect(unknown).toBeInstanceOf(UnauthorizedError);
    expect((wrong as Error).message).toBe((unknown as Error).message);
    // A NUL byte (PostgreSQL refuses it in text) is just an unknown account, on both drivers.
    expect(await attempt(bed.registry, PASSWORD, '192.0.2.1', 'owner\u0000@example.io')).toBeInstanceOf(UnauthorizedError);
  });

  it('does not lock the owner out while others guess from many addresses', async () => {
    await bed.registry.signUp({ email: OWNER, password: PASSWORD });
    // 60 wrong guesses from 15 addresses (4 each): under the old per-account bucket the owner was locked out.
    const results = [];
    for (let i = 0; i < 60; i++) results.push(await attempt(bed.registry, `wrong ${i}`, `198.51.100.${i % 15}`));
    // 20 free failures on the account and one more; then the guessing addresses wait.
    expect(results.filter((r) => r instanceof UnauthorizedError)).toHaveLength(21);
    expect(results.filter((r) => r instanceof RateLimitedError)).toHaveLength(39);
    // The owner, from an address without failures, gets in at once.
    expect(await attempt(bed.registry, PASSWORD, '203.0.113.9')).toBe('ok');
    // The owner's success cleared the account-wide failures (not the guessing addresses' own).
    expect(await attempt(bed.registry, 'wrong again', '198.51.100.3')).toBeInstanceOf(UnauthorizedError);
  });

  it('holds back addresses that failed on an account once the account has many failures, never a clean one', async () => {
    const r = createTestRegistry(bed.t.db, bed.clock, { loginThrottle: { account: { free: 4 }, pair: { free: 3 } } });
    await r.signUp({ email: OWNER, password: PASSWORD });
    for (let i = 0; i < 5; i++) expect(await attempt(r, 'wrong', `198.51.100.${i}`)).toBeInstanceOf(UnauthorizedError);
    // Five failures > four free: an address that already failed here waits…
    const held = await attempt(r, PASSWORD, '198.51.100.0');
    expect(held).toBeInstanceOf(RateLimitedError);
    expect((held as RateLimitedError).retryAfterSeconds).toBeCloseTo(1, 1);
    // …an address without failures on this account does not, even with the right password first try.
    expect(await attempt(r, PASSWORD, '203.0.113.7')).toBe('ok');
  });

  it('slows one address guessing one account with doubling waits, the right password included', async () => {
    await bed.registry.signUp({ email: OWNER, password: PASSWORD });
    const ip = '192.0.2.66';
    for (let i = 0; i < 6; i++) expect(await attempt(bed.registry, `wrong ${i}`, ip)).toBeInstanceOf(UnauthorizedError);
    const waits: number[] = [];
    for (let round = 0; round < 4; round++) {
      const held = await attempt(bed.registry, PASSWORD, ip); // no password oracle while held back
      expect(held).toBeInstanceOf(RateLimitedError);
      const seconds = (held as RateLimitedError).retryAfterSeconds;
      waits.push(Math.round(seconds));
      bed.clock.advance(seconds * 1000);
      expect(await attempt(bed.registry, `wrong again ${round}`, ip)).toBeInstanceOf(UnauthorizedError);
    }
    expect(waits).toEqual([1, 2, 4, 8]);
    expect(await attempt(bed.registry, PASSWORD, '192.0.2.67')).toBe('ok'); // another address is untouched
    bed.clock.advance(16_000);
    expect(await attempt(bed.registry, PASSWORD, ip)).toBe('ok');
    // Success forgot the pair's failures: five free ones again.
    for (let i = 0; i < 5; i++) expect(await attempt(bed.registry, `wrong ${i}`, ip)).toBeInstanceOf(UnauthorizedError);
  });

  it('budgets failures per address across accounts, per window; successes do not spend it', async () => {
    const r = createTestRegistry(bed.t.db, bed.clock, { loginThrottle: { address: { budget: 4, windowMs: 3600_000 } } });
    await r.signUp({ email: OWNER, password: PASSWORD });
    const ip = '192.0.2.50';
    expect(await attempt(r, PASSWORD, ip)).toBe('ok');
    for (let i = 0; i < 4; i++) expect(await attempt(r, 'whatever123', ip, `u${i}@example.io`)).toBeInstanceOf(UnauthorizedError);
    const held = await attempt(r, 'whatever123', ip, 'u9@example.io');
    expect(held).toBeInstanceOf(RateLimitedError);
    expect((held as RateLimitedError).retryAfterSeconds).toBeCloseTo(3600, -1);
    expect(await attempt(r, 'whatever123', '192.0.2.51', 'u9@example.io')).toBeInstanceOf(UnauthorizedError);
    bed.clock.advance(3600_000);
    expect(await attempt(r, PASSWORD, ip)).toBe('ok');
  });

  it('counts parallel guesses before checking them: a burst gets no more tries than a sequence', async () => {
    await bed.registry.signUp({ email: OWNER, password: PASSWORD });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(bed.registry, `wrong ${i}`, '192.0.2.99')));
    const checked = results.filter((r) => r instanceof UnauthorizedError).length;
    const held = results.filter((r) => r instanceof RateLimitedError).length;
    expect(checked).toBe(6); // five free, the sixth allowed and starting the first wait
    expect(held).toBe(14);
  });

  it('keeps counters in the throttles table without plaintext, and prunes them when they expire', async () => {
    await bed.registry.signUp({ email: OWNER, password: PASSWORD });
    await attempt(bed.registry, 'wrong', '192.0.2.7');
    const rows = await bed.t.db.select().from(throttles);
    expect(rows.map((r) => r.key.split(':')[0]).sort()).toEqual(['login-account', 'login-address', 'login-pair']);
    expect(JSON.stringify(rows)).not.toMatch(/owner|example|192\.0\.2/);
    bed.clock.advance(25 * 3600_000);
    await attempt(bed.registry, 'wrong', '192.0.2.8', 'other@example.io');
    const keys = (await bed.t.db.select().from(throttles)).map((r) => r.key);
    expect(keys).toHaveLength(3); // the first attempt's rows are gone, the new attempt's are there
    expect(keys.some((k) => rows.some((r) => r.key === k))).toBe(false);
  });

  it('counts sign-ups per address in the throttles table when shared: two registries (two cluster nodes) spend one budget', async () => {
    const signUpsFrom = async (registries: TestRegistry[], tag: string) => {
      const results = [];
      for (let i = 0; i < 6; i++) {
        results.push(
          await registries[i % 2]!.signUp({ email: `${tag}${i}@example.io`, password: PASSWORD, clientIp: '192.0.2.77' }).then(
            () => 'ok' as const,
            (err: unknown) => (err instanceof RateLimitedError ? ('limited' as const) : err),
          ),
        );
      }
      return results;
    };
    const shared = { signUpBurst: 3, signUpRefillPerSecond: 1 / 600, sharedSignUpBudget: true };
    const nodes = [createTestRegistry(bed.t.db, bed.clock, { loginThrottle: shared }), createTestRegistry(bed.t.db, bed.clock, { loginThrottle: shared })];
    expect(await signUpsFrom(nodes, 'shared')).toEqual(['ok', 'ok', 'ok', 'limited', 'limited', 'limited']);
    expect(await bed.t.db.select().from(throttles)).toHaveLength(1);
    // In memory (a single node), each registry keeps its own budget: what a cluster must not do.
    const apart = { signUpBurst: 3, signUpRefillPerSecond: 1 / 600 };
    const alone = [createTestRegistry(bed.t.db, bed.clock, { loginThrottle: apart }), createTestRegistry(bed.t.db, bed.clock, { loginThrottle: apart })];
    expect(await signUpsFrom(alone, 'apart')).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
  });
});
