// The owner's controls in headless Chromium, on a real hub with the real agent: the portal's device page shows
// the owner's exposure window (until when, the time left) and the installer links; the admin makes a
// read-only link (its URL shown once), someone without an account opens it and sees the device's
// page, a form on it is refused; the link is revoked from the portal. Screenshots go to
// test-artifacts/portal/installer-links-*.png.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentHarness, type AgentHarness } from '../agent/support/agent-harness.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startHubHarness, until, type HubHarness } from '../agent/support/hub-harness.js';
import { CHROMIUM, CHROMIUM_FLAGS } from '../e2e/lab/browser.js';
import { REPO_ROOT } from '../e2e/lab/service.js';
import { requirementsMet } from '../support/requirements.js';

const ok = requirementsMet('installer links in the browser', { tools: ['chromium'] });
const SHOTS = join(REPO_ROOT, 'test-artifacts', 'portal');
const SERIAL = 'an50000018';

describe.skipIf(!ok)('the exposure window and installer links in headless Chromium', () => {
  let hub: HubHarness;
  let device: AgentHarness;
  let browser: Browser;
  let page: Page;
  let linkUrl = '';

  const shot = (p: Page, name: string) => p.screenshot({ path: join(SHOTS, `installer-links-${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    hub = await startHubHarness({ env: { PORTHOLE_MAX_EXPOSURE_HOURS: '24' } });
    const token = (await hub.api('POST', '/enrollment-tokens', { description: 'browser links', maxUses: 1 })).json.token as string;
    device = await startAgentHarness({ hubUrl: hub.portalUrl, serial: SERIAL, enrollmentToken: token });
    await until(() => device.agent.status().phase === 'online', 'the agent online', 15_000);
    await device.agent.disable();
    await device.agent.enable({ windowHours: 8 });
    await until(() => device.agent.status().phase === 'online', 'online with an 8-hour window', 15_000);
    await until(async () => ((await hub.api('GET', `/devices/${SERIAL}`)).json.exposureUntil ? true : undefined), 'the window at the hub');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await device?.close();
    await hub?.close();
  });

  it('the device page shows the window with the time left, and makes a read-only link shown once', async () => {
    await page.goto(`${hub.portalUrl}/login`);
    await page.getByLabel('E-mail address').fill(ADMIN_EMAIL);
    await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
    await Promise.all([page.waitForURL(`${hub.portalUrl}/admin`), page.getByRole('button', { name: 'Log in' }).click()]);
    await page.goto(`${hub.portalUrl}/devices/${SERIAL}`);
    const window = page.locator('#exposure-window');
    await expect.poll(() => window.textContent()).toMatch(/^Open until \d{4}-\d\d-\d\d \d\d:\d\d UTC 7 h 5\d min left$/);
    expect(await page.locator('#links-h').textContent()).toBe('Installer links');
    await page.getByLabel('Valid for').selectOption('24');
    await page.getByLabel('Read-only link (view pages only)').check();
    await page.getByRole('button', { name: 'Make installer link' }).click();
    const url = page.getByLabel(/New link, valid until/);
    linkUrl = await url.inputValue();
    expect(linkUrl).toMatch(new RegExp(`^http://${SERIAL}\\.localhost:${hub.httpPort}/\\.porthole/link\\?token=ph_link_[A-Za-z0-9_-]{43}$`));
    const row = page.locator('table', { has: page.locator('caption', { hasText: 'Installer links' }) }).locator('tbody tr');
    expect(await row.count()).toBe(1);
    expect(await row.first().textContent()).toContain('read-only');
    await shot(page, 'device-page');
    // Shown once: the page after a reload lists the link, never its URL.
    await page.goto(`${hub.portalUrl}/devices/${SERIAL}`);
    expect(await page.content()).not.toContain(new URL(linkUrl).searchParams.get('token')!);
  });

  it('someone without an account opens the link and sees the device; a form on it is refused', async () => {
    const stranger = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    const p = await stranger.newPage();
    await p.goto(linkUrl);
    expect(new URL(p.url()).pathname).toBe('/');
    expect(await p.locator('h1').textContent()).toBe(`Meter ${SERIAL}`);
    await shot(p, 'holder-view');
    const status = await p.evaluate(async () => (await fetch('/settings', { method: 'POST', body: 'x=1' })).status);
    expect(status).toBe(403);
    await stranger.close();
  });

  it('revoking from the portal ends the link', async () => {
    await page.getByRole('button', { name: /Revoke installer link/ }).click();
    await expect.poll(() => page.locator('body').textContent()).toContain('Installer link revoked');
    await shot(page, 'revoked');
    const again = await browser.newContext();
    const p = await again.newPage();
    const res = await p.goto(linkUrl);
    expect(res?.status()).toBe(410);
    expect(await p.locator('body').textContent()).toContain('Installer link revoked');
    await again.close();
  });
});
