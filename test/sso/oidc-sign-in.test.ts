// Single sign-on end to end: a real OpenID provider (oidc-provider from npm, its own login and
// consent pages) on 127.0.0.1, a real hub (startTestHub, PGlite) on localhost with local passwords
// switched off, and headless Chromium clicking through. Proves: the first sign-in creates the
// account with the role its claim or e-mail domain maps to, the second reuses it; a tampered
// state, nonce or PKCE challenge and a replayed callback are refused and leave no session; an
// unverified address is refused; the password form is hidden and refused except for the bootstrap
// admin; a claim or an e-mail domain maps a first sign-in into an organisation with a role.
// Screenshots in test-artifacts/sso/.
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import Provider, { type Configuration } from 'oidc-provider';
import { chromium, type Browser, type Page } from 'playwright-core';
import { users } from '@porthole/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '@porthole/hub';
import { startTestHub, type TestHub } from '@porthole/hub/testing';
import { freePort } from '../support/free-port.js';
import { requirementsMet } from '../support/requirements.js';
import { CHROMIUM, CHROMIUM_FLAGS } from '../e2e/lab/browser.js';

const ok = requirementsMet('OIDC sign-in in the browser', { tools: ['chromium'] });

const SHOTS = join(process.cwd(), 'test-artifacts', 'sso');
const CLIENT = { id: 'porthole-hub', secret: 'test-client-secret-4b1e0c9f6a27d3e8' };
const ADMIN = { email: 'root@example.io', password: 'bootstrap admin password 77' };
const LOCAL = { email: 'local@example.io', password: 'local user password 88' };

/** The provider's accounts: login name → claims. */
const ACCOUNTS: Record<string, Record<string, unknown>> = {
  alice: { email: 'Alice@Example.io', email_verified: true, name: 'Alice', groups: ['staff', 'porthole-admins'] },
  bob: { email: 'bob@example.io', email_verified: true, name: 'Bob', groups: ['staff'] },
  carol: { email: 'carol@ops.example.io', email_verified: true, name: 'Carol', groups: [] },
  mallory: { email: 'mallory@example.io', email_verified: false, name: 'Mallory', groups: ['porthole-admins'] },
  dave: { email: 'dave@acme.example', email_verified: true, name: 'Dave', groups: ['fleet-techs'] },
  erin: { email: 'erin@beta.example', email_verified: true, name: 'Erin', groups: [] },
};

