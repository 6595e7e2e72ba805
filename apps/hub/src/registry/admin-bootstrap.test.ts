// The admin from PORTHOLE_ADMIN_*: checked before anything is written (a short token no longer leaves
// an account behind), created with its token on an empty database, compared and reported in the log
// when accounts exist, and created or reset by set-admin on any database.
import { describe, expect, it } from 'vitest';
import { type DriverName } from '@porthole/db';
import { probePostgres, tableCounts, type TestDatabase } from '@porthole/db/testing';
import { ValidationError } from '../errors.js';
import { requirementsMet } from '../../../../test/support/requirements.js';
import { createMemoryLogger } from '../ops/logger.js';
import { adminCredentialProblems } from './admin-bootstrap.js';
import { createTestClock, createTestRegistry, useRegistryTestBed, type TestRegistry } from '../testing/registry-test-bed.js';

const pgProblem = await probePostgres();
const drivers: DriverName[] = requirementsMet('admin bootstrap on PostgreSQL', { check: () => pgProblem }) ? ['pglite', 'postgres'] : ['pglite'];

const PASSWORD = 'a long password for the admin';
const TOKEN = 'ph_api_0123456789abcdefghijklmnopqrstuv';
/** What the README once showed: 27 characters, below the 32 an operator-chosen token needs. */
const SHORT_TOKEN = 'ph_api_change-me-0123456789';

describe('adminCredentialProblems', () => {
  it('names every problem at once and accepts nothing set or a complete, valid set', () => {
    expect(adminCredentialProblems({})).toEqual([]);
    expect(adminCredentialProblems({ adminEmail: 'ops@example.io', adminPassword: PASSWORD, adminToken: TOKEN })).toEqual([]);
    expect(adminCredentialProblems({ adminEmail: 'ops@example.io', adminPassword: 'short', adminToken: SHORT_TOKEN })).toEqual([
      { field: 'adminPassword', message: 'must have at least 10 characters' },
      { field: 'adminToken', message: expect.stringMatching(/^must have at least 32 characters \(has 27\)/) },
    ]);
    expect(adminCredentialProblems({ adminToken: TOKEN }).map((p) => p.field)).toEqual(['adminEmail', 'adminPassword']);
    expect(adminCredentialProblems({ adminEmail: 'ops@example.io' })).toEqual([{ field: 'adminPassword', message: 'must be set with PORTHOLE_ADMIN_EMAIL' }]);
    expect(adminCredentialProblems({ adminEmail: 'ops@example.io', adminPassword: PASSWORD, adminToken: `${TOKEN} x` })).toEqual([
      { field: 'adminToken', message: 'must be printable ASCII without spaces' },
    ]);
    expect(adminCredentialProblems({ adminEmail: 'оps@example.io', adminPassword: PASSWORD })[0]).toMatchObject({ field: 'adminEmail' });
  });
});

