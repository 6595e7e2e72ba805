// The portal in a real browser: headless Chromium (playwright-core, Debian's chromium) against a
// real hub (createHub on 127.0.0.1, PGlite in a temp dir) with 10,000 devices bulk-seeded. An admin
// finds one device by search and disables it; an owner grants an installer access for 48 h; the
// installer opens the device URL and lands on the device's own page through /auth/device and the
// one-time ticket. Screenshots of each step go to test-artifacts/portal/.
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import type { BrowserContext, Page } from 'playwright-core';
import { encodeKey, generatePrivateKey, publicKeyFromPrivate } from '@porthole/wireguard';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '@porthole/hub';
import { TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD, startTestHub, type TestHub } from '@porthole/hub/testing';
import { newDeviceKeys, startOverlayDevice, type OverlayDevice } from '../support/overlay-device.js';
import { requirementsMet } from '../support/requirements.js';
import { launchChromiumContext } from '../e2e/lab/browser.js';

const ok = requirementsMet('portal browser', { tools: ['chromium'] });

const ADMIN = { email: TEST_ADMIN_EMAIL, password: TEST_ADMIN_PASSWORD };
const OWNER = { email: 'owner@example.io', password: 'owner password 1234' };
const INSTALLER = { email: 'installer@example.io', password: 'installer password 99' };
const SEEDED = 10_000;
const TARGET = 'an00004242'; // seeded, online (i % 3 == 0), enabled
const SHOTS = join(process.cwd(), 'test-artifacts', 'portal');

