// Portal pages of an owner's and an admin's first hour, through app.request on PGlite (the browser
// side, with screenshots, is test/browser/first-hour-pages.test.ts): sign-in after "Enable remote
// access" says why and with which code, Approve and Deny are different buttons, an admin's home is
// the overview, the admin navigation is a row of its own, refused forms name fields as labelled.
import { describe, expect, it } from 'vitest';
import { testKey } from '../testing/registry-test-bed.js';
import { formMessage } from './layout.js';
import { usePortalTestBed, formClient, PASSWORD, signedIn, visibleText } from '../testing/portal-harness.js';
import { claimCodeIn } from './sign-in-pages.js';

describe('messages and links, without a page', () => {
  it('names a leading API field as the form labels it, and leaves other messages alone', () => {
    expect(formMessage('publicKey must be a WireGuard public key: 44 characters')).toBe('Public key must be a WireGuard public key: 44 characters');
    expect(formMessage('maxUses must be an integer from 1 to 1000000')).toBe('Devices it may enroll must be an integer from 1 to 1000000');
    expect(formMessage('email: the domain must be letters')).toBe('E-mail address: the domain must be letters');
    expect(formMessage('e-mail address or password is wrong')).toBe('e-mail address or password is wrong');
    expect(formMessage('constructor must not be looked up')).toBe('constructor must not be looked up');
    expect(formMessage('publicKeyish words')).toBe('publicKeyish words');
  });

  it('finds the code of a claim link among next paths', () => {
    expect(claimCodeIn('/claim?code=bcdf-ghjk')).toBe('BCDF-GHJK');
    expect(claimCodeIn('/claim')).toBeUndefined();
    expect(claimCodeIn('/devices?code=BCDF-GHJK')).toBeUndefined();
    expect(claimCodeIn('/claim?code=<script>')).toBeUndefined();
  });
});

describe('first-hour portal pages', () => {
  const bed = usePortalTestBed('pglite');

  it('log-in and sign-up reached from a claim link say a device is being connected, with its code', async () => {
    const claim = await bed.registry.startClaim({ serial: 'an55500001', publicKey: testKey('claim') });
    const b = formClient(bed.app);
    const toLogin = await b.get(new URL(claim.verificationUriComplete).pathname + new URL(claim.verificationUriComplete).search);
    expect(toLogin.status).toBe(303);
    const login = await b.get(toLogin.location!);
    expect(visibleText(login.text)).toContain('A device is asking to be connected to your account');
    expect(visibleText(login.text)).toContain(`The code it showed you: ${claim.userCode}`);
    // The serial is the next page's, after sign-in: an anonymous page does not turn codes into serials.
    expect(login.text).not.toContain('an55500001');
    const signUpHref = /href="(\/signup\?next=[^"]+)"/.exec(login.text)![1]!.replace(/&amp;/g, '&');
    expect(visibleText((await b.get(signUpHref)).text)).toContain(`The code it showed you: ${claim.userCode}`);
    // An ordinary log-in says nothing of the kind.
    expect(visibleText((await formClient(bed.app).get('/login')).text)).not.toContain('asking to be connected');
  });

  it('offers Approve and Deny as different buttons', async () => {
    await bed.registry.signUp({ email: 'owner@example.io', password: PASSWORD });
    const claim = await bed.registry.startClaim({ serial: 'an55500002', publicKey: testKey('claim-2') });
    const b = await signedIn(bed.app, 'owner@example.io');
    const page = await b.get(`/claim?code=${claim.userCode}`);
    expect(page.text).toMatch(/<button type="submit" name="action" value="approve" class="approve">/);
    expect(page.text).toMatch(/<button type="submit" name="action" value="deny" class="secondary deny">/);
  });

  it('sends an admin home to the overview and keeps an owner on their devices; the admin navigation is its own row', async () => {
    await bed.registry.signUp({ email: 'admin@example.io', password: PASSWORD, role: 'admin' });
    await bed.registry.signUp({ email: 'owner@example.io', password: PASSWORD });
    const admin = await signedIn(bed.app, 'admin@example.io');
    const home = await admin.get('/');
    expect(home).toMatchObject({ status: 303, location: '/admin' });
    const overview = await admin.get('/admin');
    expect(overview.text).toContain('<nav aria-label="Main">');
    expect(overview.text).toMatch(/<div class="bar admin">[\s\S]*<nav aria-label="Administration">/);
    const owner = await signedIn(bed.app, 'owner@example.io');
    const ownerHome = await owner.get('/');
    expect(ownerHome.status).toBe(200);
    expect(ownerHome.text).toContain('<title>My devices · Porthole</title>');
    expect(ownerHome.text).not.toContain('Administration');
  });

  it('names the field of a refused admin-peer key as the form labels it', async () => {
    await bed.registry.signUp({ email: 'admin@example.io', password: PASSWORD, role: 'admin' });
    const admin = await signedIn(bed.app, 'admin@example.io');
    await admin.get('/admin/peers');
    const refused = await admin.post('/admin/peers', { name: 'anna-laptop', publicKey: 'not-a-key', mode: 'paste' });
    expect(refused.status).toBe(400);
    expect(visibleText(refused.text)).toContain('Public key must be a WireGuard public key');
    expect(visibleText(refused.text)).not.toContain('publicKey');
  });
});
