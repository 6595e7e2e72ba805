// The device side in headless Chromium: the demo meter with its embedded agent against a real hub
// (WireGuard over loopback). The owner picks an exposure window on the meter's Remote access page
// and sees it count down; visits through the hub appear in the access journal on the device; the
// device URL says the owner's window ended once it has. Screenshots go to test-artifacts/agent/.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, createDefaultTunnelFactory, memoryLogger, StateStore, type Agent } from '@porthole/agent';
import { createMeter, type RunningMeter } from '@porthole/demo-meter';
import { ADMIN_EMAIL, startHubHarness, until, type HubHarness } from '../agent/support/hub-harness.js';
import { CHROMIUM, CHROMIUM_FLAGS } from '../e2e/lab/browser.js';
import { REPO_ROOT } from '../e2e/lab/service.js';
import { requirementsMet } from '../support/requirements.js';

const ok = requirementsMet('agent pages in the browser', { tools: ['chromium'] });
const SHOTS = join(REPO_ROOT, 'test-artifacts', 'agent');
const SERIAL = 'an50000001';

describe.skipIf(!ok)('device pages in headless Chromium', () => {
  let hub: HubHarness;
  let agent: Agent;
  let meter: RunningMeter;
  let relay: net.Server;
  let stateDir: string;
  let browser: Browser;
  let page: Page;

  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    hub = await startHubHarness({ env: { PORTHOLE_MAX_EXPOSURE_HOURS: '24' } });
    const token = (await hub.api('POST', '/enrollment-tokens', { description: 'browser', maxUses: 1 })).json.token as string;
    stateDir = mkdtempSync(join(tmpdir(), 'porthole-browser-agent-'));
    // The agent's target is the meter that embeds it: a loopback relay whose port is known first.
    let meterPort = 0;
    relay = net.createServer((c) => {
      const m = net.connect(meterPort, '127.0.0.1');
      c.pipe(m).pipe(c);
      c.on('error', () => m.destroy());
      m.on('error', () => c.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
    agent = createAgent({
      hubUrl: new URL(hub.portalUrl),
      serial: SERIAL,
      target: new URL(`http://127.0.0.1:${(relay.address() as net.AddressInfo).port}`),
      enrollmentToken: token,
      store: StateStore.open(stateDir),
      tunnelFactory: createDefaultTunnelFactory(),
      logger: memoryLogger(),
    });
    meter = await createMeter({ agent }).listen();
    meterPort = meter.port;
    await agent.start();
    await until(() => agent.status().phase === 'online' && agent.status().exposure.maxHours === 24, 'the agent online with the fleet maximum', 15_000);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await agent?.close();
    await meter?.close();
    relay?.close();
    await hub?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('the owner picks "for 1 hour" on the meter’s Remote access page and sees it count down', async () => {
    const favicons: string[] = [];
    page.on('response', (r) => r.url().includes('favicon') && favicons.push(`${r.status()} ${new URL(r.url()).pathname}`));
    await page.goto(`${meter.url}/remote-access/`);
    await page.getByLabel('Password').fill('meter-demo');
    await Promise.all([page.waitForURL(`${meter.url}/remote-access/`), page.getByRole('button', { name: 'Log in' }).click()]);
    // Enrolled with a token: on until turned off. Disable, then enable for one hour.
    await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Disable' }).click()]);
    await expect.poll(() => page.locator('#phase').innerText()).toBe('Off');
    const choices = await page.getByRole('radio').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
    expect(choices).toEqual(['1', '8', '24']); // the fleet maximum (24 h) leaves out "until I turn it off"
    await page.getByLabel('for 1 hour').check();
    await shot('01-enable-choices');
    await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Enable remote access' }).click()]);
    await expect.poll(() => page.locator('#phase').innerText(), { timeout: 15_000 }).toBe('Online');
    await page.reload();
    const first = await page.locator('#countdown').innerText();
    expect(first).toMatch(/^(0 h 59 min|59 min \d+ s|1 h 0 min)$/);
    // The script ticks it without a reload.
    await expect.poll(() => page.locator('#countdown').innerText(), { timeout: 5000 }).not.toBe(first);
    expect(await page.locator('#window').innerText()).toMatch(/Remote access turns itself off at \d{4}-\d\d-\d\d \d\d:\d\d UTC: .* left\./);
    // The meter's own header around the agent's page.
    expect(await page.locator('header nav').innerText()).toContain('Dashboard');
    await shot('02-countdown');
    expect(favicons.every((f) => f.startsWith('200 '))).toBe(true);
  });

  it('visits through the hub appear in the access journal on the device page', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await hub.request(`${SERIAL}.localhost`, `/?visit=${i}`, { headers: { authorization: `Bearer ${hub.adminToken}` } });
      expect(r.status).toBe(200);
    }
    await until(() => agent.status().journal.some((e) => e.user?.email === ADMIN_EMAIL && e.requests === 4), 'the visit in the journal', 20_000, 100);
    await page.reload();
    const row = page.locator('#journal tr.visit').first();
    expect(await row.innerText()).toMatch(new RegExp(`${ADMIN_EMAIL.replace('.', '\\.')}\\s+127\\.0\\.0\\.1\\s+web interface, 4 requests`));
    await page.locator('#journal').scrollIntoViewIfNeeded();
    await shot('03-journal');
  });

  it('the device URL says the owner’s window ended, with the time', async () => {
    expect((await hub.api('PATCH', `/devices/${SERIAL}`, { accessPolicy: 'public' })).status).toBe(200);
    await agent.disable();
    await agent.enable({ windowHours: 3 / 3600 });
    await until(() => agent.status().phase === 'online', 'online with a short window', 15_000);
    const untilMs = agent.status().exposure.untilMs as number;
    await until(() => agent.status().exposure.endedAtMs !== undefined, 'the window to end', 15_000, 50);
    const deviceUrl = agent.status().publicUrl!;
    const res = await page.goto(deviceUrl);
    expect(res?.status()).toBe(502);
    expect(await page.locator('h1').innerText()).toBe("The owner's access window ended");
    expect(await page.locator('body').innerText()).toContain(`${new Date(untilMs).toISOString().replace('T', ' ').slice(0, 16)} UTC`);
    await shot('04-window-ended-at-hub');
    await page.goto(`${meter.url}/remote-access/`);
    expect(await page.locator('#window-ended').innerText()).toMatch(/The access window ended at .* UTC: the device turned remote access off by itself\./);
    await shot('05-window-ended-on-device');
  });
});
