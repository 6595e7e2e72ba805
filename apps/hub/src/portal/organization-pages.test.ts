// The portal's organisation pages: a hub administrator creates an organisation; its owner adds a
// member and makes an organisation token (shown once); a viewer sees the members but no forms and
// no tokens, and a posted member form is refused; another organisation's page and devices are "not
// found" exactly like missing ones; members see their organisation's devices on My devices.
import { describe, expect, it } from 'vitest';
import { testKey } from '../testing/registry-test-bed.js';
import { usePortalTestBed, PASSWORD, signedIn, visibleText } from '../testing/portal-harness.js';

describe('organisation pages', () => {
  const bed = usePortalTestBed('pglite', {
    once: true,
    seed: async ({ registry }) => {
      await registry.signUp({ email: 'admin@example.io', password: PASSWORD, role: 'admin' });
      for (const who of ['owner@acme.example', 'viewer@acme.example', 'owner@beta.example']) await registry.signUp({ email: who, password: PASSWORD });
    },
  });

  it('lets a hub administrator create organisations, owners manage members and tokens, viewers only look', async () => {
    const admin = await signedIn(bed.app, 'admin@example.io');
    expect((await admin.get('/orgs')).text).toContain('New organisation');
    const made = await admin.post('/orgs', { name: 'Acme Metering' });
    expect(made.status).toBe(303);
    const acmeId = made.location!.split('/').pop()!;
    await admin.get('/orgs');
    const beta = await admin.post('/orgs', { name: 'Beta Grid' });
    const betaId = beta.location!.split('/').pop()!;
    await admin.get(`/orgs/${acmeId}`);
    expect((await admin.post(`/orgs/${acmeId}/members`, { email: 'owner@acme.example', role: 'owner' })).status).toBe(303);
    await admin.get(`/orgs/${betaId}`);
    await admin.post(`/orgs/${betaId}/members`, { email: 'owner@beta.example', role: 'owner' });
    // Only hub administrators create organisations.
    const owner = await signedIn(bed.app, 'owner@acme.example');
    const list = await owner.get('/orgs');
    expect(visibleText(list.text)).toContain('Acme Metering owner');
    expect(list.text).not.toContain('Beta Grid');
    expect(list.text).not.toContain('New organisation');
    expect((await owner.post('/orgs', { name: 'Mine' })).status).toBe(403);

    await owner.get(`/orgs/${acmeId}`);
    expect((await owner.post(`/orgs/${acmeId}/members`, { email: 'viewer@acme.example', role: 'viewer' })).status).toBe(303);
    await owner.get(`/orgs/${acmeId}`);
    const token = await owner.post(`/orgs/${acmeId}/tokens`, { name: 'ci', role: 'admin' });
    expect(token.status).toBe(200);
    expect(visibleText(token.text)).toMatch(/shown only this once .* ph_api_\S+/);
    expect((await owner.get(`/orgs/${acmeId}`)).text).not.toMatch(/ph_api_[A-Za-z0-9_-]{20,}/);

    const viewer = await signedIn(bed.app, 'viewer@acme.example');
    const page = await viewer.get(`/orgs/${acmeId}`);
    expect(visibleText(page.text)).toContain('owner@acme.example owner');
    expect(page.text).not.toContain('Save member');
    expect(page.text).not.toContain('API tokens');
    expect((await viewer.post(`/orgs/${acmeId}/members`, { email: 'x@acme.example', role: 'owner' })).status).toBe(403);

    // Another organisation's page answers like one that does not exist.
    const other = await owner.get(`/orgs/${betaId}`);
    const none = await owner.get('/orgs/00000000-0000-4000-8000-00000000dead');
    expect(other.status).toBe(404);
    expect(visibleText(other.text).replace(betaId, 'X')).toBe(visibleText(none.text).replace('00000000-0000-4000-8000-00000000dead', 'X'));

    // Devices: members see their organisation's; another organisation's device is not found.
    const enrollA = await bed.registry.createEnrollmentToken({ createdBy: null, organizationId: acmeId });
    await bed.registry.registerDevice({ serial: 'acme0001', publicKey: testKey('acme0001'), enrollmentToken: enrollA.token });
    const enrollB = await bed.registry.createEnrollmentToken({ createdBy: null, organizationId: betaId });
    await bed.registry.registerDevice({ serial: 'beta0001', publicKey: testKey('beta0001'), enrollmentToken: enrollB.token });
    const mine = await viewer.get('/devices');
    expect(mine.text).toContain('acme0001');
    expect(mine.text).not.toContain('beta0001');
    const devicePage = await viewer.get('/devices/acme0001');
    expect(devicePage.status).toBe(200);
    expect(visibleText(devicePage.text)).toContain('Organisation Acme Metering');
    // A viewer reads the device's log but gets no forms that change it.
    await bed.registry.appendAccessLog([{ at: bed.clock.now(), serial: 'acme0001', userId: null, clientIp: '198.51.100.4', method: 'GET', path: '/acme-log-line', status: 200, bytesIn: 1, bytesOut: 1, durationMs: 1 }]);
    const withLog = await viewer.get('/devices/acme0001');
    expect(withLog.text).toContain('/acme-log-line');
    expect(withLog.text).not.toContain('action="/devices/acme0001/status"');
    const hidden = await viewer.get('/devices/beta0001');
    const missing = await viewer.get('/devices/zz0000001');
    expect(hidden.status).toBe(404);
    expect(visibleText(hidden.text).replace('beta0001', 'X')).toBe(visibleText(missing.text).replace('zz0000001', 'X'));
  });
});