describe.each(drivers)('the admin from PORTHOLE_ADMIN_* on %s', (driver) => {
  let t: TestDatabase;
  const clock = createTestClock();
  let registry: TestRegistry;
  useRegistryTestBed(driver, clock, (db, r) => {
    t = db;
    registry = r;
  });
  const withLog = () => {
    const logger = createMemoryLogger();
    return { logger, registry: createTestRegistry(t.db, clock, { logger }) };
  };

  it('writes nothing when a value is invalid, so a corrected restart creates the admin and its token', async () => {
    const before = await tableCounts(t.db);
    const err = await registry.bootstrapAdmin({ adminEmail: 'admin@example.com', adminPassword: PASSWORD, adminToken: SHORT_TOKEN }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toMatch(/^PORTHOLE_ADMIN_TOKEN must have at least 32 characters/);
    expect(await tableCounts(t.db)).toEqual(before);

    const admin = await registry.bootstrapAdmin({ adminEmail: 'admin@example.com', adminPassword: PASSWORD, adminToken: TOKEN });
    expect(admin).toMatchObject({ email: 'admin@example.com', role: 'admin' });
    expect(await registry.authenticateApiToken(TOKEN)).toMatchObject({ user: { id: admin!.id }, scopes: ['read', 'write'] });
    await expect(registry.login({ email: 'admin@example.com', password: PASSWORD, clientIp: null })).resolves.toMatchObject({ user: { role: 'admin' } });
  });

  it('says in the log why the variables were ignored once accounts exist, and what differs', async () => {
    await registry.bootstrapAdmin({ adminEmail: 'admin@example.com', adminPassword: PASSWORD, adminToken: TOKEN });
    const before = await tableCounts(t.db);

    const other = withLog();
    expect(await other.registry.bootstrapAdmin({ adminEmail: 'admin@example.com', adminPassword: 'another long password', adminToken: `${TOKEN}xyz` })).toBeUndefined();
    const warning = other.logger.lines.find((l) => l.level === 'warn');
    expect(String(warning?.msg)).toMatch(/were ignored: this database has accounts already/);
    expect(String(warning?.msg)).toContain('its password is not PORTHOLE_ADMIN_PASSWORD');
    expect(String(warning?.msg)).toContain('PORTHOLE_ADMIN_TOKEN is not a token of that account');
    expect(String(warning?.msg)).toContain('npm start -- set-admin');
    expect(JSON.stringify(other.logger.lines)).not.toContain('another long password');

    const same = withLog();
    await same.registry.bootstrapAdmin({ adminEmail: 'Admin@Example.com', adminPassword: PASSWORD, adminToken: TOKEN });
    expect(same.logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
    expect(same.logger.lines.map((l) => l.msg)).toContain('the admin account of PORTHOLE_ADMIN_EMAIL exists as configured');
    expect(await tableCounts(t.db)).toEqual(before);
  });

  it('warns that no admin exists only when none does', async () => {
    const empty = withLog();
    await empty.registry.bootstrapAdmin({});
    expect(empty.logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([expect.stringMatching(/^no admin account exists/)]);

    await registry.bootstrapAdmin({ adminEmail: 'admin@example.com', adminPassword: PASSWORD });
    const later = withLog();
    await later.registry.bootstrapAdmin({});
    expect(later.logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('set-admin creates an admin beside other accounts, or resets one: password, role, enabled, sessions, token', async () => {
    const user = await registry.signUp({ email: 'first@example.io', password: 'correct horse battery' });
    const created = await registry.setAdmin({ adminEmail: 'ops@example.io', adminPassword: PASSWORD, adminToken: TOKEN });
    expect(created).toMatchObject({ created: true, token: 'added', admin: { email: 'ops@example.io', role: 'admin' } });
    expect(await registry.authenticateApiToken(TOKEN)).toMatchObject({ user: { email: 'ops@example.io' } });

    // An existing user, disabled and signed in: made an enabled admin with the new password, its sessions ended.
    const admin = await registry.signUp({ email: 'boss@example.io', password: 'correct horse battery', role: 'admin' });
    const session = await registry.login({ email: 'first@example.io', password: 'correct horse battery', clientIp: null });
    await registry.disableUser(user.id, admin);
    const reset = await registry.setAdmin({ adminEmail: 'FIRST@example.io', adminPassword: PASSWORD });
    expect(reset).toMatchObject({ created: false, token: 'none', admin: { id: user.id, role: 'admin' } });
    expect(await registry.userForSessionToken(session.session.token)).toBeUndefined();
    await expect(registry.login({ email: 'first@example.io', password: PASSWORD, clientIp: null })).resolves.toMatchObject({ user: { id: user.id, role: 'admin' } });

    // A revoked token of the account is made valid again; another account's token is refused, nothing written.
    const info = (await registry.listApiTokens()).find((i) => i.userId === created.admin.id)!;
    await registry.revokeApiToken(info.id);
    expect(await registry.setAdmin({ adminEmail: 'ops@example.io', adminPassword: PASSWORD, adminToken: TOKEN })).toMatchObject({ token: 'restored' });
    expect(await registry.authenticateApiToken(TOKEN)).toBeDefined();
    const before = await tableCounts(t.db);
    await expect(registry.setAdmin({ adminEmail: 'new@example.io', adminPassword: PASSWORD, adminToken: TOKEN })).rejects.toThrow(/token of another account/);
    expect(await tableCounts(t.db)).toEqual(before);
    expect(await registry.findUserByEmail('new@example.io')).toBeUndefined();

    await expect(registry.setAdmin({ adminEmail: 'ops@example.io' })).rejects.toThrow(/set PORTHOLE_ADMIN_EMAIL and PORTHOLE_ADMIN_PASSWORD/);
  });
});
