// Attestation and serial reservations over HTTP on both drivers: the 403 codes a device gets, the
// device objects that show attestation, and the reservation endpoints (admin write scope), each
// answer checked against the schema its route documents.
import { beforeEach, describe, expect, it } from 'vitest';
import { tableCounts, truncateAll, useTestDatabase } from '@porthole/db/testing';
import { PKI_TOOLS, signAttestation, useDevicePki } from '../../../../test/support/device-pki.js';
import { requirementsMet } from '../../../../test/support/requirements.js';
import { testKey } from '../testing/registry-test-bed.js';
import { ADMIN_PASSWORD, ADMIN_TOKEN, createApiHarness } from '../testing/api-harness.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

const drivers = await databaseDrivers('attestation API');
const ok = requirementsMet('attestation API', { tools: PKI_TOOLS });

type Harness = Awaited<ReturnType<typeof createApiHarness>>;

describe.skipIf(!ok).each(drivers)('attestation and reservations API on %s', (driver) => {
  const t = useTestDatabase(driver);
  let attested: Harness;
  let open: Harness;
  let enrollmentToken: string;
  let readToken: string;
  const certs = useDevicePki((pki) => {
    const root = pki.root('root', { subject: '/O=Example Meters/CN=Device Root', key: 'rsa' });
    const intermediate = pki.intermediate('int', root, { subject: '/O=Example Meters/CN=Devices 2030', key: 'rsa' });
    return { root, intermediate, leaf: pki.device('an1', intermediate, { subject: '/CN=AN1', key: 'ed25519' }) };
  });
  beforeEach(async () => {
    await truncateAll(t.db);
    attested = await createApiHarness(t.db, { registry: { deviceCaPem: certs.root.certPem } });
    open = await createApiHarness(t.db, { clock: attested.clock });
    const admin = (await attested.registry.bootstrapAdmin({ adminEmail: 'admin@example.io', adminPassword: ADMIN_PASSWORD, adminToken: ADMIN_TOKEN }))!;
    enrollmentToken = (await attested.registry.createEnrollmentToken({ createdBy: admin.id, maxUses: 10 })).token;
    readToken = (await attested.registry.createApiToken({ userId: admin.id, name: 'read', scopes: ['read'] })).token;
  });

  const attestation = (serial: string, publicKey: string, signer = certs.leaf) => ({
    certificateChain: certs.pki.chain(certs.leaf, certs.intermediate),
    signature: signAttestation(signer.keyPem, serial, publicKey),
  });

  it('answers a registration without or with a bad attestation 403, and registers an attested one', async () => {
    const before = await tableCounts(t.db);
    const body = { serial: 'an1', publicKey: testKey(1), enrollmentToken };
    const missing = await attested.request('POST', '/devices/register', { body, token: null });
    expect(missing.status).toBe(403);
    expect(missing.body.error).toMatchObject({ code: 'attestation_required', field: 'attestation' });
    const otherKey = await attested.request('POST', '/devices/register', { body: { ...body, attestation: attestation('an1', testKey(2)) }, token: null });
    expect(otherKey.status).toBe(403);
    expect(otherKey.body.error.code).toBe('attestation_invalid');
    expect(otherKey.body.error.message).toMatch(/^attestation\.signature does not verify/);
    const extra = await attested.request('POST', '/devices/register', {
      body: { ...body, attestation: { ...attestation('an1', testKey(1)), note: 'x' } },
      token: null,
    });
    expect(extra.status).toBe(400);
    expect(await tableCounts(t.db)).toEqual(before);

    const done = await attested.request('POST', '/devices/register', { body: { ...body, attestation: attestation('an1', testKey(1)) }, token: null });
    expect(done.status).toBe(201);
    const device = attested.documented('GET', '/devices/an1', await attested.request('GET', '/devices/an1'));
    expect(device).toMatchObject({ attested: true, attestationSubject: 'CN=AN1', attestationIssuer: 'O=Example Meters, CN=Devices 2030' });
    const list = attested.documented('GET', '/devices', await attested.request('GET', '/devices'));
    expect(list).toMatchObject({ devices: [{ serial: 'an1', attested: true }] });
  });

  it('answers a claim start without an attestation 403 attestation_required, and starts an attested one', async () => {
    const missing = await attested.request('POST', '/claims', { body: { serial: 'an1', publicKey: testKey(1) }, token: null });
    expect(missing.status).toBe(403);
    expect(missing.body.error.code).toBe('attestation_required');
    const wrongSerial = await attested.request('POST', '/claims', { body: { serial: 'an2', publicKey: testKey(1), attestation: attestation('an2', testKey(1)) }, token: null });
    expect(wrongSerial.status).toBe(403);
    expect(wrongSerial.body.error).toMatchObject({ code: 'attestation_invalid', message: 'the device certificate names serial "AN1" (subject CN), not "an2"' });
    const started = await attested.request('POST', '/claims', { body: { serial: 'an1', publicKey: testKey(1), attestation: attestation('an1', testKey(1)) }, token: null });
    expect(attested.documented('POST', '/claims', started)).toMatchObject({ interval: 2 });
  });

  it('keeps registration open without a CA and shows devices as not attested', async () => {
    const done = await open.request('POST', '/devices/register', { body: { serial: 'an1', publicKey: testKey(1), enrollmentToken }, token: null });
    expect(done.status).toBe(201);
    expect(open.documented('GET', '/devices/an1', await open.request('GET', '/devices/an1'))).toMatchObject({ attested: false, attestationSubject: null });
  });

  it('manages reserved prefixes with the write scope, and refuses claims of reserved serials', async () => {
    const added = await open.request('POST', '/serial-reservations', { body: { prefix: 'AN', description: 'Example Meters' } });
    expect(open.documented('POST', '/serial-reservations', added)).toMatchObject({
      prefix: 'an',
      description: 'Example Meters',
      createdBy: { email: 'admin@example.io' },
    });
    expect((await open.request('POST', '/serial-reservations', { body: { prefix: 'an' } })).status).toBe(409);
    const bad = await open.request('POST', '/serial-reservations', { body: { prefix: '-x' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('prefix');
    expect((await open.request('POST', '/serial-reservations', { body: { prefix: 'bn' }, token: readToken })).status).toBe(403);
    expect((await open.request('POST', '/serial-reservations', { body: { prefix: 'bn' }, token: null })).status).toBe(401);
    const listed = open.documented('GET', '/serial-reservations', await open.request('GET', '/serial-reservations', { token: readToken }));
    expect((listed as { prefix: string }[]).map((r) => r.prefix)).toEqual(['an']);

    const claim = await open.request('POST', '/claims', { body: { serial: 'an12345678', publicKey: testKey(1) }, token: null });
    expect(claim.status).toBe(403);
    expect(claim.body.error).toMatchObject({ code: 'serial_reserved', field: 'serial' });
    const enrolled = await open.request('POST', '/devices/register', { body: { serial: 'an12345678', publicKey: testKey(1), enrollmentToken }, token: null });
    expect(enrolled.status).toBe(201);

    expect((await open.request('DELETE', '/serial-reservations/AN', { token: readToken })).status).toBe(403);
    const removed = await open.request('DELETE', '/serial-reservations/AN');
    expect(open.documented('DELETE', '/serial-reservations/AN', removed)).toBeNull();
    expect((await open.request('DELETE', '/serial-reservations/an')).status).toBe(404);
    expect((await open.request('POST', '/claims', { body: { serial: 'an5', publicKey: testKey(5) }, token: null })).status).toBe(201);
  });
});
