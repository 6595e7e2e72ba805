// The admin from PORTHOLE_ADMIN_*: checked before anything is written (a short token no longer leaves
// an account behind), created with its token on an empty database, compared and reported in the log
// when accounts exist, and created or reset by set-admin on any database.
import { describe, expect, it } from 'vitest';
import { tableCounts } from '@porthole/db/testing';
import { ValidationError } from '../errors.js';
import { createMemoryLogger } from '../ops/logger.js';
import { adminCredentialProblems } from './admin-bootstrap.js';
import { createTestRegistry, useRegistryTestBed } from '../testing/registry-test-bed.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

const drivers = await databaseDrivers('admin bootstrap');

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
  const bed = useRegistryTestBed(driver);
  const withLog = () => {
    const logger = createMemoryLogger();
    return { logger, registry: createTestRegistry(bed.t.db, bed.clock, { logger }) };
  };

  it('writes nothing when a value is invalid, so a corrected restart creates the admin and its token', async () => {
    const before = await tableCounts(bed.t.db);
    const err = await bed.registry.bootstrapAdmin({ adminEmail: 'admin@example.com', adminPassword: PASSWORD, adminToken: SHORT_TOKEN }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toMatch(/^PORTHOLE_ADMIN_TOKEN must have at least 32 characters/);
    expect(await tableCounts(bed.t.db)).toEqual(before);

    const admin = await bed.registry.bootstrapAdmin({ adminEmail: 'admin@example.com', adminPassword: PASSWORD, adminToken: TOKEN });
    expect(admin).toMatchObject({ email: 'admin@example.com', role: 'admin' });
    expect(await bed.registry.authenticateApiToken(TOKEN)).toMatchObject({ user: { id: admin!.id }, scopes: ['read', 'write'] });
    await expect(bed.registry.login({ email: 'admin@example.com', password: PASSWORD, clientIp: null })).resolves.toMatchObject({ user: { role: 'admin' } });
  });

  it('says in the log why the variables were ignored once accounts exist, and what differs', async () => {
    await bed.registry.bootstrapAdmin({ adminEmail: 'admin@example.com', adminPassword: PASSWORD, adminToken: TOKEN });
    const before = await tableCounts(bed.t.db);

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
    expect(await tableCounts(bed.t.db)).toEqual(before);
  });

  it('warns that no admin exists only when none does', async () => {
    const empty = withLog();
    await empty.registry.bootstrapAdmin({});
    expect(empty.logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([expect.stringMatching(/^no admin account exists/)]);

    await bed.registry.bootstrapAdmin({ adminEmail: 'admin@example.com', adminPassword: PASSWORD });
    const later = withLog();
    await later.registry.bootstrapAdmin({});
    expect(later.logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('set-admin creates an admin beside other accounts, or resets one: password, role, enabled, sessions, token', async () => {
    const user = await bed.registry.signUp({ email: 'first@example.io', password: 'correct horse battery' });
    const created = await bed.registry.setAdmin({ adminEmail: 'ops@example.io', adminPassword: PASSWORD, adminToken: TOKEN });
    expect(created).toMatchObject({ created: true, token: 'added', admin: { email: 'ops@example.io', role: 'admin' } });
    expect(await bed.registry.authenticateApiToken(TOKEN)).toMatchObject({ user: { email: 'ops@example.io' } });

    // An existing user, disabled and signed in: made an enabled admin with the new password, its sessions ended.
    const admin = await bed.registry.signUp({ email: 'boss@example.io', password: 'correct horse battery', role: 'admin' });
    const session = await bed.registry.login({ email: 'first@example.io', password: 'correct horse battery', clientIp: null });
    await bed.registry.disableUser(user.id, admin);
    const reset = await bed.registry.setAdmin({ adminEmail: 'FIRST@example.io', adminPassword: PASSWORD });
    expect(reset).toMatchObject({ created: false, token: 'none', admin: { id: user.id, role: 'admin' } });
    expect(await bed.registry.userForSessionToken(session.session.token)).toBeUndefined();
    await expect(bed.registry.login({ email: 'first@example.io', password: PASSWORD, clientIp: null })).resolves.toMatchObject({ user: { id: user.id, role: 'admin' } });

    // A revoked token of the account is made valid again; another account's token is refused, nothing written.
    const info = (await bed.registry.listApiTokens()).find((i) => i.userId === created.admin.id)!;
    await bed.registry.revokeApiToken(info.id);
    expect(await bed.registry.setAdmin({ adminEmail: 'ops@example.io', adminPassword: PASSWORD, adminToken: TOKEN })).toMatchObject({ token: 'restored' });
    expect(await bed.registry.authenticateApiToken(TOKEN)).toBeDefined();
    const before = await tableCounts(bed.t.db);
    await expect(bed.registry.setAdmin({ adminEmail: 'new@example.io', adminPassword: PASSWORD, adminToken: TOKEN })).rejects.toThrow(/token of another account/);
    expect(await tableCounts(bed.t.db)).toEqual(before);
    expect(await bed.registry.findUserByEmail('new@example.io')).toBeUndefined();

    await expect(bed.registry.setAdmin({ adminEmail: 'ops@example.io' })).rejects.toThrow(/set PORTHOLE_ADMIN_EMAIL and PORTHOLE_ADMIN_PASSWORD/);
  });
});
