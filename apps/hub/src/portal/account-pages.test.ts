// Portal pages for the security findings, through app.request on PGlite: login's next never leaves
// the host, sign-up never says an address is taken, password change and account disable end
// sessions, claim denial stays on the portal, a key replacement is spelled out (and confirmed by
// admins), and guessing claim codes is slowed down.
import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { devices } from '@porthole/db';
import { testKey } from '../testing/registry-test-bed.js';
import { usePortalTestBed, formClient, PASSWORD, signedIn, visibleText } from '../testing/portal-harness.js';

describe('portal security pages', () => {
  const bed = usePortalTestBed('pglite');

  it('never redirects off the host after login, whatever next says', async () => {
    await bed.registry.signUp({ email: 'anna@example.io', password: PASSWORD });
    for (const next of ['/.//evil.example', '/%2e//evil.example', '/\\evil.example', '/%2f%2fevil.example', '//evil.example']) {
      const b = formClient(bed.app);
      const page = await b.get(`/login?next=${encodeURIComponent(next)}`);
      const res = await b.post('/login', { next, email: 'anna@example.io', password: PASSWORD });
      expect(res.status).toBe(303);
      expect(res.location).toBe('/');
      expect(page.text).not.toContain('evil.example');
      // Signed in, the GET shortcut redirects at once: same check.
      expect((await b.get(`/login?next=${encodeURIComponent(next)}`)).location).toBe('/');
    }
  });

  it('sign-up answers a taken address like a failed login, and signs its owner in like a new account', async () => {
    await bed.registry.signUp({ email: 'taken@example.io', password: PASSWORD });
    const signUp = async (email: string, password: string) => {
      const b = formClient(bed.app);
      await b.get('/signup');
      return b.post('/signup', { next: '/devices', email, password });
    };
    const fresh = await signUp('fresh@example.io', 'a fresh password 1');
    const owner = await signUp('Taken@example.io', PASSWORD);
    expect([fresh.status, fresh.location]).toEqual([303, '/devices']);
    expect([owner.status, owner.location]).toEqual([303, '/devices']);
    expect(owner.headers.getSetCookie().some((c) => c.startsWith('porthole_session='))).toBe(true);
    const other = await signUp('taken@example.io', 'not the password 9');
    expect(other.status).toBe(401);
    const text = visibleText(other.text);
    expect(text).toContain('could not sign up with this e-mail address and password');
    expect(text).not.toMatch(/exists|already|taken/i);
    // Look-alikes are refused for what they are.
    const lookalike = await signUp('tаken@example.io', PASSWORD);
    expect(lookalike.status).toBe(400);
    expect(visibleText(lookalike.text)).toContain('mixes letters of Cyrillic and Latin');
  });

  it('changes the password after the current one; other sessions end, this browser stays signed in', async () => {
    await bed.registry.signUp({ email: 'pw@example.io', password: PASSWORD });
    const here = await signedIn(bed.app, 'pw@example.io');
    const elsewhere = await signedIn(bed.app, 'pw@example.io');
    await here.get('/account/password');
    const wrong = await here.post('/account/password', { currentPassword: 'not it at all', newPassword: 'a new password 42' });
    expect(wrong.status).toBe(401);
    expect(visibleText(wrong.text)).toContain('the current password is wrong');
    await here.get('/account/password');
    const done = await here.post('/account/password', { currentPassword: PASSWORD, newPassword: 'a new password 42' });
    expect([done.status, done.location]).toEqual([303, '/account/password?done=password']);
    expect(visibleText((await here.get('/account/password?done=password')).text)).toContain('Password changed.');
    expect((await elsewhere.get('/devices')).location).toMatch(/^\/login\?next=/);
    await expect(bed.registry.login({ email: 'pw@example.io', password: 'a new password 42', clientIp: null })).resolves.toBeDefined();
  });

  it('lets an admin disable and enable an account; the account is signed out and cannot sign in meanwhile', async () => {
    await bed.registry.signUp({ email: 'admin@example.io', password: PASSWORD, role: 'admin' });
    const worker = await bed.registry.signUp({ email: 'worker@example.io', password: PASSWORD });
    const admin = await signedIn(bed.app, 'admin@example.io');
    const session = await signedIn(bed.app, 'worker@example.io');
    expect((await session.get('/admin/users')).status).toBe(403);
    const list = await admin.get('/admin/users');
    expect(visibleText(list.text)).toContain('worker@example.io');
    const disabled = await admin.post(`/admin/users/${worker.id}/disable`);
    expect([disabled.status, disabled.location]).toEqual([303, '/admin/users?done=user-disabled']);
    expect((await session.get('/devices')).location).toMatch(/^\/login/);
    const b = formClient(bed.app);
    await b.get('/login');
    const refused = await b.post('/login', { next: '/', email: 'worker@example.io', password: PASSWORD });
    expect(refused.status).toBe(403);
    expect(visibleText(refused.text)).toContain('this account is disabled');
    await admin.get('/admin/users');
    expect((await admin.post(`/admin/users/${worker.id}/enable`)).location).toBe('/admin/users?done=user-enabled');
    await b.get('/login');
    expect((await b.post('/login', { next: '/', email: 'worker@example.io', password: PASSWORD })).status).toBe(303);
  });

  it('keeps a denial on the portal, never at the claim’s returnUrl', async () => {
    await bed.registry.signUp({ email: 'owner@example.io', password: PASSWORD });
    const claim = await bed.registry.startClaim({ serial: 'an20', publicKey: testKey(20), returnUrl: 'https://phish.example/welcome' });
    const b = await signedIn(bed.app, 'owner@example.io');
    const page = await b.get(`/claim?code=${claim.userCode}`);
    expect(page.status).toBe(200);
    const denied = await b.post('/claim', { code: claim.userCode, action: 'deny' });
    expect(denied.status).toBe(200);
    expect(denied.location).toBeNull();
    expect(visibleText(denied.text)).toContain('Device an20 was not connected.');
    expect(denied.text).not.toContain('phish.example');
  });

  it('spells out a key replacement with the old key’s last handshake; an admin must tick the confirmation', async () => {
    const owner = await bed.registry.signUp({ email: 'owner@example.io', password: PASSWORD });
    await bed.registry.signUp({ email: 'admin@example.io', password: PASSWORD, role: 'admin' });
    const first = await bed.registry.startClaim({ serial: 'an21', publicKey: testKey('genuine') });
    await bed.registry.approveClaim(first.userCode, owner);
    await bed.t.db.update(devices).set({ lastHandshakeAt: new Date('2029-12-31T23:55:00Z') }).where(eq(devices.serial, 'an21'));
    const phish = await bed.registry.startClaim({ serial: 'an21', publicKey: testKey('phish') });

    const admin = await signedIn(bed.app, 'admin@example.io');
    const page = visibleText((await admin.get(`/claim?code=${phish.userCode}`)).text);
    expect(page).toContain('Approving replaces the key of the registered device an21.');
    expect(page).toContain('its last handshake was 2029-12-31 23:55 UTC (5 min ago)');
    expect(page).toContain('I confirm replacing the key of device an21');
    const unconfirmed = await admin.post('/claim', { code: phish.userCode, action: 'approve' });
    expect(unconfirmed.status).toBe(409);
    expect(visibleText(unconfirmed.text)).toContain('confirm the replacement');
    expect((await bed.registry.getDevice('an21')).publicKey).toBe(testKey('genuine'));
    const confirmed = await admin.post('/claim', { code: phish.userCode, action: 'approve', confirmKeyReplacement: 'yes' });
    expect(confirmed.status).toBe(200);
    expect((await bed.registry.getDevice('an21')).publicKey).toBe(testKey('phish'));
  });

  it('slows down guessing claim codes with 429 pages', async () => {
    await bed.registry.signUp({ email: 'guesser@example.io', password: PASSWORD });
    const b = await signedIn(bed.app, 'guesser@example.io');
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) statuses.push((await b.get(`/claim?code=BCDF-GHJ${'KLMNPQRSTVWXZ'[i]}`)).status);
    expect(statuses).toEqual([...Array(11).fill(404), 429, 429]);
    const held = await b.get('/claim?code=BCDF-GHJK');
    expect(Number(held.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(visibleText(held.text)).toMatch(/too many unknown codes; wait \d+ seconds/);
  });
});