describe.skipIf(!ok)('sign-in with OpenID Connect in headless Chromium', () => {
  let hub: Hub;
  let provider: http.Server;
  let issuer: string;
  let portal: string;
  let testHub: TestHub | undefined;
  let browser: Browser;
  const timings: number[] = [];

  const userCount = async () => (await hub.database.db.select().from(users)).length;

  async function shot(page: Page, name: string) {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  }

  /** On the portal's home after sign-in: the device list, or for administrators the fleet overview. */
  const landed = (page: Page) => page.waitForURL((url) => url.href === `${portal}/` || url.href === `${portal}/admin`);

  /** Through the provider's own pages: its login form (any password), then consent when asked. */
  async function providerLogin(page: Page, login: string) {
    const loginPage = page.url();
    await page.getByPlaceholder('Enter any login').fill(login);
    await page.getByPlaceholder('and password').fill('provider password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.waitForURL((url) => url.href !== loginPage, { timeout: 10_000 });
    const consent = page.getByRole('button', { name: 'Continue' });
    if (await consent.isVisible().catch(() => false)) await consent.click();
  }

  /** A fresh browser (no provider or portal cookies) that starts a sign-in and stops at the provider's login page. */
  async function startSignIn(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${portal}/login`);
    await page.getByRole('button', { name: 'Sign in with Test IdP' }).click();
    await page.waitForURL(`${issuer}/interaction/**`);
    return page;
  }

  /** Signs `login` in and returns the page on the portal. */
  async function signIn(login: string): Promise<Page> {
    const page = await startSignIn();
    const t0 = performance.now();
    await providerLogin(page, login);
    await landed(page);
    timings.push(performance.now() - t0);
    return page;
  }

  /**
   * The callback's answer for a sign-in whose authorization request or answer `tamper` changes on
   * the way, as an attacker between browser and provider would. Both travel as redirects, and a
   * route sees only the first request of a redirect chain, so the test takes the redirect itself:
   * the hub's answer to "Sign in with" (Location: the provider's /auth?…), and the provider's
   * answers to its own login and consent forms, followed within the provider until one leaves it.
   */
  async function tamperedSignIn(login: string, tamper: { authorization?: (u: URL) => void; callback?: (u: URL) => void }) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.route(
      (url) => url.href === `${portal}/login/oidc`,
      async (route) => {
        const response = await route.fetch({ maxRedirects: 0 });
        const target = new URL(response.headers()['location']!);
        tamper.authorization?.(target);
        await route.fulfill({ status: response.status(), headers: { location: target.href } });
      },
    );
    await page.route(
      (url) => url.href.startsWith(`${issuer}/interaction/`),
      async (route) => {
        if (route.request().method() !== 'POST') return route.continue();
        let response = await route.fetch({ maxRedirects: 0 });
        let location = response.headers()['location'];
        while (location !== undefined && new URL(location, issuer).href.startsWith(`${issuer}/auth/`)) {
          response = await context.request.get(new URL(location, issuer).href, { maxRedirects: 0 });
          location = response.headers()['location'];
        }
        if (location === undefined) return route.fulfill({ response });
        const target = new URL(location, issuer);
        if (target.href.startsWith(`${portal}/login/oidc/callback`)) tamper.callback?.(target);
        return route.fulfill({ status: 303, headers: { location: target.href } });
      },
    );
    await page.goto(`${portal}/login`);
    await page.getByRole('button', { name: 'Sign in with Test IdP' }).click();
    await page.waitForURL(`${issuer}/interaction/**`);
    const answer = page.waitForResponse((r) => r.url().startsWith(`${portal}/login/oidc/callback`));
    await providerLogin(page, login);
    const response = await answer;
    return { page, status: response.status(), text: await page.locator('main').innerText() };
  }

  async function isSignedIn(page: Page): Promise<boolean> {
    await page.goto(`${portal}/devices`);
    return !page.url().startsWith(`${portal}/login`);
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const [hubPort, providerPort] = [await freePort(), await freePort()];
    issuer = `http://127.0.0.1:${providerPort}`;
    portal = `http://localhost:${hubPort}`;

    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const configuration: Configuration = {
      clients: [
        {
          client_id: CLIENT.id,
          client_secret: CLIENT.secret,
          redirect_uris: [`${portal}/login/oidc/callback`],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
        },
      ],
      // Every client must use PKCE (the provider then refuses a token request whose verifier does not match).
      pkce: { required: () => true },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
      scopes: ['openid', 'email', 'profile', 'groups'],
      jwks: { keys: [{ ...(privateKey.export({ format: 'jwk' }) as object), kid: 'test-key', use: 'sig', alg: 'RS256' }] },
      cookies: { keys: ['oidc-provider-test-cookie-key-1'] },
      findAccount: async (_ctx, id) => {
        const claims = ACCOUNTS[id];
        if (!claims) return undefined;
        return { accountId: id, claims: async () => ({ sub: `subject-${id}`, ...claims }) };
      },
      features: { devInteractions: { enabled: true } },
    };
    const oidc = new Provider(issuer, configuration);
    provider = http.createServer(oidc.callback());
    await new Promise<void>((resolve) => provider.listen(providerPort, '127.0.0.1', resolve));

    testHub = await startTestHub({
      name: 'sso',
      httpPort: hubPort,
      env: {
        PORTHOLE_ADMIN_EMAIL: ADMIN.email,
        PORTHOLE_ADMIN_PASSWORD: ADMIN.password,
        PORTHOLE_LOCAL_LOGIN: 'off',
        PORTHOLE_OIDC_ISSUER: issuer,
        PORTHOLE_OIDC_CLIENT_ID: CLIENT.id,
        PORTHOLE_OIDC_CLIENT_SECRET: CLIENT.secret,
        PORTHOLE_OIDC_NAME: 'Test IdP',
        PORTHOLE_OIDC_SCOPES: 'openid email profile groups',
        PORTHOLE_OIDC_ROLE_RULES: JSON.stringify([
          { claim: 'groups', value: 'porthole-admins', role: 'admin' },
          { emailDomain: 'ops.example.io', role: 'admin' },
          // Organisations: by e-mail domain, and a group claim raising the role in one.
          { emailDomain: 'acme.example', role: 'viewer', organization: 'Acme' },
          { claim: 'groups', value: 'fleet-techs', role: 'technician', organization: 'acme' },
          { emailDomain: 'beta.example', role: 'owner', organization: 'Beta Grid' },
        ]),
      },
    });
    hub = testHub.hub;
    expect(hub.portalUrl).toBe(portal);
    await hub.registry.signUp({ email: LOCAL.email, password: LOCAL.password });
    await hub.registry.createOrganization({ name: 'Acme' });
    await hub.registry.createOrganization({ name: 'Beta Grid' });

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  });

  afterAll(async () => {
    await browser?.close();
    await testHub?.close();
    await new Promise((resolve) => (provider ? provider.close(resolve) : resolve(undefined)));
    if (timings.length > 0) {
      const sorted = [...timings].sort((a, b) => a - b);
      console.log(`OIDC sign-in, provider login to portal page (${sorted.length} runs): median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms`);
    }
  });

  it('creates the account on the first sign-in with the role its claim maps to, and reuses it on the second', async () => {
    const before = await userCount();
    const page = await startSignIn();
    await shot(page, '01-provider-login');
    const t0 = performance.now();
    await providerLogin(page, 'alice');
    await landed(page);
    timings.push(performance.now() - t0);
    expect(await page.locator('header').innerText()).toContain('alice@example.io');
    await shot(page, '02-signed-in');
    const alice = await hub.registry.findUserByEmail('alice@example.io');
    expect(alice?.role).toBe('admin');
    expect(await userCount()).toBe(before + 1);
    // The admin navigation is there: the role came from the groups claim.
    expect(await page.getByRole('link', { name: 'Overview' }).count()).toBe(1);

    // Log out and sign in again: the provider remembers the browser, the hub the account.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${portal}/login`);
    await page.getByRole('button', { name: 'Sign in with Test IdP' }).click();
    await landed(page);
    expect((await hub.registry.findUserByEmail('alice@example.io'))?.id).toBe(alice!.id);
    expect(await userCount()).toBe(before + 1);
    await page.context().close();
  });

  it('maps an e-mail domain to admin and everyone else to user', async () => {
    const carol = await signIn('carol');
    expect((await hub.registry.findUserByEmail('carol@ops.example.io'))?.role).toBe('admin');
    await carol.context().close();
    const bob = await signIn('bob');
    expect((await hub.registry.findUserByEmail('bob@example.io'))?.role).toBe('user');
    expect(await bob.getByRole('link', { name: 'Overview' }).count()).toBe(0);
    await bob.context().close();
  });

  it('maps a first sign-in into an organisation with a role, by a group claim or an e-mail domain', async () => {
    const orgs = await hub.registry.listOrganizations('all');
    const idOf = (name: string) => orgs.find((o) => o.name === name)!.id;
    const roles = async (email: string) => {
      const user = await hub.registry.findUserByEmail(email);
      return { hubRole: user?.role, organizations: Object.fromEntries(await hub.registry.membershipsOf(user!.id)) };
    };
    const dave = await signIn('dave');
    await shot(dave, '05-organisation-member');
    // The domain rule says viewer, the group claim technician: the higher role wins.
    expect(await roles('dave@acme.example')).toEqual({ hubRole: 'user', organizations: { [idOf('Acme')]: 'technician' } });
    await dave.context().close();
    const erin = await signIn('erin');
    expect(await roles('erin@beta.example')).toEqual({ hubRole: 'user', organizations: { [idOf('Beta Grid')]: 'owner' } });
    await erin.context().close();
    // Someone no organisation rule names gets no membership.
    expect((await roles('bob@example.io')).organizations).toEqual({});
  });

  it('refuses an answer whose state, nonce or PKCE challenge was tampered with, and a replayed callback', async () => {
    const before = await userCount();
    const wrongState = await tamperedSignIn('bob', { callback: (u) => u.searchParams.set('state', 'A'.repeat(43)) });
    expect(wrongState.status).toBe(401);
    expect(wrongState.text).toContain('does not belong to this browser’s sign-in');
    await shot(wrongState.page, '03-wrong-state');
    expect(await isSignedIn(wrongState.page)).toBe(false);

    const wrongNonce = await tamperedSignIn('bob', { authorization: (u) => u.searchParams.set('nonce', 'nonce-chosen-by-an-attacker') });
    expect(wrongNonce.status).toBe(401);
    expect(wrongNonce.text).toContain('does not belong to this browser’s sign-in');
    expect(await isSignedIn(wrongNonce.page)).toBe(false);

    // A challenge that is not this browser's verifier's: the provider refuses the code (invalid_grant).
    const wrongPkce = await tamperedSignIn('bob', { authorization: (u) => u.searchParams.set('code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM') });
    expect(wrongPkce.status).toBe(401);
    expect(wrongPkce.text).toMatch(/Test IdP did not confirm the sign-in \(invalid_grant\)/);
    await shot(wrongPkce.page, '04-wrong-pkce');
    expect(await isSignedIn(wrongPkce.page)).toBe(false);

    expect(await userCount()).toBe(before);

    // A callback URL used twice (the flow cookie went with the first use).
    let callbackUrl = '';
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('request', (r) => {
      if (r.url().startsWith(`${portal}/login/oidc/callback`)) callbackUrl = r.url();
    });
    await page.goto(`${portal}/login`);
    await page.getByRole('button', { name: 'Sign in with Test IdP' }).click();
    await providerLogin(page, 'bob');
    await landed(page);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${portal}/login`);
    const replay = await page.goto(callbackUrl);
    expect(replay?.status()).toBe(401);
    expect(await page.locator('main').innerText()).toContain('was not started in this browser');
    expect(await isSignedIn(page)).toBe(false);
    await Promise.all([wrongState, wrongNonce, wrongPkce].map((r) => r.page.context().close()));
    await context.close();
  });

  it('refuses an address the provider has not verified, creating nothing', async () => {
    const before = await userCount();
    const page = await startSignIn();
    const answer = page.waitForResponse((r) => r.url().startsWith(`${portal}/login/oidc/callback`));
    await providerLogin(page, 'mallory');
    expect((await answer).status()).toBe(403);
    expect(await page.locator('main').innerText()).toContain('has not verified your address mallory@example.io');
    await shot(page, '05-unverified');
    expect(await hub.registry.findUserByEmail('mallory@example.io')).toBeUndefined();
    expect(await userCount()).toBe(before);
    expect(await isSignedIn(page)).toBe(false);
    await page.context().close();
  });

  it('with local passwords off hides the password form and refuses it, except for the bootstrap admin', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${portal}/login`);
    expect(await page.getByLabel('Password', { exact: true }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Sign up' }).count()).toBe(0);
    await shot(page, '06-login-sso-only');
    await page.goto(`${portal}/signup`);
    expect(page.url()).toMatch(new RegExp(`^${portal}/login`));

    // The bootstrap admin's way in: the password form at /login?method=password.
    const tryPassword = async (who: { email: string; password: string }) => {
      await page.goto(`${portal}/login?method=password`);
      await page.getByLabel('E-mail address').fill(who.email);
      await page.getByLabel('Password', { exact: true }).fill(who.password);
      const answer = page.waitForResponse((r) => r.url() === `${portal}/login` && r.request().method() === 'POST');
      await page.getByRole('button', { name: 'Log in' }).click();
      return (await answer).status();
    };
    // A local account's right password is refused like a wrong one.
    expect(await tryPassword(LOCAL)).toBe(401);
    expect(await page.locator('main').innerText()).toContain('e-mail address or password is wrong');
    expect(await isSignedIn(page)).toBe(false);
    await shot(page, '07-local-refused');
    expect(await tryPassword(ADMIN)).toBe(303);
    await landed(page);
    expect(await page.locator('header').innerText()).toContain(ADMIN.email);

    // A sign-up posted anyway is refused.
    const signUp = await page.request.post(`${portal}/signup`, { form: { email: 'new@example.io', password: 'new user password 55' }, headers: { origin: portal } });
    expect(signUp.status()).toBeGreaterThanOrEqual(400);
    expect(await hub.registry.findUserByEmail('new@example.io')).toBeUndefined();
    await context.close();
  });
});
