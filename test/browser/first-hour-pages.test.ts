// The portal pages of an operator's and an owner's first hour, in headless Chromium against a real
// hub: after "Enable remote access" the login and sign-up pages say why and which code; Approve and
// Deny look different; an admin lands on the overview and the admin header does not wrap at
// 1280 px; no page needs sideways scrolling on a 390 px phone; the 502 page says when the device was
// last seen in words; form errors name fields as the form labels them. Screenshots of every step go
// to test-artifacts/portal/first-hour-*.png.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '@porthole/hub';
import { TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD, startTestHub, type TestHub } from '@porthole/hub/testing';
import { newDeviceKeys } from '../support/overlay-device.js';
import { requirementsMet } from '../support/requirements.js';
import { launchChromiumContext } from '../e2e/lab/browser.js';

const ok = requirementsMet('portal first-hour pages', { tools: ['chromium'] });

/** The little of the browser the page functions use (this project compiles without DOM types). */
interface InPageElement {
  scrollWidth: number;
  clientWidth: number;
  parentElement: InPageElement | null;
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): Iterable<InPageElement>;
  getBoundingClientRect(): { top: number };
}
interface InPage {
  document: { documentElement: InPageElement; querySelectorAll(selector: string): Iterable<InPageElement> };
  innerWidth: number;
  getComputedStyle(element: unknown): { backgroundColor: string; color: string };
}

const ADMIN = { email: TEST_ADMIN_EMAIL, password: TEST_ADMIN_PASSWORD };
const OWNER = { email: 'new-owner@example.io', password: 'owner password 1234' };
const SHOTS = join(process.cwd(), 'test-artifacts', 'portal');
/** Seeded: owned by the admin, offline, last handshake three hours ago. */
const OFFLINE = 'an00000003';