describe.skipIf(!ok)('portal in headless Chromium', () => {
  let hub: Hub;
  let t: TestHub;
  let chrome: Awaited<ReturnType<typeof launchChromiumContext>> | undefined;
  let context: BrowserContext;
  let device: OverlayDevice | undefined;
  let portal: string;
  /** Created on the enrollment-token page by the admin, used for the owner's device. */
  let enrollToken = '';

  /** Screenshot of a step, after the accessibility basics of a portal page: one h1, every control labelled. */
  const shot = async (page: Page, name: string, portalPage = true) => {
    if (portalPage) {
      expect(await page.locator('h1').count(), `${name}: one h1`).toBe(1);
      type Control = { labels: { length: number } | null; getAttribute(n: string): string | null; outerHTML: string };
      const unlabelled = await page.$$eval('input:not([type=hidden]), select, textarea', (els) =>
        (els as unknown as Control[]).filter((el) => !el.labels?.length && !el.getAttribute('aria-label')).map((el) => el.outerHTML),
      );
      expect(unlabelled, `${name}: controls without a label`).toEqual([]);
      expect(await page.locator('html').getAttribute('lang'), `${name}: page language`).toBe('en');
    }
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  };

  async function login(page: Page, who: { email: string; password: string }) {
    await page.goto(`${portal}/login`);
    await page.getByLabel('E-mail address').fill(who.email);
    await page.getByLabel('Password', { exact: true }).fill(who.password);
    // Administrators land on the fleet overview, everyone else on their devices.
    const home = who === ADMIN ? `${portal}/admin` : `${portal}/`;
    await Promise.all([page.waitForURL(home), page.getByRole('button', { name: 'Log in' }).click()]);
  }

  async function logout(page: Page) {
    await Promise.all([page.waitForURL(`${portal}/login`), page.getByRole('button', { name: 'Log out' }).click()]);
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    t = await startTestHub({ name: 'browser' });
    hub = t.hub;
    portal = hub.portalUrl;

    // 10,000 devices in one statement (addresses far above what the allocator hands out here).
    await hub.database.db.execute(sql`
      insert into devices (organization_id, serial, public_key, tunnel_ip, status, tags, last_handshake_at)
      select '00000000-0000-4000-8000-000000000001'::uuid, 'an' || lpad(i::text, 8, '0'), encode(sha256(('browser-seed' || i)::bytea), 'base64'), '100.80.0.0'::inet + i,
             case when i % 50 = 0 then 'disabled' else 'enabled' end,
             case when i % 2 = 0 then array['fleet-a'] else array['fleet-b', 'berlin'] end,
             case when i % 3 = 0 then now() - (i % 60 || ' seconds')::interval else null end
      from generate_series(1, ${SEEDED}) as g(i)`);
    await hub.database.db.execute(sql`analyze devices`);

    chrome = await launchChromiumContext();
    context = chrome.context;
  });

  afterAll(async () => {
    await chrome?.close();
    await device?.close();
    await t?.close();
  });

  it('admin finds one device among 10,000 by search, disables it and sees it disabled', async () => {
    const page = context.pages()[0] ?? (await context.newPage());
    await login(page, ADMIN);
    await shot(page, '01-admin-home');
    await page.getByRole('link', { name: 'Overview' }).click();
    await expect.poll(() => page.locator('main').innerText()).toContain('Devices online');
    expect(await page.locator('main').innerText()).toMatch(/Disabled devices\s+200\s+of 10,000 registered/);
    await shot(page, '02-admin-overview');

    await page.getByRole('link', { name: 'All devices' }).click();
    await page.waitForURL(`${portal}/admin/devices`);
    expect(await page.locator('tbody tr').count()).toBe(50);
    await shot(page, '03-admin-devices');

    await page.getByLabel('Serial contains').fill('4242');
    await Promise.all([page.waitForURL(/q=4242/), page.getByRole('button', { name: 'Search' }).click()]);
    const rows = page.locator('tbody tr');
    // an00004242 plus the serials ending in 4242 elsewhere: only itself among 1..10,000.
    expect(await rows.count()).toBe(1);
    expect(await rows.first().innerText()).toMatch(new RegExp(`${TARGET}\\s+online`));
    await shot(page, '04-admin-search');

    await page.getByLabel(`Select ${TARGET}`).check();
    await Promise.all([page.waitForURL(/done=bulk-disabled/), page.getByRole('button', { name: 'Disable selected' }).click()]);
    expect(await page.getByRole('status').innerText()).toBe('1 device disabled.');
    expect(await rows.first().innerText()).toMatch(new RegExp(`${TARGET}\\s+disabled`));
    await shot(page, '05-admin-disabled');
    expect((await hub.registry.getDevice(TARGET)).status).toBe('disabled');

    // The device page says so too, and the "disabled" filter finds it.
    await page.getByRole('link', { name: TARGET, exact: true }).click();
    await page.waitForURL(`${portal}/devices/${TARGET}`);
    expect(await page.locator('main').innerText()).toMatch(/State\s+disabled/);
    await shot(page, '06-admin-device-page');
    await page.goto(`${portal}/admin/devices?status=disabled&q=${TARGET}`);
    expect(await page.locator('tbody tr').count()).toBe(1);
    await logout(page);
  });

  it('admin pages for tokens, peers and the access log render and work in the browser', async () => {
    const page = context.pages()[0]!;
    await login(page, ADMIN);
    await page.getByRole('link', { name: 'Enrollment tokens' }).click();
    await page.getByLabel('Description').fill('Browser test batch');
    await page.getByLabel('Devices it may enroll').fill('3');
    await page.getByLabel('Tags for its devices').fill('berlin');
    await page.getByRole('button', { name: 'Create enrollment token' }).click();
    const token = await page.locator('#secret').inputValue();
    expect(token).toMatch(/^ph_enr_/);
    await shot(page, '07-admin-enrollment-token');

    await page.getByRole('link', { name: 'WireGuard peers' }).click();
    await page.getByLabel('Name', { exact: true }).fill('alice-laptop');
    await page.getByLabel(/^Public key/).fill(encodeKey(publicKeyFromPrivate(generatePrivateKey())));
    await page.getByRole('button', { name: 'Add peer' }).click();
    await expect.poll(() => page.locator('pre').innerText()).toContain('[Interface]');
    expect(await page.locator('figure.qr svg').count()).toBe(1);
    await shot(page, '08-admin-peer');
    const download = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download configuration' }).click()]);
    expect(download[0].suggestedFilename()).toBe('ph-alice-laptop.conf');

    await page.getByRole('link', { name: 'Access log' }).click();
    await shot(page, '09-admin-access-log');
    await logout(page);
    enrollToken = token;
  });

  it('owner grants an installer 48 h of access; the installer opens the device URL and reaches the device', async () => {
    // A real device on the overlay (WireGuard over loopback UDP + netstack + HTTP on overlay port 80).
    const keys = newDeviceKeys();
    const serial = 'an77000001';
    const { registration, created } = await hub.registry.registerDevice({ serial, publicKey: keys.publicKey, enrollmentToken: enrollToken });
    expect(created).toBe(true);
    device = await startOverlayDevice(keys, registration, (req: http.IncomingMessage, out: http.ServerResponse) => {
      out.setHeader('content-type', 'text/html; charset=utf-8');
      out.end(`<!doctype html><title>Meter ${serial}</title><h1>Meter ${serial}</h1><p>path ${req.url}</p>`);
    });
    await expect.poll(() => hub.overlay.isOnline(registration.tunnelIp), { timeout: 10_000 }).toBe(true);

    // The owner signs up in the browser; the device becomes theirs (as an approved claim would do).
    const page = context.pages()[0]!;
    await page.goto(`${portal}/signup`);
    await page.getByLabel('E-mail address').fill(OWNER.email);
    await page.getByLabel(/^Password/).fill(OWNER.password);
    await Promise.all([page.waitForURL(`${portal}/`), page.getByRole('button', { name: 'Create account' }).click()]);
    const owner = (await hub.registry.findUserByEmail(OWNER.email))!;
    await hub.registry.setDeviceOwner(serial, owner.id);
    await hub.registry.signUp({ email: INSTALLER.email, password: INSTALLER.password });

    await page.getByRole('link', { name: 'My devices' }).click();
    expect(await page.locator('tbody tr').count()).toBe(1);
    await shot(page, '10-owner-my-devices');
    await page.getByRole('link', { name: serial, exact: true }).click();
    await page.getByLabel('Give access to (e-mail of an account)').fill(INSTALLER.email);
    expect(await page.getByLabel('For', { exact: true }).inputValue()).toBe('48h');
    await Promise.all([page.waitForURL(/done=granted/), page.getByRole('button', { name: 'Give access' }).click()]);
    expect(await page.getByRole('status').innerText()).toBe('Access granted.');
    expect(await page.locator('main').innerText()).toMatch(/installer@example\.io\s+just now\s+in (2 days|47 h)/);
    await shot(page, '11-owner-granted');
    const [grant] = await hub.registry.listGrants(serial);
    // The expiry is taken when the form arrives; the row's creation time a few ms later.
    const hours = (Date.parse(grant!.expiresAt!) - Date.parse(grant!.createdAt)) / 3600_000;
    expect(hours).toBeGreaterThan(47.99);
    expect(hours).toBeLessThanOrEqual(48);
    await logout(page);

    // The installer, in a fresh browser context of their own, logs in and opens the device URL.
    await context.clearCookies();
    const ipage = await context.newPage();
    await ipage.setViewportSize({ width: 390, height: 844 }); // a phone: the installer on site
    await login(ipage, INSTALLER);
    await shot(ipage, '12-installer-my-devices');
    const deviceUrl = hub.deviceUrl(serial);
    const hops: string[] = [];
    ipage.on('request', (r) => {
      if (r.isNavigationRequest()) hops.push(new URL(r.url()).origin + new URL(r.url()).pathname);
    });
    await ipage.goto(deviceUrl);
    await expect.poll(() => ipage.locator('h1').innerText()).toBe(`Meter ${serial}`);
    expect(new URL(ipage.url()).host).toBe(new URL(deviceUrl).host);
    expect(hops).toEqual([deviceUrl, `${portal}/auth/device`, `${deviceUrl}.porthole/auth`, deviceUrl]);
    const cookies = await context.cookies(deviceUrl);
    const deviceCookie = cookies.find((c) => c.name === 'porthole_device');
    expect(deviceCookie?.httpOnly).toBe(true);
    expect(deviceCookie?.domain).toBe(new URL(deviceUrl).hostname); // host-only, this device alone
    expect(cookies.some((c) => c.name.includes('porthole_session'))).toBe(false);
    await shot(ipage, '13-installer-on-device', false);
    await ipage.close();

    // Who reached what: the owner sees the installer's visit in the device's access log.
    await context.clearCookies();
    await login(page, OWNER);
    await expect
      .poll(async () => {
        await page.goto(`${portal}/devices/${serial}`);
        return page.locator('section[aria-labelledby="log-h"]').innerText();
      }, { timeout: 10_000 })
      .toMatch(/installer@example\.io\s+127\.0\.0\.1\s+GET \/\s+200/);
    await shot(page, '14-owner-access-log');
  });
});
