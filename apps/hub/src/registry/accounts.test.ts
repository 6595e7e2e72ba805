// Accounts, sessions and API tokens on both drivers: password storage parameters, sign-up rules,
// login throttling without enumeration, session expiry and logout, the first-start admin and its
// token, and that only hashes of secrets reach the database.
import { hash } from '@node-rs/argon2';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { apiTokens, sessions, users } from '@porthole/db';
import { tableCounts } from '@porthole/db/testing';
import { ConflictError, ValidationError } from '../errors.js';
import { hashToken } from '../auth/secret-token.js';
import { needsRehash, passwordProblem } from '../auth/passwords.js';
import { SESSION_ABSOLUTE_MS, SESSION_IDLE_MS } from '../auth/sessions.js';
import { useRegistryTestBed } from '../testing/registry-test-bed.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

const drivers = await databaseDrivers('accounts');

describe('password rules', () => {
  it.each([
    ['short', 'a@b.io', /at least 10/],
    ['x'.repeat(257), 'a@b.io', /at most 256/],
    ['Password123', 'a@b.io', /too common/],
    ['aaaaabbbbbaaaaa', 'a@b.io', /too few characters/],
    ['someone@example.io', 'someone@example.io', /e-mail/],
    ['correct horse battery', 'a@b.io', undefined],
  ])('%j for %s', (password, email, expected) => {
    const problem = passwordProblem(password, email);
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatch(expected);
  });
});