describe.skipIf(!ok)('first-hour portal pages in headless Chromium', () => {
  let hub: Hub;
  let t: TestHub;
  let chrome: Awaited<ReturnType<typeof launchChromiumContext>> | undefined;
  let context: BrowserContext;
  let portal: string;

  const shot = async (page: Page, name: string) => {
    await page.screenshot({ path: join(SHOTS, `first-hour-${name}.png`), fullPage: true });
  };

  async function login(page: Page, who: { email: string; password: string }, landing: string) {
    await page.goto(`${portal}/login`);
    await page.getByLabel('E-mail address').fill(who.email);
    await page.getByLabel('Password', { exact: true }).fill(who.password);
    await Promise.all([page.waitForURL(`${portal}${landing}`), page.getByRole('button', { name: 'Log in' }).click()]);
  }

  /** Sideways scrolling a page would need: the page's own, and that of each table wrapper. */
  const overflow = (page: Page) =>
    page.evaluate(() => {
      const w = globalThis as unknown as InPage;
      return {
        page: w.document.documentElement.scrollWidth - w.innerWidth,
        tables: [...w.document.querySelectorAll('.table')].map((t) => t.scrollWidth - t.clientWidth),
      };
    });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    t = await startTestHub({ name: 'first-hour' });
    hub = t.hub;
    portal = hub.portalUrl;

    // Twelve devices of the admin's, with tags; none has a live tunnel here, so all are offline.
    const admin = (await hub.registry.findUserByEmail(ADMIN.email))!;
    await hub.database.db.execute(sql`
      insert into devices (organization_id, serial, public_key, tunnel_ip, status, tags, owner_id, last_handshake_at, agent_version)
      select '00000000-0000-4000-8000-000000000001'::uuid, 'an' || lpad(i::text, 8, '0'), encode(sha256(('first-hour' || i)::bytea), 'base64'), '100.80.0.0'::inet + i, 'enabled',
             array['fleet-north', 'building-' || i], ${admin.id}::uuid, now() - interval '3 hours', 'porthole-agent 0.1.0'
      from generate_series(1, 12) as g(i)`);
    // Visits with long paths and addresses: what makes tables wide.
    const at = Date.now();
    await hub.registry.appendAccessLog(
      Array.from({ length: 6 }, (_, i) => ({
        at: new Date(at - i * 60_000),
        serial: OFFLINE,
        userId: admin.id,
        clientIp: '2001:db8:85a3::8a2e:370:7334',
        method: 'GET',
        path: `/api/v1/measurements/energy/active-import/register-${i}?from=2026-01-01T00:00:00Z&to=2026-01-31T23:59:59Z`,
        status: 200,
        bytesIn: 512,
        bytesOut: 1_048_576,
        durationMs: 42,
      })),
    );
    await hub.registry.grantAccess(OFFLINE, { email: 'installer-with-a-long-address@north-fleet.example.io' });

    chrome = await launchChromiumContext();
    context = chrome.context;
  });

  afterAll(async () => {
    await chrome?.close();
    await t?.close();
  });

  it('after Enable, log-in and sign-up say a device is being connected and with which code; Approve and Deny look different', async () => {
    // What the agent does when the owner clicks "Enable remote access": start a claim, open its link.
    const res = await fetch(`${portal}/api/v1/claims`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ serial: 'an55500001', publicKey: newDeviceKeys().publicKey }),
    });
    expect(res.status).toBe(201);
    const claim = (await res.json()) as { userCode: string; verificationUriComplete: string };

    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(claim.verificationUriComplete);
    await page.waitForURL(/\/login\?next=/);
    const intro = page.getByRole('region', { name: 'Connecting a device' });
    expect(await intro.innerText()).toMatch(/A device is asking to be connected to your account/);
    expect(await intro.innerText()).toContain(`The code it showed you: ${claim.userCode}`);
    await shot(page, '01-login-after-enable');

    await page.getByRole('link', { name: 'Sign up' }).click();
    await page.waitForURL(/\/signup\?next=/);
    expect(await page.getByRole('region', { name: 'Connecting a device' }).innerText()).toContain(claim.userCode);
    await shot(page, '02-signup-after-enable');
    await page.getByLabel('E-mail address').fill(OWNER.email);
    await page.getByLabel(/^Password/).fill(OWNER.password);
    await Promise.all([page.waitForURL(/\/claim\?code=/), page.getByRole('button', { name: 'Create account' }).click()]);
    expect(await page.locator('main').innerText()).toContain('Device an55500001 asks to be connected to your account');

    const approve = page.getByRole('button', { name: 'Approve' });
    const deny = page.getByRole('button', { name: 'Deny' });
    const look = (el: typeof approve) =>
      el.evaluate((b) => {
        const style = (globalThis as unknown as InPage).getComputedStyle(b);
        return { background: style.backgroundColor, color: style.color };
      });
    const [a, d] = [await look(approve), await look(deny)];
    expect(a.background).not.toBe(d.background);
    expect(a.color).not.toBe(d.color);
    await shot(page, '03-approve-or-deny');
    await Promise.all([page.waitForURL(`${portal}/claim`), approve.click()]);
    expect(await page.locator('main').innerText()).toContain('Device an55500001 is connected to your account.');
    await page.getByRole('button', { name: 'Log out' }).click();
  });

  it('an admin lands on the overview, and the admin header keeps one line per row at 1280 px', async () => {
    const page = context.pages()[0]!;
    await login(page, ADMIN, '/admin');
    expect(await page.locator('h1').innerText()).toBe('Fleet overview');
    const rows = await page.evaluate(() =>
      [...(globalThis as unknown as InPage).document.querySelectorAll('header nav ul')].map((ul) => {
        const links = [...ul.querySelectorAll('a')].map((a) => a.getBoundingClientRect());
        return { name: ul.parentElement!.getAttribute('aria-label'), tops: [...new Set(links.map((r) => Math.round(r.top)))].length };
      }),
    );
    expect(rows).toEqual([
      { name: 'Main', tops: 1 },
      { name: 'Administration', tops: 1 },
    ]);
    // The account controls share the first row with the brand and the main navigation.
    const [brand, who] = await Promise.all([page.locator('.brand').boundingBox(), page.locator('header .who').boundingBox()]);
    expect(Math.abs(brand!.y + brand!.height / 2 - (who!.y + who!.height / 2))).toBeLessThan(who!.height);
    await shot(page, '04-admin-lands-on-overview-1280');
    // "My devices" is still one click away.
    await page.getByRole('link', { name: 'My devices' }).click();
    expect(await page.locator('tbody tr').count()).toBe(12);
  });

  it('a 390 px phone needs no sideways scrolling on the device pages, the admin lists and the access log', async () => {
    const page = await context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [path, name] of [
      ['/devices', '05-phone-my-devices'],
      [`/devices/${OFFLINE}`, '06-phone-device-page'],
      ['/admin/devices', '07-phone-all-devices'],
      ['/admin/access-log', '08-phone-access-log'],
      ['/admin', '09-phone-overview'],
    ] as const) {
      await page.goto(`${portal}${path}`);
      await shot(page, name);
      const o = await overflow(page);
      expect(o.page, `${path}: the page scrolls sideways by ${o.page} px`).toBeLessThanOrEqual(0);
      expect(o.tables.filter((w) => w > 1), `${path}: tables that scroll sideways (px)`).toEqual([]);
    }
    await page.close();
  });

  it('the 502 page of an offline device says when it was last seen in words, with the exact time in the markup', async () => {
    const page = context.pages()[0]!;
    await page.goto(hub.deviceUrl(OFFLINE));
    await expect.poll(() => page.locator('h1').innerText()).toBe('Device offline');
    const seen = page.locator('dd time');
    expect(await seen.innerText()).toMatch(/^3 h ago, \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(await seen.getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(await page.locator('body').innerText()).not.toMatch(/\d\dT\d\d:\d\d/);
    await shot(page, '10-device-offline-502');
  });

  it('a refused form names the field as the form labels it', async () => {
    const page = context.pages()[0]!;
    await page.goto(`${portal}/admin/peers`);
    await page.getByLabel('Name', { exact: true }).fill('anna-laptop');
    await page.getByLabel(/^Public key/).fill('not-a-key');
    await page.getByRole('button', { name: 'Add peer' }).click();
    const alert = await page.getByRole('alert').innerText();
    expect(alert).toMatch(/^Public key must be a WireGuard public key/);
    expect(alert).not.toContain('publicKey');
    await shot(page, '11-form-error-field-label');
  });
});
