// Owner pages through app.request on both drivers: sign-in required, "My devices" (owned and
// shared), the device page and each of its forms' effect on the registry, grants for a fixed time
// seen by the grantee, refusals (CSRF, someone else's device), escaping, and the friendly 404.
import { beforeEach, describe, expect, it } from 'vitest';
import { snapshotTables } from '@porthole/db/testing';
import { testKey } from '../testing/registry-test-bed.js';
import { usePortalTestBed, PASSWORD, signedIn, visibleText, formClient } from '../testing/portal-harness.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

const drivers = await databaseDrivers('portal pages');

describe.each(drivers)('owner pages on %s', (driver) => {
  const bed = usePortalTestBed(driver);
  let owner: { id: string };
  let other: { id: string };
  beforeEach(async () => {
    owner = await bed.registry.signUp({ email: 'owner@example.io', password: PASSWORD });
    other = await bed.registry.signUp({ email: 'installer@example.io', password: PASSWORD });
    const { token } = await bed.registry.createEnrollmentToken({ createdBy: null, maxUses: 10 });
    for (const serial of ['an1', 'an2', 'an3']) await bed.registry.registerDevice({ serial, publicKey: testKey(serial), enrollmentToken: token });
    await bed.registry.setDeviceOwner('an1', owner.id);
    await bed.registry.setDeviceOwner('an2', owner.id);
    await bed.registry.setDeviceOwner('an3', other.id);
  });

  it('sends anonymous visitors of every owner page to the login page, and back afterwards', async () => {
    const b = formClient(bed.app);
    for (const path of ['/devices', '/devices/an1', '/devices?cursor=x']) {
      const res = await b.get(path);
      expect(res.status, path).toBe(303);
      expect(res.location).toBe(`/login?next=${encodeURIComponent(path)}`);
    }
    const login = await b.get('/login?next=%2Fdevices%2Fan1');
    const res = await b.go('POST', '/login', { _csrf: login.csrf!, next: '/devices/an1', email: 'owner@example.io', password: PASSWORD });
    expect(res.location).toBe('/devices/an1');
    // A form posted by someone without a session (but a valid pre-session token) goes to the login page, changing nothing.
    const before = await snapshotTables(bed.t.db);
    const post = await b.go('POST', '/devices/an1/status', { _csrf: login.csrf!, status: 'disabled' });
    expect(post.status).toBe(403); // the token belonged to the pre-session cookie, which login replaced
    expect(await snapshotTables(bed.t.db)).toEqual(before);
    const anon = formClient(bed.app);
    const f = await anon.get('/login');
    const anonPost = await anon.post('/devices/an1/status', { status: 'disabled' });
    expect(f.status).toBe(200);
    expect(anonPost.status).toBe(303);
    expect(anonPost.location).toBe('/login');
    expect(await snapshotTables(bed.t.db)).toEqual(before);
  });

  it('lists my devices (owned and shared with me), and the home page is that list', async () => {
    await bed.registry.recordPeerStatus([{ publicKey: testKey('an1'), lastHandshakeAt: new Date(bed.clock.now().getTime() - 30_000), endpoint: '203.0.113.7:4242', rxBytes: 5 * 1024 * 1024, txBytes: 2048 }]);
    await bed.registry.grantAccess('an3', { email: 'owner@example.io', expiresAt: new Date(bed.clock.now().getTime() + 3600_000) });
    const b = await signedIn(bed.app, 'owner@example.io');
    const page = await b.get('/devices');
    expect(page.status).toBe(200);
    const text = visibleText(page.text);
    expect(text).toContain('an1 online 30 s ago an1.example.io owners');
    expect(text).toContain('an2 offline never an2.example.io owners');
    expect(text).toContain('an3 shared with you offline never');
    expect(page.text).toContain('href="https://an1.example.io/"');
    expect(page.text).toContain('aria-current="page"');
    expect(page.text).not.toContain('All devices'); // no admin navigation for owners
    expect(visibleText((await b.get('/')).text)).toContain('an1 online 30 s ago');

    // The grant expires: an3 leaves the list.
    bed.clock.advance(3600_001);
    expect(visibleText((await b.get('/devices')).text)).not.toContain('an3');
  });

  it('shows a device page with status, traffic, endpoint and its access log', async () => {
    await bed.registry.recordPeerStatus([{ publicKey: testKey('an1'), lastHandshakeAt: new Date(bed.clock.now().getTime() - 5 * 60_000), endpoint: '203.0.113.7:4242', rxBytes: 5 * 1024 * 1024, txBytes: 2048 }]);
    await bed.registry.appendAccessLog([
      { at: new Date(bed.clock.now().getTime() - 1000), serial: 'an1', userId: other.id, clientIp: '198.51.100.9', method: 'GET', path: '/<script>alert(1)</script>', status: 200, bytesIn: 10, bytesOut: 3000, durationMs: 12 },
      { at: new Date(bed.clock.now().getTime() - 2000), serial: 'an2', userId: null, clientIp: '198.51.100.9', method: 'GET', path: '/other-device', status: 200, bytesIn: 0, bytesOut: 0, durationMs: 1 },
    ]);
    const b = await signedIn(bed.app, 'owner@example.io');
    const page = await b.get('/devices/an1');
    expect(page.status).toBe(200);
    const text = visibleText(page.text);
    expect(text).toContain('State offline Last handshake 5 min ago Endpoint 203.0.113.7:4242');
    expect(text).toContain('Traffic 5.0 MiB received, 2.0 KiB sent');
    expect(text).toContain('Owner you');
    expect(text).toContain('installer@example.io 198.51.100.9 GET /<script>alert(1)</script> 200');
    expect(page.text).not.toContain('<script>alert(1)');
    expect(text).not.toContain('/other-device');
  });

  it('applies each form of the device page to the registry', async () => {
    const b = await signedIn(bed.app, 'owner@example.io');
    await b.get('/devices/an1');
    let res = await b.post('/devices/an1/status', { status: 'disabled' });
    expect([res.status, res.location]).toEqual([303, '/devices/an1?done=disabled']);
    expect((await bed.registry.getDevice('an1')).status).toBe('disabled');
    expect(visibleText((await b.get(res.location!)).text)).toContain('Device disabled');
    res = await b.post('/devices/an1/status', { status: 'enabled' });
    expect((await bed.registry.getDevice('an1')).status).toBe('enabled');

    res = await b.post('/devices/an1/policy', { policy: 'public' });
    expect(res.location).toBe('/devices/an1?done=policy');
    expect((await bed.registry.getDevice('an1')).accessPolicy).toBe('public');

    res = await b.post('/devices/an1/tags', { tags: 'Roof, berlin  meter-2' });
    expect(res.location).toBe('/devices/an1?done=tags');
    expect((await bed.registry.getDevice('an1')).tags).toEqual(['berlin', 'meter-2', 'roof']);

    const bad = await b.post('/devices/an1/tags', { tags: 'ok, <b>bad</b>' });
    expect(bad.status).toBe(400);
    expect(visibleText(bad.text)).toContain('tag "<b>bad</b>" must be');
    expect(bad.text).not.toContain('<b>bad</b>');
    expect((await bed.registry.getDevice('an1')).tags).toEqual(['berlin', 'meter-2', 'roof']);

    const before = await snapshotTables(bed.t.db);
    expect((await b.post('/devices/an1/status', { status: 'deleted' })).status).toBe(400);
    expect((await b.post('/devices/an1/policy', { policy: 'everyone' })).status).toBe(400);
    expect(await snapshotTables(bed.t.db)).toEqual(before);
  });

  it('grants an installer access for 48 hours; the installer sees the device but cannot manage it; revoke ends it', async () => {
    const b = await signedIn(bed.app, 'owner@example.io');
    const page = await b.get('/devices/an1');
    expect(page.text).toContain('<option value="48h" selected="">48 hours</option>');
    const res = await b.post('/devices/an1/grants', { email: 'Installer@Example.io', duration: '48h' });
    expect(res.location).toBe('/devices/an1?done=granted');
    const grants = await bed.registry.listGrants('an1');
    expect(grants.map((g) => [g.email, g.expiresAt])).toEqual([['installer@example.io', '2030-01-03T00:00:00.000Z']]);
    expect(visibleText((await b.get('/devices/an1')).text)).toContain('installer@example.io just now in 2 days Revoke');

    const i = await signedIn(bed.app, 'installer@example.io');
    const mine = visibleText((await i.get('/devices')).text);
    expect(mine).toContain('an1 shared with you');
    const seen = await i.get('/devices/an1');
    expect(seen.status).toBe(200);
    expect(seen.text).not.toContain('action="/devices/an1/status"');
    expect(seen.text).not.toContain('Access log');
    expect(seen.text).toContain('href="https://an1.example.io/"');
    const before = await snapshotTables(bed.t.db);
    expect((await i.post('/devices/an1/status', { status: 'disabled' })).status).toBe(404);
    expect((await i.post('/devices/an1/grants', { email: 'installer@example.io', duration: 'never' })).status).toBe(404);
    expect(await snapshotTables(bed.t.db)).toEqual(before);
    expect(await bed.registry.canAccessDevice(other.id, (await bed.registry.getDevice('an1')).id)).toBe(true);

    const revoked = await b.post('/devices/an1/grants/revoke', { userId: other.id });
    expect(revoked.location).toBe('/devices/an1?done=revoked');
    expect(await bed.registry.listGrants('an1')).toEqual([]);
    expect((await i.get('/devices/an1')).status).toBe(404);
  });

  it('answers a grant alike whether the address has an account, and keeps a refused address in the form', async () => {
    const b = await signedIn(bed.app, 'owner@example.io');
    await b.get('/devices/an1');
    const unknown = await b.post('/devices/an1/grants', { email: 'nobody@example.io', duration: '48h' });
    const known = await b.post('/devices/an1/grants', { email: 'installer@example.io', duration: '48h' });
    expect([unknown.status, unknown.location]).toEqual([303, '/devices/an1?done=granted']);
    expect([known.status, known.location]).toEqual([303, '/devices/an1?done=granted']);
    const page = visibleText((await b.get('/devices/an1')).text);
    expect(page).toContain('nobody@example.io');
    expect(page).toContain('installer@example.io');
    // A look-alike address is refused for what it is, and what was typed stays in the form.
    const lookalike = await b.post('/devices/an1/grants', { email: 'instаller@example.io', duration: '48h' });
    expect(lookalike.status).toBe(400);
    expect(visibleText(lookalike.text)).toContain('mixes letters of Cyrillic and Latin');
    expect(lookalike.text).toContain('value="instаller@example.io"');
    expect((await b.post('/devices/an1/grants', { email: 'installer@example.io', duration: '3y' })).status).toBe(400);
    expect((await bed.registry.listGrants('an1')).map((g) => g.email)).toEqual(['installer@example.io', 'nobody@example.io']);
  });

  it('answers someone else’s device exactly like a missing one, and unknown pages with a friendly 404', async () => {
    const b = await signedIn(bed.app, 'owner@example.io');
    const theirs = await b.get('/devices/an3');
    const missing = await b.get('/devices/an404');
    expect(theirs.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(theirs.text.replace('an3', 'X')).toBe(missing.text.replace('an404', 'X'));
    expect(visibleText(theirs.text)).toContain('owner@example.io'); // still in the layout, signed in
    expect((await b.post('/devices/an3/status', { status: 'disabled' })).status).toBe(404);
    expect((await bed.registry.getDevice('an3')).status).toBe('enabled');
    const nowhere = await b.get('/no/such/page');
    expect(nowhere.status).toBe(404);
    expect(visibleText(nowhere.text)).toContain('Not found there is no page at /no/such/page');
    expect(nowhere.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('refuses every owner form without a valid CSRF token or from another origin', async () => {
    const b = await signedIn(bed.app, 'owner@example.io');
    const before = await snapshotTables(bed.t.db);
    const forms: [string, Record<string, string>][] = [
      ['/devices/an1/status', { status: 'disabled' }],
      ['/devices/an1/policy', { policy: 'public' }],
      ['/devices/an1/tags', { tags: 'x' }],
      ['/devices/an1/grants', { email: 'installer@example.io', duration: '48h' }],
      ['/devices/an1/grants/revoke', { userId: other.id }],
    ];
    for (const [path, form] of forms) {
      expect((await b.go('POST', path, form)).status, `${path} without token`).toBe(403);
      expect((await b.post(path, { ...form, _csrf: 'A'.repeat(43) })).status, `${path} forged token`).toBe(403);
      expect((await b.post(path, form, { origin: 'https://an1.example.io', 'sec-fetch-site': 'same-site' })).status, `${path} from a device`).toBe(403);
    }
    expect(await snapshotTables(bed.t.db)).toEqual(before);
  });
});
