// Accounts on both drivers, past creation: addresses canonical on entry and found in old and new
// forms, look-alikes refused, sign-up and grants that do not tell which addresses exist, password
// change, and disabling (no login, no API token, every session ended).
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { users } from '@porthole/db';
import { tableCounts } from '@porthole/db/testing';
import { ForbiddenError, UnauthorizedError, ValidationError } from '../errors.js';
import { hashPassword } from '../auth/passwords.js';
import { INVITED_PASSWORD_HASH } from './accounts.js';
import { testKey, useRegistryTestBed } from '../testing/registry-test-bed.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

const drivers = await databaseDrivers('account lifecycle');

const PASSWORD = 'correct horse battery';

describe.each(drivers)('account lifecycle on %s', (driver) => {
  const bed = useRegistryTestBed(driver);
  const ip = '192.0.2.10';

  it('stores addresses canonically and finds rows stored before, in either form', async () => {
    const user = await bed.registry.signUp({ email: '  Anna@Example.IO ', password: PASSWORD });
    expect(user.email).toBe('anna@example.io');
    // NFKC on lookup: a full-width spelling of an existing address reaches that account.
    expect((await bed.registry.login({ email: 'ＡＮＮＡ@example.io', password: PASSWORD, clientIp: ip })).user.id).toBe(user.id);
    // A row from before canonical forms (only lowercased) still logs in as typed.
    const [legacy] = await bed.t.db
      .insert(users)
      .values({ email: 'ｌegacy@example.io', passwordHash: await hashPassword(PASSWORD), role: 'user' })
      .returning();
    expect((await bed.registry.login({ email: 'ｌegacy@Example.io', password: PASSWORD, clientIp: ip })).user.id).toBe(legacy!.id);
    expect((await bed.registry.findUserByEmail(' ｌEGACY@example.io'))?.id).toBe(legacy!.id);
  });

  it('refuses look-alike addresses everywhere one is first named', async () => {
    await bed.registry.signUp({ email: 'paypal@example.io', password: PASSWORD });
    await bed.registry.registerDevice({ serial: 'an1', publicKey: testKey(1), enrollmentToken: (await bed.registry.createEnrollmentToken({ createdBy: null })).token });
    const before = await tableCounts(bed.t.db);
    for (const email of ['pаypal@example.io', 'ｐaypal@example.io', 'pay\u200bpal@example.io']) {
      await expect(bed.registry.signUp({ email, password: PASSWORD })).rejects.toThrow(ValidationError);
      await expect(bed.registry.signUpAndLogIn({ email, password: PASSWORD, clientIp: ip })).rejects.toThrow(ValidationError);
      const grant = await bed.registry.grantAccess('an1', { email }).catch((e: unknown) => e);
      expect(grant).toBeInstanceOf(ValidationError);
      expect((grant as ValidationError).field).toBe('email');
    }
    expect(await tableCounts(bed.t.db)).toEqual(before);
    // The first admin too, on an empty database.
    await bed.t.db.delete(users);
    await expect(bed.registry.bootstrapAdmin({ adminEmail: 'аdmin@example.io', adminPassword: PASSWORD })).rejects.toThrow(/mixes letters of Cyrillic and Latin/);
  });

  it('sign-up for a taken address: its password signs in like a new account; another answers like a failed login', async () => {
    const fresh = await bed.registry.signUpAndLogIn({ email: 'new@example.io', password: PASSWORD, clientIp: ip });
    expect(fresh.session.token).toMatch(/^ph_ses_/);
    const again = await bed.registry.signUpAndLogIn({ email: 'NEW@example.io', password: PASSWORD, clientIp: ip });
    expect(again.user).toEqual(fresh.user);
    expect(Object.keys(again).sort()).toEqual(Object.keys(fresh).sort());
    const before = await tableCounts(bed.t.db);
    const taken = await bed.registry.signUpAndLogIn({ email: 'new@example.io', password: 'some other password', clientIp: ip }).catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(UnauthorizedError);
    expect((taken as UnauthorizedError).message).not.toMatch(/exist|taken|already/);
    const { throttles: _t, ...rest } = await tableCounts(bed.t.db);
    const { throttles: _b, ...restBefore } = before;
    expect(rest).toEqual(restBefore); // no account, no session; only the attempt was counted
  });

  it('grants answer alike with or without an account: an invited account takes the grant until someone signs up', async () => {
    const owner = await bed.registry.signUp({ email: 'owner@example.io', password: PASSWORD });
    await bed.registry.signUp({ email: 'known@example.io', password: PASSWORD });
    await bed.registry.registerDevice({ serial: 'an2', publicKey: testKey(2), enrollmentToken: (await bed.registry.createEnrollmentToken({ createdBy: null })).token });
    const known = await bed.registry.grantAccess('an2', { email: 'Known@example.io', grantedBy: owner.id });
    const unknown = await bed.registry.grantAccess('an2', { email: 'Stranger@example.io', grantedBy: owner.id });
    expect(Object.keys(unknown).sort()).toEqual(Object.keys(known).sort());
    expect(unknown.email).toBe('stranger@example.io');
    // The invited account has no password: nobody logs in with one until the address signs up.
    await expect(bed.registry.login({ email: 'stranger@example.io', password: PASSWORD, clientIp: ip })).rejects.toThrow(UnauthorizedError);
    const [row] = await bed.t.db.select().from(users).where(eq(users.email, 'stranger@example.io'));
    expect(row!.passwordHash).toBe(INVITED_PASSWORD_HASH);
    const signedUp = await bed.registry.signUpAndLogIn({ email: 'stranger@example.io', password: 'stranger password 1', clientIp: ip });
    expect(signedUp.user.id).toBe(unknown.userId);
    const device = await bed.registry.getDevice('an2');
    expect(await bed.registry.canAccessDevice(signedUp.user.id, device.id)).toBe(true);
  });

  it('changes a password after the current one, ending every session and starting a fresh one', async () => {
    const user = await bed.registry.signUp({ email: 'pw@example.io', password: PASSWORD });
    const a = await bed.registry.login({ email: 'pw@example.io', password: PASSWORD, clientIp: ip });
    const b = await bed.registry.login({ email: 'pw@example.io', password: PASSWORD, clientIp: ip });
    const wrong = await bed.registry
      .changePassword({ userId: user.id, currentPassword: 'not it at all', newPassword: 'a new password 42', clientIp: ip })
      .catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(UnauthorizedError);
    expect((wrong as UnauthorizedError).field).toBe('currentPassword');
    await expect(bed.registry.changePassword({ userId: user.id, currentPassword: PASSWORD, newPassword: 'short', clientIp: ip })).rejects.toThrow(/new password/);
    expect(await bed.registry.userForSessionToken(a.session.token)).toBeDefined(); // refusals end nothing

    bed.clock.advance(1000);
    const changed = await bed.registry.changePassword({ userId: user.id, currentPassword: PASSWORD, newPassword: 'a new password 42', clientIp: ip });
    expect(await bed.registry.userForSessionToken(a.session.token)).toBeUndefined();
    expect(await bed.registry.userForSessionToken(b.session.token)).toBeUndefined();
    expect(await bed.registry.userForSessionToken(changed.session.token)).toMatchObject({ id: user.id });
    await expect(bed.registry.login({ email: 'pw@example.io', password: PASSWORD, clientIp: ip })).rejects.toThrow(UnauthorizedError);
    await expect(bed.registry.login({ email: 'pw@example.io', password: 'a new password 42', clientIp: ip })).resolves.toBeDefined();
    expect((await bed.registry.getUser(user.id)).passwordChangedAt).toBe(bed.clock.now().toISOString());
  });

  it('disables an account: no login, no API token, no session; enabling restores login and tokens', async () => {
    const admin = await bed.registry.signUp({ email: 'admin@example.io', password: PASSWORD, role: 'admin' });
    const user = await bed.registry.signUp({ email: 'worker@example.io', password: PASSWORD, role: 'admin' });
    const session = await bed.registry.login({ email: 'worker@example.io', password: PASSWORD, clientIp: ip });
    const { token } = await bed.registry.createApiToken({ userId: user.id, name: 'ci', scopes: ['read'] });
    expect(await bed.registry.authenticateApiToken(token)).toBeDefined();

    await expect(bed.registry.disableUser(admin.id, admin)).rejects.toThrow(ForbiddenError); // not oneself
    const disabled = await bed.registry.disableUser(user.id, admin);
    expect(disabled.disabledAt).toBe(bed.clock.now().toISOString());
    expect(await bed.registry.userForSessionToken(session.session.token)).toBeUndefined();
    expect(await bed.registry.authenticateApiToken(token)).toBeUndefined();
    const refused = await bed.registry.login({ email: 'worker@example.io', password: PASSWORD, clientIp: ip }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ForbiddenError);
    expect((refused as Error).message).toMatch(/disabled/);
    // A wrong password on a disabled account answers like any wrong password.
    await expect(bed.registry.login({ email: 'worker@example.io', password: 'wrong password', clientIp: ip })).rejects.toThrow(UnauthorizedError);
    await expect(bed.registry.signUpAndLogIn({ email: 'worker@example.io', password: PASSWORD, clientIp: ip })).rejects.toThrow(/disabled/);
    expect((await bed.registry.disableUser(user.id, admin)).disabledAt).toBe(disabled.disabledAt); // repeating changes nothing

    expect((await bed.registry.enableUser(user.id, admin)).disabledAt).toBeNull();
    expect(await bed.registry.authenticateApiToken(token)).toBeDefined();
    await expect(bed.registry.login({ email: 'worker@example.io', password: PASSWORD, clientIp: ip })).resolves.toBeDefined();
    await expect(bed.registry.disableUser('not-a-uuid', admin)).rejects.toThrow(/does not exist/);
  });
});

