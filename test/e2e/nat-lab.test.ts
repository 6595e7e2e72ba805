// The NAT lab: the whole product the way users meet it. A meter (demo meter + embedded
// agent) behind an nftables NAT, the hub on its "public" network with PostgreSQL behind a relay the
// test controls, an owner clicking Enable in a real browser, a visitor opening the serial URL.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirementsMet } from '../support/requirements.js';
import { startService, TSX } from './lab/service.js';
import { bytesReceived, curl, curlSha256 } from './lab/curl.js';
import { launchBrowserIn, screenshot, waitUrl, type LabBrowser } from './lab/browser.js';
import { ADMIN, DEVICE_HOST, HOST_RULES, METER_PASSWORD, METER_PORT, OWNER, PORTAL, SERIAL, registrationRows, startWorld, type World } from './lab/world.js';

function postgresAnswers(): string | undefined {
  try {
    execFileSync('pg_isready', ['-q', '-h', '127.0.0.1', '-p', '5432'], { stdio: 'ignore', timeout: 5_000 });
    return undefined;
  } catch {
    return 'needs PostgreSQL at 127.0.0.1:5432 (pg_isready)';
  }
}

const ok = requirementsMet('NAT lab', {
  root: true,
  tools: ['ip', 'nft', 'conntrack', 'chromium', 'curl', 'socat', 'pg_isready'],
  check: postgresAnswers,
});

