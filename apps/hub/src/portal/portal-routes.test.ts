// The portal through hono's app.request on both drivers: the claim flow end to end (agent starts
// over the API, browser signs up, approves with cookies + CSRF, returns to the device UI, agent
// poll gets the registration), cookie attributes, CSRF and Origin refusals, open-redirect cases,
// and the /auth/device ticket route.
import { Hono } from 'hono';
import { beforeEach, describe, expect, it } from 'vitest';
import { snapshotTables } from '@porthole/db/testing';
import { createApiRoutes } from '../api/api-routes.js';
import { PASSWORD, PORTAL, formClient } from '../testing/portal-harness.js';
import { testKey, useRegistryTestBed } from '../testing/registry-test-bed.js';
import { createPortalRoutes } from './portal-routes.js';
import { safeNextPath, serialFromDeviceHost } from './safe-redirect.js';
import { createTicketStore } from '../proxy/ticket-store.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

const drivers = await databaseDrivers('portal');


describe('safeNextPath', () => {
  it.each([
    ['/claim?code=BCDF-GHJK', '/claim?code=BCDF-GHJK'],
    ['/a/b#frag', '/a/b#frag'],
    ['//evil.com', '/'],
    ['/\\evil.com', '/'],
    ['https://evil.com', '/'],
    ['https:/\\evil.com', '/'],
    ['javascript:alert(1)', '/'],
    ['evil.com', '/'],
    ['/%0d%0aSet-Cookie:x', '/%0d%0aSet-Cookie:x'],
    ['/\r\nLocation: x', '/'],
    ['', '/'],
    [`/${'a'.repeat(3000)}`, '/'],
  ])('%j → %j', (input, expected) => expect(safeNextPath(input)).toBe(expected));
});

describe('serialFromDeviceHost', () => {
  it.each([
    ['an12345678.example.io', 'an12345678'],
    ['AN12345678.Example.IO:8443', 'an12345678'],
    ['a.b.example.io', undefined],
    ['example.io', undefined],
    ['an1.example.io.evil.com', undefined],
    ['an1.evilexample.io', undefined],
    ['-an1.example.io', undefined],
    ['', undefined],
  ])('%j → %j', (host, expected) => expect(serialFromDeviceHost(host, 'example.io')).toBe(expected));
});

/** The test kit's browser on the portal app, by path. */
const browser = formClient;

