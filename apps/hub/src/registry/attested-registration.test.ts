// Registration and claims on a hub with a device CA (attestation required), and serial prefixes
// reserved for enrollment tokens, on both drivers: refusals change nothing, accepted devices show
// their attestation, a new key drops the old one's record.
import { describe, expect, it } from 'vitest';
import { tableCounts } from '@porthole/db/testing';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { PKI_TOOLS, signAttestation, useDevicePki, type Issued } from '../../../../test/support/device-pki.js';
import { requirementsMet } from '../../../../test/support/requirements.js';
import { AttestationInvalidError, AttestationRequiredError } from './attestation.js';
import { SerialReservedError } from './serial-reservations.js';
import { createTestRegistry, testKey, useRegistryTestBed, type TestRegistry } from '../testing/registry-test-bed.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

const drivers = await databaseDrivers('attested registration');
const ok = requirementsMet('attested registration', { tools: PKI_TOOLS });

describe.skipIf(!ok).each(drivers)('attested registration and claims on %s', (driver) => {
  let attested: TestRegistry;
  const certs = useDevicePki((pki) => {
    const root = pki.root('root', { subject: '/O=Example Meters/CN=Device Root' });
    const otherRoot = pki.root('other', { subject: '/CN=Other Root' });
    return {
      root,
      leaf: pki.device('an1', root, { subject: '/O=Example Meters/serialNumber=AN1', key: 'p256' }),
      foreign: pki.device('foreign', otherRoot, { subject: '/CN=an1', key: 'ed25519' }),
    };
  });
  // bed.registry has no device CA (attestation optional); `attested`, on the same database, requires it.
  const bed = useRegistryTestBed(driver, {
    seed: ({ t, clock }) => {
      attested = createTestRegistry(t.db, clock, { deviceCaPem: certs.root.certPem });
    },
  });

  const attestation = (cert: Issued, serial: string, publicKey: string) => ({ certificateChain: cert.certPem, signature: signAttestation(cert.keyPem, serial, publicKey) });
  const token = async (r: TestRegistry, maxUses = 5) => (await r.createEnrollmentToken({ createdBy: null, maxUses })).token;

  it('registers an attested device and shows the certificate; refusals spend no token and change nothing', async () => {
    expect(attested.requiresAttestation).toBe(true);
    expect(bed.registry.requiresAttestation).toBe(false);
    const enrollmentToken = await token(attested, 1);
    const before = await tableCounts(bed.t.db);
    const missing = await attested.registerDevice({ serial: 'an1', publicKey: testKey(1), enrollmentToken }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(AttestationRequiredError);
    const wrongCa = await attested
      .registerDevice({ serial: 'an1', publicKey: testKey(1), enrollmentToken, attestation: attestation(certs.foreign, 'an1', testKey(1)) })
      .catch((e: unknown) => e);
    expect(wrongCa).toBeInstanceOf(AttestationInvalidError);
    const otherKey = await attested
      .registerDevice({ serial: 'an1', publicKey: testKey(1), enrollmentToken, attestation: attestation(certs.leaf, 'an1', testKey(2)) })
      .catch((e: unknown) => e);
    expect((otherKey as AttestationInvalidError).code).toBe('attestation_invalid');
    expect(await tableCounts(bed.t.db)).toEqual(before);

    const done = await attested.registerDevice({ serial: 'AN1', publicKey: testKey(1), enrollmentToken, attestation: attestation(certs.leaf, 'an1', testKey(1)) });
    expect(done.created).toBe(true);
    expect(await attested.getDevice('an1')).toMatchObject({
      attested: true,
      attestedAt: bed.clock.now().toISOString(),
      attestationSubject: 'O=Example Meters, serialNumber=AN1',
      attestationIssuer: 'O=Example Meters, CN=Device Root',
    });
    // A repeat is attested too, and renews the record.
    bed.clock.advance(60_000);
    await expect(attested.registerDevice({ serial: 'an1', publicKey: testKey(1), enrollmentToken })).rejects.toThrow(AttestationRequiredError);
    await attested.registerDevice({ serial: 'an1', publicKey: testKey(1), enrollmentToken, attestation: attestation(certs.leaf, 'an1', testKey(1)) });
    expect((await attested.getDevice('an1')).attestedAt).toBe(bed.clock.now().toISOString());
  });

  /** Every refusal, for registration and for claims alike: [name, attestation for an1 + testKey(1), code, message]. */
  const REFUSALS: [string, () => { certificateChain: string; signature: string } | undefined, string, RegExp][] = [
    ['missing attestation', () => undefined, 'attestation_required', /^this hub requires device attestation/],
    ['wrong CA', () => attestation(certs.foreign, 'an1', testKey(1)), 'attestation_invalid', /does not lead to a configured device CA/],
    ['expired certificate', () => attestation(certs.pki.device('exp', certs.root, { subject: '/CN=an1', notAfter: new Date('2029-01-01Z') }), 'an1', testKey(1)), 'attestation_invalid', /expired at 2029-01-01/],
    ['not-yet-valid certificate', () => attestation(certs.pki.device('nyv', certs.root, { subject: '/CN=an1', notBefore: new Date('2031-01-01Z') }), 'an1', testKey(1)), 'attestation_invalid', /not valid before 2031-01-01/],
    ['serialNumber of another device', () => attestation(certs.pki.device('sn2', certs.root, { subject: '/CN=an1/serialNumber=an2' }), 'an1', testKey(1)), 'attestation_invalid', /names serial "an2" \(subject serialNumber\)/],
    ['CN of another device', () => attestation(certs.pki.device('cn2', certs.root, { subject: '/CN=an2' }), 'an1', testKey(1)), 'attestation_invalid', /names serial "an2" \(subject CN\)/],
    ['signature over another WireGuard key', () => attestation(certs.leaf, 'an1', testKey(2)), 'attestation_invalid', /signature does not verify/],
    ['signature by another key', () => ({ certificateChain: certs.leaf.certPem, signature: signAttestation(certs.pki.key('other').keyPem, 'an1', testKey(1)) }), 'attestation_invalid', /signature does not verify/],
    ['garbage PEM', () => ({ certificateChain: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n', signature: 'AAAA' }), 'attestation_invalid', /cannot be parsed/],
  ];

  it.each(REFUSALS)('refuses %s on registration and on claim start, changing nothing', async (_name, make, code, message) => {
    const enrollmentToken = await token(attested, 1);
    const before = await tableCounts(bed.t.db);
    const att = make();
    const reg = (await attested.registerDevice({ serial: 'an1', publicKey: testKey(1), enrollmentToken, attestation: att }).catch((e: unknown) => e)) as AttestationInvalidError;
    const claim = (await attested.startClaim({ serial: 'an1', publicKey: testKey(1), attestation: att }).catch((e: unknown) => e)) as AttestationInvalidError;
    for (const err of [reg, claim]) {
      expect(err.code).toBe(code);
      expect(err.message).toMatch(message);
      expect(err.field).toBe('attestation');
    }
    expect(await tableCounts(bed.t.db)).toEqual(before);
    expect((await attested.listEnrollmentTokens())[0]).toMatchObject({ uses: 0 });
  });

  it('keeps today’s behaviour without a CA: an attestation is ignored and nothing is marked attested', async () => {
    const enrollmentToken = await token(bed.registry);
    await bed.registry.registerDevice({ serial: 'an1', publicKey: testKey(1), enrollmentToken, attestation: { certificateChain: 'junk', signature: 'junk' } });
    await bed.registry.registerDevice({ serial: 'an2', publicKey: testKey(2), enrollmentToken });
    expect(await bed.registry.getDevice('an1')).toMatchObject({ attested: false, attestedAt: null, attestationSubject: null, attestationIssuer: null });
  });

  it('drops the attestation of an old key when an approved rotation registers a new one without the CA', async () => {
    const enrollmentToken = await token(attested);
    await attested.registerDevice({ serial: 'an1', publicKey: testKey(1), enrollmentToken, attestation: attestation(certs.leaf, 'an1', testKey(1)) });
    await bed.registry.approveKeyRotation('an1', testKey('new'), null);
    await bed.registry.registerDevice({ serial: 'an1', publicKey: testKey('new'), enrollmentToken });
    expect(await bed.registry.getDevice('an1')).toMatchObject({ publicKey: testKey('new'), attested: false, attestationSubject: null });
    // With the CA, the rotated key is attested by its own signature.
    await bed.registry.approveKeyRotation('an1', testKey('newer'), null);
    await attested.registerDevice({ serial: 'an1', publicKey: testKey('newer'), enrollmentToken, attestation: attestation(certs.leaf, 'an1', testKey('newer')) });
    expect(await attested.getDevice('an1')).toMatchObject({ publicKey: testKey('newer'), attested: true });
  });

  it('requires an attestation to start a claim, and the approved device shows it', async () => {
    const user = await attested.signUp({ email: 'owner@example.io', password: 'correct horse battery' });
    const before = await tableCounts(bed.t.db);
    await expect(attested.startClaim({ serial: 'an1', publicKey: testKey(1) })).rejects.toThrow(AttestationRequiredError);
    const wrongSerial = await attested
      .startClaim({ serial: 'an2', publicKey: testKey(1), attestation: attestation(certs.leaf, 'an2', testKey(1)) })
      .catch((e: unknown) => e);
    expect(wrongSerial).toBeInstanceOf(AttestationInvalidError);
    expect((wrongSerial as Error).message).toBe('the device certificate names serial "AN1" (subject serialNumber), not "an2"');
    expect(await tableCounts(bed.t.db)).toEqual(before);

    const start = await attested.startClaim({ serial: 'an1', publicKey: testKey(1), attestation: attestation(certs.leaf, 'an1', testKey(1)) });
    await attested.approveClaim(start.userCode, user);
    expect(await attested.getDevice('an1')).toMatchObject({
      owner: { id: user.id },
      attested: true,
      attestationSubject: 'O=Example Meters, serialNumber=AN1',
      attestationIssuer: 'O=Example Meters, CN=Device Root',
    });
  });

  it('keeps the verified certificate on the claim: another hub node approves it with the same details', async () => {
    const user = await attested.signUp({ email: 'owner@example.io', password: 'correct horse battery' });
    const start = await attested.startClaim({ serial: 'an1', publicKey: testKey(1), attestation: attestation(certs.leaf, 'an1', testKey(1)) });
    const otherNode = createTestRegistry(bed.t.db, bed.clock, { deviceCaPem: certs.root.certPem });
    await otherNode.approveClaim(start.userCode, user);
    expect(await otherNode.getDevice('an1')).toMatchObject({
      attested: true,
      attestationSubject: 'O=Example Meters, serialNumber=AN1',
      attestationIssuer: 'O=Example Meters, CN=Device Root',
    });
  });

  it('refuses to approve, as attested, a claim started before the hub had a device CA', async () => {
    const user = await attested.signUp({ email: 'owner@example.io', password: 'correct horse battery' });
    const early = await bed.registry.startClaim({ serial: 'an1', publicKey: testKey(1) });
    const before = { ...(await tableCounts(bed.t.db)), throttles: 0 };
    const refused = await attested.approveClaim(early.userCode, user).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AttestationRequiredError);
    expect((refused as Error).message).toMatch(/started before this hub required attested devices/);
    expect({ ...(await tableCounts(bed.t.db)), throttles: 0 }).toEqual(before);
    await expect(attested.getDevice('an1')).rejects.toThrow(NotFoundError);
  });

  it('refuses account claims under a reserved prefix, at start and at approval, but not enrollment tokens', async () => {
    const user = await bed.registry.signUp({ email: 'owner@example.io', password: 'correct horse battery' });
    const early = await bed.registry.startClaim({ serial: 'an9', publicKey: testKey(9) });
    const reservation = await bed.registry.addSerialReservation({ prefix: ' AN ', description: 'Example Meters fleet', createdBy: user.id });
    expect(reservation).toEqual({ prefix: 'an', description: 'Example Meters fleet', createdBy: { id: user.id, email: 'owner@example.io' }, createdAt: bed.clock.now().toISOString() });

    const refused = await bed.registry.startClaim({ serial: 'AN12345678', publicKey: testKey(1) }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SerialReservedError);
    expect((refused as SerialReservedError).code).toBe('serial_reserved');
    expect((refused as Error).message).toBe(
      'serial an12345678 is reserved (prefix an) for devices enrolled with an enrollment token; ask the fleet administrator for one',
    );
    // A claim that started before the reservation cannot be approved after it (nothing changes but
    // the code-guessing throttle's bookkeeping).
    const counts = async () => ({ ...(await tableCounts(bed.t.db)), throttles: 0 });
    const before = await counts();
    await expect(bed.registry.approveClaim(early.userCode, user)).rejects.toThrow(SerialReservedError);
    expect(await counts()).toEqual(before);
    // Other serials are claimable; enrollment tokens register reserved ones.
    await bed.registry.startClaim({ serial: 'bn1', publicKey: testKey('b') });
    const enrolled = await bed.registry.registerDevice({ serial: 'an12345678', publicKey: testKey(1), enrollmentToken: await token(bed.registry) });
    expect(enrolled.created).toBe(true);

    await bed.registry.removeSerialReservation('an');
    await bed.registry.startClaim({ serial: 'an5', publicKey: testKey(5) });
    expect(await bed.registry.listSerialReservations()).toEqual([]);
  });

  it('validates prefixes and refuses duplicates and unknown ones', async () => {
    await bed.registry.addSerialReservation({ prefix: 'an1', createdBy: null });
    await bed.registry.addSerialReservation({ prefix: 'an12-', description: '', createdBy: null });
    expect((await bed.registry.listSerialReservations()).map((r) => [r.prefix, r.createdBy])).toEqual([['an1', null], ['an12-', null]]);
    // The longest covering prefix is the one named.
    await expect(bed.registry.startClaim({ serial: 'an12-7', publicKey: testKey(1) })).rejects.toThrow(/prefix an12-\)/);
    await expect(bed.registry.addSerialReservation({ prefix: 'AN1', createdBy: null })).rejects.toThrow(ConflictError);
    for (const prefix of ['', '-an', 'an_1', 'a'.repeat(64), 'an%', 'an.1']) {
      const err = await bed.registry.addSerialReservation({ prefix, createdBy: null }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe('prefix');
    }
    await expect(bed.registry.addSerialReservation({ prefix: 'x', description: 'a\nb', createdBy: null })).rejects.toThrow(/description/);
    await expect(bed.registry.removeSerialReservation('zz')).rejects.toThrow(NotFoundError);
    // A LIKE wildcard in a serial cannot occur (serials are DNS labels), and `_` is refused as a prefix.
    await expect(bed.registry.startClaim({ serial: 'bn1', publicKey: testKey(2) })).resolves.toMatchObject({ interval: 2 });
  });
});