describe.skipIf(!ok)('NAT lab', () => {
  let world: World;
  let owner: LabBrowser | undefined;
  let visitor: LabBrowser | undefined;
  /** The visitor's logged-in browser context (portal + device session + meter login), reused below. */
  let visitorContext: BrowserContext | undefined;
  const DEVICE_URL = `http://${DEVICE_HOST}/`;

  beforeAll(async () => {
    world = await startWorld();
  }, 180_000);

  afterAll(async () => {
    await owner?.close();
    await visitor?.close();
    await world?.close();
  }, 120_000);

  it('1. owner flow: Enable on the meter (inside lan), sign up and approve on the portal through the NAT, back on the meter showing the public URL', async () => {
    owner = await launchBrowserIn(world.lab.lan, HOST_RULES);
    const context = await owner.browser.newContext();
    const page = await context.newPage();
    const meterUrl = `http://127.0.0.1:${METER_PORT}/`;

    await page.goto(meterUrl);
    await expect.poll(() => page.locator('#power').textContent()).toMatch(/ W$/);
    await screenshot(page, 'meter-dashboard');

    await page.click('a[href="/remote-access/"]');
    await waitUrl(page, /\/login\?next=/);
    await page.fill('#pw', METER_PASSWORD);
    await page.click('button[type=submit]');
    await waitUrl(page, `${meterUrl}remote-access/`);
    expect(await page.textContent('#phase')).toBe('Off');
    await screenshot(page, 'remote-access-off');

    await page.click('#enable');
    // The agent started a claim: the browser is on the portal (reached from lan through the NAT).
    await waitUrl(page, new RegExp(`^${PORTAL}/login\\?next=`));
    await screenshot(page, 'portal-login');
    await page.click('a[href^="/signup"]');
    await page.fill('#email', OWNER.email);
    await page.fill('#password', OWNER.password);
    await page.click('button[type=submit]');
    await waitUrl(page, new RegExp(`^${PORTAL}/claim\\?code=`));
    expect(await page.textContent('body')).toContain(SERIAL);
    await screenshot(page, 'portal-approve');

    await page.click('button[value=approve]');
    await waitUrl(page, new RegExp(`^${meterUrl}remote-access/\\?claim=approved`));
    // The page refreshes itself until the tunnel is up.
    await expect
      .poll(async () => {
        await page.reload();
        return page.textContent('#phase');
      }, { timeout: 30_000, interval: 500 })
      .toBe('Online');
    expect(await page.textContent('#public-url')).toBe(`http://${DEVICE_HOST}/`);
    await screenshot(page, 'remote-access-online');

    const device = await world.api('GET', `/devices/${SERIAL}`);
    expect(device.status).toBe(200);
    expect(device.json.serial).toBe(SERIAL);
    expect(device.json.status).toBe('enabled');
    await context.close();
  }, 120_000);

  it('2. visitor: the serial URL sends them through portal login and shows the meter through the tunnel, the WebSocket chart updates, a settings post reaches the device', async () => {
    visitor = await launchBrowserIn(world.lab.visitor, HOST_RULES);
    const context = await visitor.browser.newContext();
    const page = await context.newPage();
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));

    await page.goto(DEVICE_URL);
    await waitUrl(page, new RegExp(`^${PORTAL}/login\\?next=`));
    await screenshot(page, 'visitor-portal-login');
    await page.fill('#email', OWNER.email);
    await page.fill('#password', OWNER.password);
    await page.click('button[type=submit]');
    // /auth/device → one-time ticket → the device host sets its own cookie → the meter page.
    await waitUrl(page, DEVICE_URL);
    expect(await page.title()).toBe('Demo meter');
    const chart = page.locator('#live');
    const firstPoints = await chart.getAttribute('points');
    await expect.poll(() => chart.getAttribute('points'), { timeout: 10_000 }).not.toBe(firstPoints);
    expect(sockets).toEqual([`ws://${DEVICE_HOST}/ws`]);
    expect(await page.textContent('#live-state')).toBe('');
    await screenshot(page, 'visitor-meter-live');

    // The meter's own login (its password), then a settings change through the tunnel.
    await page.click('a[href="/login"]');
    await page.fill('#pw', METER_PASSWORD);
    await page.click('button[type=submit]');
    await waitUrl(page, DEVICE_URL);
    await page.fill('#name', 'Meter via Porthole');
    await page.fill('#limit', '7500');
    await page.click('form[action="/settings"] button[type=submit]');
    await waitUrl(page, `${DEVICE_URL}?saved=settings`);
    expect(await page.title()).toBe('Meter via Porthole');
    expect(await page.textContent('#notice')).toBe('Settings saved.');
    await screenshot(page, 'visitor-settings-saved');
    // The change took effect on the device itself (asked from inside lan, not through the hub).
    const onDevice = await curl(world.lab.lan, `http://127.0.0.1:${METER_PORT}/api/readings`);
    expect(JSON.parse(onDevice.body).settings).toMatchObject({ name: 'Meter via Porthole', powerLimitW: 7500 });
    visitorContext = context;
  }, 120_000);

  it('3. data integrity: a 200 MiB CSV export and a 50 MiB firmware upload through the proxy arrive with identical SHA-256', async () => {
    const page = await visitorContext!.newPage();
    await page.goto(DEVICE_URL);
    // The firmware form carries the meter's CSRF token; curl reuses the browser's cookies
    // (device session from the portal, the meter's own login).
    const action = await page.getAttribute('form[enctype="multipart/form-data"]', 'action');
    const csrf = new URL(action!, DEVICE_URL).searchParams.get('csrf')!;
    const cookie = (await visitorContext!.cookies(DEVICE_URL)).map((c) => `${c.name}=${c.value}`).join('; ');
    expect(cookie).toMatch(/porthole_device=/);
    await page.close();

    const MIB = 1024 * 1024;
    const direct = await curlSha256(world.lab.lan, `http://127.0.0.1:${METER_PORT}/export.csv?mb=200`);
    expect(direct).toMatchObject({ status: 200, bytes: 200 * MIB });
    const down = await curlSha256(world.lab.visitor, `${DEVICE_URL}export.csv?mb=200`, { headers: { cookie }, resolve: world.resolve(), maxTimeSeconds: 240 });
    console.log(`200 MiB download through the proxy: ${down.seconds.toFixed(1)} s, ${((down.bytes * 8) / down.seconds / 1e6).toFixed(0)} Mbit/s`);
    expect(down).toMatchObject({ status: 200, bytes: 200 * MIB, sha256: direct.sha256 });

    const seed = randomBytes(4).readUInt32BE(0);
    console.log(`firmware upload: seed ${seed}`);
    const firmware = join(world.dataDir, 'firmware.bin');
    const body = seededBytes(seed, 50 * MIB);
    writeFileSync(firmware, body);
    const up = await curl(world.lab.visitor, `${DEVICE_URL}firmware?csrf=${encodeURIComponent(csrf)}`, {
      method: 'POST',
      // As the meter's own page would send it: the hub honours the device cookie on a POST only from the device's origin.
      headers: { cookie, origin: new URL(DEVICE_URL).origin, 'content-type': 'application/octet-stream', accept: 'application/json' },
      dataFile: firmware,
      resolve: world.resolve(),
      maxTimeSeconds: 180,
    });
    console.log(`50 MiB upload through the proxy: ${up.seconds.toFixed(1)} s, ${((body.length * 8) / up.seconds / 1e6).toFixed(0)} Mbit/s`);
    expect(up.status).toBe(200);
    expect(JSON.parse(up.body)).toEqual({ bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') });
  }, 300_000);

  it('4. NAT rebinding: mappings flushed and the source port range changed mid-download; the transfer completes intact and the hub follows the new port', async () => {
    const cookie = (await visitorContext!.cookies(DEVICE_URL)).map((c) => `${c.name}=${c.value}`).join('; ');
    const direct = await curlSha256(world.lab.lan, `http://127.0.0.1:${METER_PORT}/export.csv?mb=64`);
    const before = await world.lab.udpMappings();
    expect(before).toMatch(/dport=51820/);
    // The agent's mapping: original tuple from the device, reply tuple to the NAT's public port.
    const mapping = /src=192\.168\.77\.2 dst=198\.18\.0\.1 sport=\d+ dport=51820 .*?src=198\.18\.0\.1 dst=198\.18\.0\.2 sport=51820 dport=(\d+)/;
    const oldPort = Number(mapping.exec(before)?.[1]);
    expect(oldPort).toBeGreaterThan(0);

    const TOTAL = 64 * 1024 * 1024;
    const progressFile = join(mkdtempSync(join(tmpdir(), 'nat-lab-progress-')), 'dd');
    let settled = false;
    const download = curlSha256(world.lab.visitor, `${DEVICE_URL}export.csv?mb=64`, { headers: { cookie }, resolve: world.resolve(), maxTimeSeconds: 120, progressFile })
      .catch((err: Error) => err)
      .finally(() => (settled = true));
    // Mid-transfer by the byte count, not by a sleep a fast transfer could outrun: some data through
    // the old mapping, most of it still to come through the new one.
    await expect.poll(() => settled || bytesReceived(progressFile) >= 4 * 1024 * 1024, { timeout: 60_000, interval: 50 }).toBe(true);
    const NEW_PORTS: [number, number] = [40000, 40099];
    await world.lab.setMasqueradePorts(NEW_PORTS);
    await world.lab.flushConntrack();
    const changedAt = bytesReceived(progressFile);
    expect(settled, 'the download ended before the NAT changed: nothing was tested').toBe(false);
    const result = await download;
    console.log(`NAT changed after ${(changedAt / 2 ** 20).toFixed(0)} MiB of 64`);
    if (!(result instanceof Error)) console.log(`64 MiB download across the rebinding: ${result.seconds.toFixed(1)} s`);
    expect(result).toMatchObject({ status: 200, bytes: 64 * 1024 * 1024, sha256: direct.sha256 });

    // The NAT now maps the agent's socket to a port from the new range, and the hub (WireGuard
    // roaming on the next authenticated packet) sends there: the registry shows it.
    const after = await world.lab.udpMappings();
    const wanPort = Number(mapping.exec(after)?.[1]);
    expect(wanPort).toBeGreaterThanOrEqual(NEW_PORTS[0]);
    expect(wanPort).toBeLessThanOrEqual(NEW_PORTS[1]);
    expect(wanPort).not.toBe(oldPort);
    await expect
      .poll(async () => (await world.api('GET', `/devices/${SERIAL}`)).json.lastEndpoint, { timeout: 20_000, interval: 500 })
      .toBe(`198.18.0.2:${wanPort}`);
    // And a fresh request works at once.
    expect((await world.visit(`${DEVICE_URL}api/readings`, { headers: { cookie } })).status).toBe(200);
  }, 180_000);

  it('5. hub restart: the device is reachable again without touching it; no registration lost', async () => {
    const asAdmin = { headers: { authorization: `Bearer ${ADMIN.token}` } };
    expect((await world.visit(`${DEVICE_URL}api/readings`, asAdmin)).status).toBe(200);
    const rowsBefore = await registrationRows(world);
    expect(rowsBefore.map((r) => r.serial)).toContain(SERIAL);

    const { stoppedAt, listeningAt } = await world.restartHub();
    let reachableAt = 0;
    for (;;) {
      const r = await world.visit(`${DEVICE_URL}api/readings`, { ...asAdmin, maxTimeSeconds: 5 });
      if (r.status === 200) {
        reachableAt = Date.now();
        break;
      }
      expect([502, 504]).toContain(r.status); // offline page while the tunnel comes back, nothing else
      if (Date.now() - listeningAt > 60_000) throw new Error(`device not back 60 s after the hub restart (last ${r.status})`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const downMs = reachableAt - stoppedAt;
    const backMs = reachableAt - listeningAt;
    console.log(`hub restart: stopped → listening ${((listeningAt - stoppedAt) / 1000).toFixed(1)} s; listening → device reachable ${(backMs / 1000).toFixed(1)} s (total ${(downMs / 1000).toFixed(1)} s)`);
    expect(await registrationRows(world)).toEqual(rowsBefore);
  }, 180_000);

  it('6. isolation and auth: a second device cannot reach the first one\'s tunnel IP; a user without a grant gets 403; device pages never see the portal session', async () => {
    const SECOND = 'an87654321';
    const first = await world.api('GET', `/devices/${SERIAL}`);
    const token = await world.api('POST', '/enrollment-tokens', { description: 'NAT lab second device', maxUses: 1 });
    expect(token.status).toBe(201);
    const second = startService(world.lab.lan, 'second-device', TSX, ['test/e2e/fixtures/second-device.ts'], {
      HUB_URL: PORTAL,
      ENROLLMENT_TOKEN: token.json.token,
      SERIAL: SECOND,
      OTHER_TUNNEL_IP: first.json.tunnelIp,
    });
    try {
      const probes = await second.waitFor((l) => l.event === 'probes', 'the second device\'s probes', 60_000);
      // Its tunnel works (the hub's stack answers with a RST: nothing listens on the hub's port 80),
      // but its SYNs to the first device never arrive: the hub's router drops device-to-device.
      expect(probes).toMatchObject({ hub: 'ECONNREFUSED', other: 'ETIMEDOUT' });

      // A signed-up user without a grant: the portal refuses the device login with 403.
      const strangerContext = await visitor!.browser.newContext();
      const stranger = await strangerContext.newPage();
      await stranger.goto(DEVICE_URL);
      await waitUrl(stranger, new RegExp(`^${PORTAL}/login\\?next=`));
      await stranger.click('a[href^="/signup"]');
      await stranger.fill('#email', 'stranger@porthole.test');
      await stranger.fill('#password', 'stranger password 0123');
      const refused = stranger.waitForResponse((r) => r.url().startsWith(`${PORTAL}/auth/device`) && r.request().method() === 'GET');
      await stranger.click('button[type=submit]');
      expect((await refused).status()).toBe(403);
      expect(await stranger.textContent('body')).toContain(`Your account has no access to device ${SERIAL}`);
      await screenshot(stranger, 'stranger-403');
      // Straight at the device host, the stranger has no device cookie: sent to log in, never through.
      const direct = await stranger.goto(DEVICE_URL);
      expect(new URL(direct!.url()).host).toBe('porthole.test');
      await strangerContext.close();

      // What a device sees: the second device echoes the request headers it receives.
      const adminContext = await visitor!.browser.newContext();
      const page = await adminContext.newPage();
      await page.goto(`http://${SECOND}.porthole.test/headers?x=1`);
      await waitUrl(page, new RegExp(`^${PORTAL}/login\\?next=`));
      await page.fill('#email', ADMIN.email);
      await page.fill('#password', ADMIN.password);
      await page.click('button[type=submit]');
      await waitUrl(page, `http://${SECOND}.porthole.test/headers?x=1`);
      const echoed = (await page.textContent('body'))!;
      if (!echoed.startsWith('{')) throw new Error(`not the device's echo: ${echoed.replace(/\s+/g, ' ').slice(0, 400)}`);
      const seen = JSON.parse(echoed) as { headers: Record<string, string> };
      const portalCookies = await adminContext.cookies(PORTAL);
      const deviceCookies = await adminContext.cookies(`http://${SECOND}.porthole.test/`);
      const session = portalCookies.find((c) => /session/.test(c.name));
      const deviceSession = deviceCookies.find((c) => c.name === 'porthole_device');
      expect(session?.value).toBeTruthy();
      expect(deviceSession?.httpOnly).toBe(true);
      const seenText = JSON.stringify(seen.headers);
      expect(seenText).not.toContain(session!.value);
      expect(seenText).not.toContain(deviceSession!.value);
      expect(seenText).not.toMatch(/porthole_device|porthole_session/);
      expect(seen.headers.authorization).toBeUndefined();
      expect(await page.evaluate('document.cookie')).not.toMatch(/porthole/);
      // The device's Domain=porthole.test cookie came back host-only: not on the portal, not on other devices.
      expect(deviceCookies.find((c) => c.name === 'planted')?.domain).toBe(`${SECOND}.porthole.test`);
      expect(portalCookies.find((c) => c.name === 'planted')).toBeUndefined();
      expect((await adminContext.cookies(DEVICE_URL)).find((c) => c.name === 'planted')).toBeUndefined();
      await adminContext.close();

      // And on the meter page of the owner's visit: nothing of the portal's readable by its scripts.
      const meterPage = await visitorContext!.newPage();
      await meterPage.goto(DEVICE_URL);
      expect(await meterPage.evaluate('document.cookie')).not.toMatch(/porthole/);
      await meterPage.close();
    } finally {
      await second.stop();
    }
  }, 180_000);

  /**
   * One visit of the device URL from `visitor` right after an action was answered: ordering, not a
   * stopwatch (the answer must already hold); how long after the action it came is printed only.
   */
  async function visitAfter(sinceMs: number): Promise<{ status: number; body: string; ms: number }> {
    const r = await world.visit(`${DEVICE_URL}api/readings`, { headers: { authorization: `Bearer ${ADMIN.token}` }, maxTimeSeconds: 15 });
    return { status: r.status, body: r.body, ms: Date.now() - sinceMs };
  }
  async function untilReachable(sinceMs: number, what: string): Promise<number> {
    for (;;) {
      const r = await world.visit(`${DEVICE_URL}api/readings`, { headers: { authorization: `Bearer ${ADMIN.token}` }, maxTimeSeconds: 15 });
      if (r.status === 200) return Date.now() - sinceMs;
      if (Date.now() - sinceMs > 90_000) throw new Error(`${what}: the device is not back after 90 s (last ${r.status})`);
      await new Promise((res) => setTimeout(res, 250));
    }
  }

  it('7a. disable from the portal: the URL is refused from the first visit after the post, and says why; enabling brings it back', async () => {
    const page = await visitorContext!.newPage(); // the owner, logged in on the portal
    await page.goto(`${PORTAL}/devices/${SERIAL}`);
    expect(await page.textContent('body')).toContain(SERIAL);
    await screenshot(page, 'portal-device-page');
    const posted = page.waitForResponse((r) => r.url() === `${PORTAL}/devices/${SERIAL}/status` && r.request().method() === 'POST');
    await page.click('button[name=status][value=disabled]');
    await posted;
    const refused = await visitAfter(Date.now());
    console.log(`disable from the portal: device URL refused ${refused.ms} ms after the form post`);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/Remote access disabled/);
    const shown = await page.goto(DEVICE_URL);
    expect(shown!.status()).toBe(403);
    expect(await page.textContent('h1')).toBe('Remote access disabled');
    await screenshot(page, 'device-disabled-by-portal');

    await page.goto(`${PORTAL}/devices/${SERIAL}`);
    const enabledAt = Date.now();
    await page.click('button[name=status][value=enabled]');
    const backMs = await untilReachable(enabledAt, 'portal enable');
    console.log(`enable from the portal: device reachable again after ${(backMs / 1000).toFixed(1)} s`);
    await page.close();
  }, 180_000);

  it('7b. disable on the device\'s own page: the URL is refused from the first visit after Disable answers, and says why; Enable brings it back', async () => {
    const context = await owner!.browser.newContext();
    const page = await context.newPage();
    const meterUrl = `http://127.0.0.1:${METER_PORT}/`;
    await page.goto(`${meterUrl}login?next=/remote-access/`);
    await page.fill('#pw', METER_PASSWORD);
    await page.click('button[type=submit]');
    await waitUrl(page, `${meterUrl}remote-access/`);
    expect(await page.textContent('#phase')).toBe('Online');
    const posted = page.waitForResponse((r) => r.url() === `${meterUrl}remote-access/disable` && r.request().method() === 'POST');
    await page.click('#disable');
    await posted; // the agent answers once its tunnel is down
    const refused = await visitAfter(Date.now());
    console.log(`disable on the device: device URL refused ${refused.ms} ms after the Disable response with ${refused.status}: ${refused.body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 200)}`);
    await waitUrl(page, `${meterUrl}remote-access/`);
    expect(await page.textContent('#phase')).toBe('Off');
    await screenshot(page, 'device-disabled-locally');
    expect(refused.status).not.toBe(200);
    expect(refused.body).toMatch(/turned off on the device|disabled on the device/i);

    const enabledAt = Date.now();
    await page.click('#enable');
    await waitUrl(page, `${meterUrl}remote-access/`);
    const backMs = await untilReachable(enabledAt, 'device enable');
    console.log(`enable on the device: device reachable again after ${(backMs / 1000).toFixed(1)} s`);
    await context.close();
  }, 180_000);

  it('8. PostgreSQL outage: proxying to the online device continues, the portal and API answer 503 with a clear message, all recovers without a restart', async () => {
    const deviceCookie = (await visitorContext!.cookies(DEVICE_URL)).map((c) => `${c.name}=${c.value}`).join('; ');
    const portalCookie = (await visitorContext!.cookies(PORTAL)).map((c) => `${c.name}=${c.value}`).join('; ');
    const asOwner = { headers: { cookie: deviceCookie } };
    expect((await world.visit(`${DEVICE_URL}api/readings`, asOwner)).status).toBe(200);
    expect((await world.visit(`${PORTAL}/devices`, { headers: { cookie: portalCookie } })).status).toBe(200);
    const hubPid = world.hub.process.pid;

    await world.relay.cut();
    const cutAt = Date.now();
    try {
      // Past every cache (device directory 5 s, session re-check 5 s): the device keeps being served.
      let served = 0;
      while (Date.now() - cutAt < 12_000) {
        const r = await world.visit(`${DEVICE_URL}api/readings`, { ...asOwner, maxTimeSeconds: 5 }).catch((err: Error) => {
          throw new Error(`${err.message.slice(-200)} ${Date.now() - cutAt} ms after the cut; hub log:\n${world.hub.output().slice(-2500)}`);
        });
        expect(r.status).toBe(200);
        expect(JSON.parse(r.body).settings.name).toBe('Meter via Porthole');
        served++;
        await new Promise((res) => setTimeout(res, 500));
      }
      console.log(`database cut: ${served} proxied requests in 12 s, all 200`);
      const portal = await world.visit(`${PORTAL}/devices`, { headers: { cookie: portalCookie } });
      expect(portal.status).toBe(503);
      expect(portal.body).toMatch(/database is unavailable/i);
      const api = await world.api('GET', '/devices');
      expect(api.status).toBe(503);
      expect(api.json.error).toMatchObject({ code: expect.stringMatching(/unavailable/) });
      expect(api.json.error.message).toMatch(/database/i);
    } finally {
      await world.relay.restore();
    }
    const restoredAt = Date.now();
    await expect.poll(async () => (await world.api('GET', '/devices')).status, { timeout: 30_000, interval: 250 }).toBe(200);
    await expect.poll(async () => (await world.visit(`${PORTAL}/devices`, { headers: { cookie: portalCookie } })).status, { timeout: 30_000, interval: 250 }).toBe(200);
    console.log(`database restored: API and portal answer again after ${((Date.now() - restoredAt) / 1000).toFixed(1)} s`);
    expect((await world.visit(`${DEVICE_URL}api/readings`, asOwner)).status).toBe(200);
    expect(world.hub.process.pid).toBe(hubPid); // the same process: no restart
    expect(world.hub.exited()).toBe(false);
  }, 120_000);
});

/** Deterministic bytes from a 32-bit seed (SHA-256 in counter mode): reproducible from the printed seed. */
function seededBytes(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  const block = Buffer.alloc(8);
  block.writeUInt32BE(seed, 0);
  for (let off = 0, n = 0; off < length; off += 32, n++) {
    block.writeUInt32BE(n, 4);
    createHash('sha256').update(block).digest().copy(out, off);
  }
  return out;
}