describe.each(drivers)('accounts on %s', (driver) => {
  const bed = useRegistryTestBed(driver);

  it('stores Argon2id m=19456 t=2 p=1 hashes and refuses duplicates and weak passwords', async () => {
    const user = await bed.registry.signUp({ email: '  Alice@Example.IO ', password: 'correct horse battery' });
    expect(user).toMatchObject({ email: 'alice@example.io', role: 'user' });
    const [row] = await bed.t.db.select().from(users).where(eq(users.id, user.id));
    expect(row!.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(needsRehash(row!.passwordHash)).toBe(false);
    const before = await tableCounts(bed.t.db);
    const dup = await bed.registry.signUp({ email: 'alice@example.io', password: 'another good one' }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(ConflictError);
    expect((dup as ConflictError).field).toBe('email');
    const weak = await bed.registry.signUp({ email: 'bob@example.io', password: 'password1' }).catch((e: unknown) => e);
    expect(weak).toBeInstanceOf(ValidationError);
    expect((weak as ValidationError).field).toBe('password');
    await expect(bed.registry.signUp({ email: 'not-an-email', password: 'correct horse battery' })).rejects.toThrow(/email must be an e-mail/);
    expect(await tableCounts(bed.t.db)).toEqual(before);
  });

  it('logs in with a fresh session each time, expires idle and old sessions, and logs out server-side', async () => {
    await bed.registry.signUp({ email: 'a@example.io', password: 'correct horse battery' });
    const first = await bed.registry.login({ email: 'A@example.io', password: 'correct horse battery', clientIp: '192.0.2.1' });
    const second = await bed.registry.login({ email: 'a@example.io', password: 'correct horse battery', clientIp: '192.0.2.1' });
    expect(first.session.token).toMatch(/^ph_ses_[A-Za-z0-9_-]{43}$/);
    expect(second.session.token).not.toBe(first.session.token);
    const stored = await bed.t.db.select({ h: sessions.tokenHash }).from(sessions);
    expect(stored.map((s) => s.h).sort()).toEqual([hashToken(first.session.token), hashToken(second.session.token)].sort());
    expect(await bed.registry.userForSessionToken(first.session.token)).toMatchObject({ email: 'a@example.io' });

    await bed.registry.logout(first.session.token);
    expect(await bed.registry.userForSessionToken(first.session.token)).toBeUndefined();

    // Idle: each use within the window keeps it alive; a gap longer than the window ends it.
    for (let i = 0; i < 3; i++) {
      bed.clock.advance(SESSION_IDLE_MS - 60_000);
      expect(await bed.registry.userForSessionToken(second.session.token)).toBeDefined();
    }
    bed.clock.advance(SESSION_IDLE_MS + 1);
    expect(await bed.registry.userForSessionToken(second.session.token)).toBeUndefined();

    // Absolute: even a session in constant use ends.
    const third = await bed.registry.login({ email: 'a@example.io', password: 'correct horse battery', clientIp: null });
    for (let used = 0; used < SESSION_ABSOLUTE_MS; used += SESSION_IDLE_MS / 2) {
      expect(await bed.registry.userForSessionToken(third.session.token)).toBeDefined();
      bed.clock.advance(SESSION_IDLE_MS / 2);
    }
    expect(await bed.registry.userForSessionToken(third.session.token)).toBeUndefined();
    expect(await bed.registry.userForSessionToken('ph_ses_' + 'x'.repeat(43))).toBeUndefined();
    expect(await bed.registry.userForSessionToken('garbage')).toBeUndefined();
  });

  it('rehashes a password stored with older parameters at the next login', async () => {
    const user = await bed.registry.signUp({ email: 'old@example.io', password: 'correct horse battery' });
    const weak = await hash('correct horse battery', { algorithm: 2, memoryCost: 4096, timeCost: 1, parallelism: 1 });
    await bed.t.db.update(users).set({ passwordHash: weak }).where(eq(users.id, user.id));
    await bed.registry.login({ email: 'old@example.io', password: 'correct horse battery', clientIp: null });
    const [row] = await bed.t.db.select().from(users).where(eq(users.id, user.id));
    expect(row!.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('creates the first admin with its API token on an empty database only', async () => {
    const adminToken = 'automation-token-0123456789abcdefghijklmnop';
    const admin = await bed.registry.bootstrapAdmin({ adminEmail: 'root@example.io', adminPassword: 'correct horse battery', adminToken });
    expect(admin).toMatchObject({ email: 'root@example.io', role: 'admin' });
    const principal = await bed.registry.authenticateApiToken(adminToken);
    expect(principal).toMatchObject({ user: { email: 'root@example.io', role: 'admin' }, scopes: ['read', 'write'] });
    const stored = await bed.t.db.select().from(apiTokens);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.tokenHash).toBe(hashToken(adminToken));
    expect(JSON.stringify(stored)).not.toContain(adminToken);
    expect(await bed.registry.bootstrapAdmin({ adminEmail: 'other@example.io', adminPassword: 'correct horse battery' })).toBeUndefined();
    expect(await tableCounts(bed.t.db)).toMatchObject({ users: 1, api_tokens: 1 });
    // Invalid values are refused whether or not accounts exist (admin-bootstrap.test.ts has the rest).
    await expect(bed.registry.bootstrapAdmin({ adminEmail: 'x@example.io', adminPassword: 'correct horse battery', adminToken: 'short' })).rejects.toThrow(ValidationError);
  });

  it('issues, lists, expires and revokes API tokens; last use is recorded at most once a minute', async () => {
    const user = await bed.registry.signUp({ email: 'ops@example.io', password: 'correct horse battery', role: 'admin' });
    const { token, info } = await bed.registry.createApiToken({ userId: user.id, name: 'ci', scopes: ['read'] });
    expect(token).toMatch(/^ph_api_[A-Za-z0-9_-]{43}$/);
    expect(info).toMatchObject({ name: 'ci', scopes: ['read'], displayPrefix: token.slice(0, 11), lastUsedAt: null, revokedAt: null });
    expect(JSON.stringify(await bed.registry.listApiTokens())).not.toContain(token);
    expect(await bed.registry.authenticateApiToken(token)).toMatchObject({ scopes: ['read'], tokenId: info.id });
    const used = (await bed.registry.listApiTokens())[0]!.lastUsedAt;
    expect(used).toBe(bed.clock.now().toISOString());
    bed.clock.advance(30_000);
    await bed.registry.authenticateApiToken(token);
    expect((await bed.registry.listApiTokens())[0]!.lastUsedAt).toBe(used);
    bed.clock.advance(30_000);
    await bed.registry.authenticateApiToken(token);
    expect((await bed.registry.listApiTokens())[0]!.lastUsedAt).toBe(bed.clock.now().toISOString());

    const expiring = await bed.registry.createApiToken({ userId: user.id, name: 'short', scopes: ['write'], expiresInSeconds: 60 });
    bed.clock.advance(60_000);
    expect(await bed.registry.authenticateApiToken(expiring.token)).toBeUndefined();

    expect((await bed.registry.revokeApiToken(info.id)).revokedAt).toBe(bed.clock.now().toISOString());
    expect(await bed.registry.authenticateApiToken(token)).toBeUndefined();
    await expect(bed.registry.createApiToken({ userId: user.id, name: 'x', scopes: [] })).rejects.toThrow(ValidationError);
    await expect(bed.registry.createApiToken({ userId: user.id, name: 'x', scopes: ['root' as 'read'] })).rejects.toThrow(/scopes/);
  });
});