describe.each(drivers)('portal on %s', (driver) => {
  let tickets: ReturnType<typeof createTicketStore>;
  let app: Hono;
  const build = (secure: boolean) => {
    const root = new Hono();
    root.route('/api/v1', createApiRoutes({ registry: bed.registry }));
    root.route('/', createPortalRoutes({ registry: bed.registry, tickets, portalOrigin: PORTAL, deviceDomain: 'example.io', secure }));
    return root;
  };
  const bed = useRegistryTestBed(driver);
  beforeEach(async () => {
    tickets = createTicketStore({ now: () => bed.clock.now().getTime() });
    app = build(false);
  });

  it('claim flow end to end: agent starts, owner signs up and approves, browser returns, agent gets the registration', async () => {
    const agent = async (path: string, body: unknown) => {
      const res = await app.request(`/api/v1${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const start = await agent('/claims', { serial: 'AN12345678', publicKey: testKey('agent'), returnUrl: 'http://192.168.1.10/remote-access' });
    expect(start.status).toBe(201);
    const link = new URL(start.body.verificationUriComplete);
    expect(link.origin).toBe(PORTAL);

    const b = browser(app);
    const first = await b.go('GET', link.pathname + link.search);
    expect(first.status).toBe(303);
    expect(first.location).toBe(`/login?next=${encodeURIComponent(`/claim?code=${start.body.userCode}`)}`);
    const login = await b.go('GET', first.location!);
    expect(login.status).toBe(200);
    const signupLink = /href="(\/signup\?next=[^"]+)"/.exec(login.text)![1]!.replaceAll('&amp;', '&');
    const signupPage = await b.go('GET', signupLink);
    const signedUp = await b.go('POST', '/signup', {
      _csrf: signupPage.csrf!, next: `/claim?code=${start.body.userCode}`, email: 'owner@example.io', password: PASSWORD,
    });
    expect(signedUp.status).toBe(303);
    expect(signedUp.location).toBe(`/claim?code=${start.body.userCode}`);
    const cookie = b.setCookies().find((l) => l.startsWith('porthole_session='))!;
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).not.toMatch(/Domain=/i);

    expect((await agent('/claims/poll', { pollToken: start.body.pollToken })).body).toEqual({ status: 'pending' });
    const page = await b.go('GET', signedUp.location!);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<code>an12345678</code>');
    expect(page.text).toContain('192.168.1.10');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    // Not no-referrer: that makes browsers send `Origin: null` on the page's own posts (NAT lab).
    expect(page.headers.get('referrer-policy')).toBe('same-origin');
    expect(page.text).toContain('<meta name="referrer" content="same-origin"/>');

    // The form carries only the code and the choice: a returnUrl in the request is ignored.
    const approved = await b.go('POST', '/claim', { _csrf: page.csrf!, code: start.body.userCode, action: 'approve', returnUrl: 'https://evil.example/' });
    expect(approved.status).toBe(303);
    expect(approved.location).toBe('http://192.168.1.10/remote-access?claim=approved');

    bed.clock.advance(2000);
    const done = await agent('/claims/poll', { pollToken: start.body.pollToken });
    expect(done).toEqual({
      status: 200,
      body: {
        status: 'approved',
        registration: {
          serial: 'an12345678', tunnelIp: '100.64.0.2', overlayCidr: '100.64.0.0/10',
          hub: { publicKey: bed.registry.hub.publicKey, endpoint: 'hub.example.io:51820', endpoints: ['hub.example.io:51820'], tunnelIp: '100.64.0.1' },
          url: 'https://an12345678.example.io/', persistentKeepalive: 25,
        },
      },
    });
    expect((await bed.registry.getDevice('an12345678')).owner?.email).toBe('owner@example.io');
  });

  it('uses __Host- cookies with Secure over TLS', async () => {
    const b = browser(build(true));
    await bed.registry.signUp({ email: 'a@example.io', password: PASSWORD });
    const form = await b.go('GET', '/login');
    expect(b.setCookies()[0]).toMatch(/^__Host-porthole_csrf=[A-Za-z0-9_-]{43}; Max-Age=86400; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    const res = await b.go('POST', '/login', { _csrf: form.csrf!, next: '/', email: 'a@example.io', password: PASSWORD });
    expect(res.status).toBe(303);
    expect(b.setCookies()[0]).toMatch(/^__Host-porthole_session=ph_ses_[A-Za-z0-9_-]{43}; Max-Age=604800; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    const out = await b.go('POST', '/logout', { _csrf: (await b.go('GET', '/')).csrf! });
    expect(out.location).toBe('/login');
    expect(b.setCookies()[0]).toMatch(/^__Host-porthole_session=; Max-Age=0; Path=\/; Secure/);
  });

  it('refuses forged, cross-origin and same-site form posts without changing anything', async () => {
    await bed.registry.signUp({ email: 'a@example.io', password: PASSWORD });
    const b = browser(app);
    const form = await b.go('GET', '/login');
    const good = { _csrf: form.csrf!, next: '/', email: 'a@example.io', password: PASSWORD };
    const before = await snapshotTables(bed.t.db);
    for (const [name, fields, headers] of [
      ['no token', { ...good, _csrf: '' }, {}],
      ['foreign token', { ...good, _csrf: 'x'.repeat(43) }, {}],
      ['device origin', good, { origin: 'https://an12345678.example.io', 'sec-fetch-site': 'same-site' }],
      ['same-site fetch', good, { 'sec-fetch-site': 'same-site' }],
      ['cross-site fetch', good, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }],
    ] as const) {
      const res = await b.go('POST', '/login', fields, headers);
      expect(res.status, name).toBe(403);
      expect(res.text).toContain('Not allowed');
    }
    // A second browser's token does not fit the first browser's cookie.
    const other = browser(app);
    const otherForm = await other.go('GET', '/login');
    expect((await b.go('POST', '/login', { ...good, _csrf: otherForm.csrf! })).status).toBe(403);
    expect(await snapshotTables(bed.t.db)).toEqual(before);
    expect((await b.go('POST', '/login', good)).status).toBe(303);
  });

  it('shows login errors without saying whether the account exists, and never redirects off-site', async () => {
    await bed.registry.signUp({ email: 'a@example.io', password: PASSWORD });
    const b = browser(app);
    const form = await b.go('GET', '/login?next=//evil.com');
    expect(form.text).toContain('name="next" value="/"');
    const wrong = await b.go('POST', '/login', { _csrf: form.csrf!, next: '/x', email: 'a@example.io', password: 'nope nope nope' });
    const unknown = await b.go('POST', '/login', { _csrf: form.csrf!, next: '/x', email: 'b@example.io', password: 'nope nope nope' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.text.replace('a@example.io', 'EMAIL')).toBe(unknown.text.replace('b@example.io', 'EMAIL'));
    for (const next of ['https://evil.com/', '//evil.com', '/\\evil.com', 'javascript:alert(1)']) {
      const fresh = browser(app);
      const f = await fresh.go('GET', '/login');
      const res = await fresh.go('POST', '/login', { _csrf: f.csrf!, next, email: 'a@example.io', password: PASSWORD });
      expect(res.location, next).toBe('/');
    }
    const weak = await b.go('POST', '/signup', { _csrf: form.csrf!, next: '/', email: 'c@example.io', password: 'short' });
    expect(weak.status).toBe(400);
    expect(weak.text).toContain('at least 10 characters');
    expect(weak.text).toContain('value="c@example.io"');
  });

  it('escapes user input in pages', async () => {
    const b = browser(app);
    const user = await bed.registry.signUp({ email: 'a@example.io', password: PASSWORD });
    const login = await b.go('GET', '/login');
    await b.go('POST', '/login', { _csrf: login.csrf!, next: '/', email: user.email, password: PASSWORD });
    const page = await b.go('GET', `/claim?code=${encodeURIComponent('<script>x</script>')}`);
    expect(page.status).toBe(404);
    expect(page.text).not.toContain('<script>x');
    expect(page.text).toContain('&lt;script&gt;');
  });

  it('denies a claim and keeps the browser on the portal (never the starter’s returnUrl)', async () => {
    const start = await bed.registry.startClaim({ serial: 'an1', publicKey: testKey(1), returnUrl: 'http://10.0.0.5/' });
    await bed.registry.signUp({ email: 'a@example.io', password: PASSWORD });
    const b = browser(app);
    const login = await b.go('GET', '/login');
    await b.go('POST', '/login', { _csrf: login.csrf!, next: '/', email: 'a@example.io', password: PASSWORD });
    const page = await b.go('GET', `/claim?code=${start.userCode}`);
    const res = await b.go('POST', '/claim', { _csrf: page.csrf!, code: start.userCode, action: 'deny' });
    expect(res.status).toBe(200);
    expect(res.location).toBeNull();
    expect(res.text).toContain('Device an1 was not connected.');
    await expect(bed.registry.pollClaim(start.pollToken)).rejects.toThrow(/denied/);
  });

  it('issues a one-time device ticket to users who may reach the device', async () => {
    const { token } = await bed.registry.createEnrollmentToken({ createdBy: null, maxUses: 5 });
    await bed.registry.registerDevice({ serial: 'an5', publicKey: testKey(5), enrollmentToken: token });
    const owner = await bed.registry.signUp({ email: 'owner@example.io', password: PASSWORD });
    await bed.registry.signUp({ email: 'other@example.io', password: PASSWORD });
    await bed.registry.setDeviceOwner('an5', owner.id);

    const b = browser(app);
    const anon = await b.go('GET', '/auth/device?host=an5.example.io&next=/status');
    expect(anon.status).toBe(303);
    expect(anon.location).toBe(`/login?next=${encodeURIComponent('/auth/device?host=an5.example.io&next=/status')}`);
    const login = await b.go('GET', anon.location!);
    const back = await b.go('POST', '/login', { _csrf: login.csrf!, next: '/auth/device?host=an5.example.io&next=/status', email: 'owner@example.io', password: PASSWORD });
    expect(back.location).toBe('/auth/device?host=an5.example.io&next=/status');
    const go = await b.go('GET', back.location!);
    expect(go.status).toBe(303);
    const target = new URL(go.location!);
    expect(`${target.origin}${target.pathname}`).toBe('https://an5.example.io/.porthole/auth');
    expect(target.searchParams.get('next')).toBe('/status');
    const ticket = target.searchParams.get('ticket')!;
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await tickets.redeem(ticket, 'an6')).toBeUndefined(); // bound to its device (and now spent)
    const again = new URL((await b.go('GET', '/auth/device?host=an5.example.io&next=//evil.com')).location!);
    expect(again.searchParams.get('next')).toBe('/');
    expect(await tickets.redeem(again.searchParams.get('ticket')!, 'an5')).toEqual({ userId: owner.id, next: '/' });
    expect(await tickets.redeem(again.searchParams.get('ticket')!, 'an5')).toBeUndefined(); // single use

    const o = browser(app);
    const ol = await o.go('GET', '/login');
    await o.go('POST', '/login', { _csrf: ol.csrf!, next: '/', email: 'other@example.io', password: PASSWORD });
    const refused = await o.go('GET', '/auth/device?host=an5.example.io&next=/');
    const missing = await o.go('GET', '/auth/device?host=an404.example.io&next=/');
    expect(refused.status).toBe(403);
    expect(missing.status).toBe(403);
    expect(refused.text.replace('an5', 'X')).toBe(missing.text.replace('an404', 'X'));
    expect((await o.go('GET', '/auth/device?host=evil.com&next=/')).status).toBe(400);
    await bed.registry.setAccessPolicy('an5', 'public');
    expect((await o.go('GET', '/auth/device?host=an5.example.io&next=/')).status).toBe(303);
  });
});

