// The claim flow at the service level on both drivers: codes, polling pace, approve/deny, expiry,
// ownership rules for existing serials, re-keying by claim, and the return URL.
import { describe, expect, it } from 'vitest';
import { tableCounts } from '@porthole/db/testing';
import { ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import { AccessDeniedError, ExpiredTokenError, normalizeUserCode, returnUrlWith, SlowDownError } from './claims.js';
import { testKey, useRegistryTestBed } from '../testing/registry-test-bed.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

const drivers = await databaseDrivers('claims');

describe('user codes and return URLs', () => {
  it('normalises what people type', () => {
    expect(normalizeUserCode('bcdf-ghjk')).toBe('BCDFGHJK');
    expect(normalizeUserCode(' BCDF GHJK ')).toBe('BCDFGHJK');
    expect(normalizeUserCode('ABCD-EFGH')).toBeUndefined(); // vowels are not in the alphabet
    expect(normalizeUserCode('BCDF-GHJ')).toBeUndefined();
  });
  it('appends the outcome to the claim return URL', () => {
    expect(returnUrlWith('http://192.168.1.10/remote?x=1', 'approved')).toBe('http://192.168.1.10/remote?x=1&claim=approved');
  });
});

describe.each(drivers)('claims on %s', (driver) => {
  const bed = useRegistryTestBed(driver);

  const owner = () => bed.registry.signUp({ email: 'owner@example.io', password: 'correct horse battery' });

  it('runs start → pending → approve → approved registration, owned by the approver', async () => {
    const user = await owner();
    const start = await bed.registry.startClaim({ serial: 'AN77', publicKey: testKey(77), returnUrl: 'http://192.168.1.10/remote', agentVersion: '2.0' });
    expect(start).toMatchObject({
      verificationUri: 'https://portal.example.io/claim',
      verificationUriComplete: `https://portal.example.io/claim?code=${start.userCode}`,
      expiresIn: 600,
      interval: 2,
    });
    expect(start.userCode).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(start.pollToken).toMatch(/^ph_poll_/);
    expect(await bed.registry.pollClaim(start.pollToken)).toEqual({ status: 'pending' });
    bed.clock.advance(1000);
    await expect(bed.registry.pollClaim(start.pollToken)).rejects.toThrow(SlowDownError);
    expect(await bed.registry.viewClaim(start.userCode.toLowerCase(), user)).toMatchObject({ serial: 'an77', existingOwner: null, returnUrl: 'http://192.168.1.10/remote' });
    expect(await bed.registry.approveClaim(start.userCode, user)).toEqual({ serial: 'an77', returnUrl: 'http://192.168.1.10/remote' });
    bed.clock.advance(2000);
    const done = await bed.registry.pollClaim(start.pollToken);
    expect(done).toEqual({
      status: 'approved',
      registration: expect.objectContaining({ serial: 'an77', tunnelIp: '100.64.0.2', url: 'https://an77.example.io/', persistentKeepalive: 25 }),
    });
    expect(await bed.registry.getDevice('an77')).toMatchObject({ owner: { id: user.id, email: 'owner@example.io' }, agentVersion: '2.0' });
    // A decided code cannot be approved again.
    await expect(bed.registry.approveClaim(start.userCode, user)).rejects.toThrow(NotFoundError);
  });

  it('reports denial as access_denied and expiry as expired_token', async () => {
    const user = await owner();
    const denied = await bed.registry.startClaim({ serial: 'an1', publicKey: testKey(1) });
    await bed.registry.denyClaim(denied.userCode, user);
    await expect(bed.registry.pollClaim(denied.pollToken)).rejects.toThrow(AccessDeniedError);
    const late = await bed.registry.startClaim({ serial: 'an2', publicKey: testKey(2) });
    bed.clock.advance(600_000);
    const err = await bed.registry.pollClaim(late.pollToken).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExpiredTokenError);
    expect((err as ExpiredTokenError).code).toBe('expired_token');
    await expect(bed.registry.approveClaim(late.userCode, user)).rejects.toThrow(/unknown or has expired/);
    await expect(bed.registry.pollClaim('ph_poll_' + 'A'.repeat(43))).rejects.toThrow(ExpiredTokenError);
    expect(await tableCounts(bed.t.db)).toMatchObject({ devices: 0 });
  });

  it('lets only the owner or an admin re-claim an existing serial, re-keying it', async () => {
    const user = await owner();
    const stranger = await bed.registry.signUp({ email: 'stranger@example.io', password: 'correct horse battery' });
    const admin = await bed.registry.signUp({ email: 'admin@example.io', password: 'correct horse battery', role: 'admin' });
    const first = await bed.registry.startClaim({ serial: 'an5', publicKey: testKey('k1') });
    await bed.registry.approveClaim(first.userCode, user);

    const hijack = await bed.registry.startClaim({ serial: 'an5', publicKey: testKey('evil') });
    expect((await bed.registry.viewClaim(hijack.userCode, stranger)).existingOwner).toBe('someone else');
    const before = await tableCounts(bed.t.db);
    await expect(bed.registry.approveClaim(hijack.userCode, stranger)).rejects.toThrow(ForbiddenError);
    expect(await tableCounts(bed.t.db)).toEqual(before);
    expect((await bed.registry.getDevice('an5')).publicKey).toBe(testKey('k1'));

    const rekey = await bed.registry.startClaim({ serial: 'an5', publicKey: testKey('k2') });
    await bed.registry.approveClaim(rekey.userCode, user);
    expect(await bed.registry.getDevice('an5')).toMatchObject({ publicKey: testKey('k2'), tunnelIp: '100.64.0.2', owner: { id: user.id } });

    const byAdmin = await bed.registry.startClaim({ serial: 'an5', publicKey: testKey('k3') });
    // An admin replacing the key of someone else's device confirms it explicitly.
    await expect(bed.registry.approveClaim(byAdmin.userCode, admin)).rejects.toThrow(/confirm the replacement/);
    await bed.registry.approveClaim(byAdmin.userCode, admin, { confirmKeyReplacement: true });
    expect(await bed.registry.getDevice('an5')).toMatchObject({ publicKey: testKey('k3'), owner: { id: user.id } });
  });

  it('refuses bad input at start', async () => {
    await expect(bed.registry.startClaim({ serial: 'bad_serial', publicKey: testKey(1) })).rejects.toThrow(ValidationError);
    await expect(bed.registry.startClaim({ serial: 'ok', publicKey: 'nope' })).rejects.toThrow(/publicKey/);
    for (const returnUrl of ['javascript:alert(1)', '/relative', 'https://user:pw@example.io/', 'ftp://x/']) {
      const err = await bed.registry.startClaim({ serial: 'ok', publicKey: testKey(1), returnUrl }).catch((e: unknown) => e);
      expect((err as ValidationError).field).toBe('returnUrl');
    }
    expect(await tableCounts(bed.t.db)).toMatchObject({ claims: 0 });
  });
});
