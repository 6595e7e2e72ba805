// The reserved-serials admin page (admin only, CSRF on its forms, bad input answered on the page with
// nothing changed) and the device page's "Attested" line for attested and unattested devices.
import type { Hono } from 'hono';
import { beforeEach, describe, expect, it } from 'vitest';
import { snapshotTables, truncateAll, useTestDatabase } from '@porthole/db/testing';
import { PKI_TOOLS, signAttestation, useDevicePki } from '../../../../test/support/device-pki.js';
import { requirementsMet } from '../../../../test/support/requirements.js';
import { createTestClock, createTestRegistry, testKey } from '../testing/registry-test-bed.js';
import { buildPortal, formClient, PASSWORD, signedIn, visibleText, type FormClient } from '../testing/portal-harness.js';

const ok = requirementsMet('reserved serials and attested devices in the portal', { tools: PKI_TOOLS });

describe.skipIf(!ok)('reserved serials and attestation in the portal', () => {
  const t = useTestDatabase('pglite');
  const clock = createTestClock();
  let registry: ReturnType<typeof createTestRegistry>;
  let app: Hono;
  let admin: FormClient;
  const certs = useDevicePki((pki) => {
    const root = pki.root('root', { subject: '/O=Example Meters/CN=Device Root' });
    return { root, leaf: pki.device('an1', root, { subject: '/O=Example Meters/serialNumber=AN1' }) };
  });
  beforeEach(async () => {
    await truncateAll(t.db);
    clock.set('2030-01-01T00:00:00.000Z');
    registry = createTestRegistry(t.db, clock, { deviceCaPem: certs.root.certPem });
    app = buildPortal(registry, clock);
    await registry.signUp({ email: 'admin@example.io', password: PASSWORD, role: 'admin' });
    await registry.signUp({ email: 'owner@example.io', password: PASSWORD });
    admin = await signedIn(app, 'admin@example.io');
  });

  it('is for admins only', async () => {
    expect((await formClient(app).get('/admin/serial-reservations')).location).toBe(`/login?next=${encodeURIComponent('/admin/serial-reservations')}`);
    const owner = await signedIn(app, 'owner@example.io');
    expect((await owner.get('/admin/serial-reservations')).status).toBe(403);
    const before = await snapshotTables(t.db);
    expect((await owner.post('/admin/serial-reservations', { prefix: 'an' })).status).toBe(403);
    expect(await snapshotTables(t.db)).toEqual(before);
  });

  it('reserves and releases prefixes, and answers bad input on the page', async () => {
    const empty = visibleText((await admin.get('/admin/serial-reservations')).text);
    expect(empty).toContain('No reserved prefixes.');
    expect(empty).toContain('This hub also requires device attestation');

    const before = await snapshotTables(t.db);
    expect((await admin.go('POST', '/admin/serial-reservations', { prefix: 'an' })).status).toBe(403); // no CSRF token
    const bad = await admin.post('/admin/serial-reservations', { prefix: 'an_1', description: 'typo' });
    expect(bad.status).toBe(400);
    expect(visibleText(bad.text)).toContain('Prefix "an_1" is not the start of a serial');
    expect(bad.text).toContain('value="an_1"');
    expect(await snapshotTables(t.db)).toEqual(before);

    const added = await admin.post('/admin/serial-reservations', { prefix: 'AN', description: 'Example Meters fleet' });
    expect([added.status, added.location]).toEqual([303, '/admin/serial-reservations?done=reservation-added']);
    const listed = visibleText((await admin.get(added.location!)).text);
    expect(listed).toContain('Prefix reserved: serials starting with it now register only with an enrollment token.');
    expect(listed).toMatch(/an Example Meters fleet admin@example\.io/);
    expect(await registry.listSerialReservations()).toMatchObject([{ prefix: 'an', description: 'Example Meters fleet' }]);
    const dup = await admin.post('/admin/serial-reservations', { prefix: 'an' });
    expect(dup.status).toBe(409);
    expect(visibleText(dup.text)).toContain('Prefix an is already reserved');

    const released = await admin.post('/admin/serial-reservations/an/delete');
    expect([released.status, released.location]).toEqual([303, '/admin/serial-reservations?done=reservation-removed']);
    expect(await registry.listSerialReservations()).toEqual([]);
  });

  it('shows on the device page whether and by which certificate a device is attested', async () => {
    const { token } = await registry.createEnrollmentToken({ createdBy: null, maxUses: 2 });
    const attestation = { certificateChain: certs.leaf.certPem, signature: signAttestation(certs.leaf.keyPem, 'an1', testKey(1)) };
    await registry.registerDevice({ serial: 'an1', publicKey: testKey(1), enrollmentToken: token, attestation });
    const page = visibleText((await admin.get('/devices/an1')).text);
    expect(page).toContain('Attested Yes, by its vendor certificate O=Example Meters, serialNumber=AN1 (issued by O=Example Meters, CN=Device Root)');

    const open = createTestRegistry(t.db, clock);
    await open.registerDevice({ serial: 'an2', publicKey: testKey(2), enrollmentToken: token });
    expect(visibleText((await admin.get('/devices/an2')).text)).toContain('Attested No (no vendor certificate proved this serial)');
  });
});
