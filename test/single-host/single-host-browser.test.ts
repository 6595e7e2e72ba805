// Single-host mode end to end in headless Chromium: a real hub over HTTPS with
// PORTHOLE_DEVICE_HOST=devices.example.io next to its serial hosts on example.io (names resolve to
// 127.0.0.1 inside the browser only), two devices of the visitor's on the overlay. The visitor picks
// A on the portal, uses it (fetch POST, its WebSocket), switches to B with one click, uses B; A's
// HttpOnly cookie never reaches B; the access log has both with the visitor; a subresource or a
// script on B's page cannot switch the selection (the portal asks first); a typed
// /.porthole/select leads to the same one-click confirmation; the serial hosts keep working.
import { mkdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '@porthole/hub';
import { until } from '../agent/support/hub-harness.js';
import { startRecordingDevice, type RecordingDevice } from '../security/support/recording-device.js';
import { startTlsHubBrowser, type TlsHubBrowser } from '../security/support/tls-hub-browser.js';
import { requirementsMet } from '../support/requirements.js';

const ok = requirementsMet('single-host mode in Chromium', { tools: ['chromium'] });

const DOMAIN = 'example.io';
const DEVICE_HOST = 'devices.example.io';
const A = 'an54000001';
const B = 'an54000002';
const VISITOR = { email: 'single@example.io', password: 'a long visitor password' };
const SHOTS = join(process.cwd(), 'test-artifacts', 'single-host');

type Evaluated<T> = Promise<T>;

describe.skipIf(!ok)('single-host mode in Chromium', () => {
  let lab: TlsHubBrowser;
  let hub: Hub;
  let context: BrowserContext;
  let a: RecordingDevice;
  let b: RecordingDevice;
  let visitorId: string;
  let single: string;
  let portal: string;
  let port: number;

  /** A meter page; `/login` sets an HttpOnly session cookie of the device's own and a script-readable one. */
  const meter = (name: string) => (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    if (req.url === '/login') {
      res.setHeader('set-cookie', [`sid=${name}-secret; Path=/; HttpOnly`, 'lang=de; Path=/']);
      res.end('<!doctype html><title>signed in</title><p>signed in</p>');
    } else if (req.url === '/attack') {
      // B's page tries to move the visitor to A without asking: an image, a fetch, then nothing else.
      res.end(`<!doctype html><title>B tries to switch</title><body><script>
const image = new Promise((resolve) => { const i = new Image(); i.onload = () => resolve('loaded'); i.onerror = () => resolve('failed'); i.src = '/.porthole/select?serial=${A}'; document.body.append(i); });
const fetched = fetch('/.porthole/select?serial=${A}', { redirect: 'manual' }).then((r) => r.type + ' ' + r.status, (e) => 'error ' + e);
window.report = Promise.all([image, fetched]).then(([image, fetched]) => ({ image, fetched }));
</script></body>`);
    } else {
      res.end(`<!doctype html><title>Meter ${name}</title><h1>Meter ${name}</h1><p id="got">${req.method} ${req.url}</p>`);
    }
  };

  /** Clicks a device's Open button on the portal picker and waits for its page on the single host. */
  async function pick(page: Page, serial: string): Promise<void> {
    await page.goto(`${portal}/auth/device/pick?host=${DEVICE_HOST}:${port}`);
    await Promise.all([page.waitForURL(`${single}/`), page.locator(`button[data-open="${serial}"]`).click()]);
  }

  const heading = (page: Page) => page.locator('h1').innerText();

  /** Runs in the page: a WebSocket to the device's /ws echo on this origin. */
  const echo = (page: Page): Evaluated<string> =>
    page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          const g = globalThis as unknown as { location: { host: string }; WebSocket: new (u: string) => { onopen: () => void; onmessage: (m: { data: string }) => void; onclose: (e: { code: number }) => void; send(d: string): void; close(): void } };
          const ws = new g.WebSocket(`wss://${g.location.host}/ws`);
          ws.onopen = () => ws.send('ping');
          ws.onmessage = (m) => {
            resolve(String(m.data));
            ws.close();
          };
          ws.onclose = (e) => resolve(`closed ${e.code}`);
        }),
    );

  const selectionCookie = async () => (await context.cookies(single)).find((c) => c.name === '__Host-porthole_select');

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    lab = await startTlsHubBrowser(DOMAIN, { PORTHOLE_DEVICE_HOST: DEVICE_HOST });
    ({ hub, context, port } = lab);
    single = `https://${DEVICE_HOST}:${port}`;
    portal = hub.portalUrl;

    const registry = hub.registry;
    visitorId = (await registry.signUp(VISITOR)).id;
    const { token } = await registry.createEnrollmentToken({ createdBy: null, maxUses: 2 });
    a = await startRecordingDevice(registry, A, token, meter('A'));
    b = await startRecordingDevice(registry, B, token, meter('B'));
    await registry.setDeviceOwner(A, visitorId);
    await registry.setDeviceOwner(B, visitorId);
    await until(() => hub.overlay.isOnline(a.registration.tunnelIp) && hub.overlay.isOnline(b.registration.tunnelIp), 'both devices online');

    await lab.signIn(VISITOR);
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await lab?.close();
  });

  it('device links point to the single host', () => {
    expect(hub.deviceUrl(A)).toBe(`${single}/.porthole/select?serial=${A}`);
  });

  it('picks A on the portal, uses it (fetch POST, its WebSocket), and the portal shows A selected', async () => {
    const page = await context.newPage();
    await pick(page, A);
    expect(await heading(page)).toBe('Meter A');
    const cookie = await selectionCookie();
    expect(cookie).toMatchObject({ domain: DEVICE_HOST, httpOnly: true, secure: true, path: '/' });
    expect(cookie!.value.startsWith(`${A}.`)).toBe(true);

    const before = a.http.length;
    const posted = await page.evaluate(async () => {
      await fetch('/login');
      return (await fetch('/api/relay', { method: 'POST', body: 'off' })).status;
    });
    expect(posted).toBe(200);
    expect(a.http.slice(before).map((r) => `${r.method} ${r.url}`)).toEqual(['GET /login', 'POST /api/relay']);
    // The device's own HttpOnly cookie is back on A, under its own name; the hub's never reach it.
    const cookieSeen = a.http.at(-1)!.headers.cookie ?? '';
    expect(cookieSeen).toContain('sid=A-secret');
    expect(cookieSeen).not.toContain('porthole');
    expect(await echo(page)).toBe('ping');
    expect(a.websockets.length).toBe(1);

    // The device list leads to the picker, which shows the selection.
    await page.goto(`${portal}/devices`);
    await Promise.all([page.waitForURL((u) => u.pathname === '/auth/device/pick'), page.getByText('see which one is selected and switch').click()]);
    expect(await page.locator(`[data-selected="${A}"]`).count()).toBe(1);
    expect(await page.locator(`[data-selected="${B}"]`).count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, 'picker-a-selected.png'), fullPage: true });
    await page.close();
  });

  it('switches to B with one click; B works (WebSocket too) and never sees A’s HttpOnly cookie', async () => {
    const page = await context.newPage();
    const aBefore = a.total();
    await pick(page, B);
    expect(await heading(page)).toBe('Meter B');
    expect((await selectionCookie())!.value.startsWith(`${B}.`)).toBe(true);
    expect(await echo(page)).toBe('ping');
    expect(b.websockets.length).toBe(1);
    const seenByB = b.http.map((r) => r.headers.cookie ?? '').join(' | ');
    expect(seenByB).not.toContain('A-secret');
    expect(seenByB).not.toContain('porthole');
    expect(a.total()).toBe(aBefore);
    await page.close();
  });

  it('a subresource or a script on B’s page cannot switch to A; the portal asks first', async () => {
    const page = await context.newPage();
    const aBefore = a.total();
    await page.goto(`${single}/attack`);
    const report = (await page.evaluate(() => (globalThis as unknown as { report: Promise<unknown> }).report)) as { image: string; fetched: string };
    expect(report.image).toBe('failed');
    expect(report.fetched).toBe('basic 403');
    await page.goto(`${single}/`);
    expect(await heading(page)).toBe('Meter B');

    // A same-origin script navigating the tab to /.porthole/select lands on the portal's question.
    await Promise.all([page.waitForURL((u) => u.origin === portal && u.pathname === '/auth/device'), page.evaluate((serial) => {
      (globalThis as unknown as { location: { href: string } }).location.href = `/.porthole/select?serial=${serial}`;
    }, A)]);
    expect(await page.locator(`button[data-open="${A}"]`).count()).toBe(1);
    expect(await page.locator('body').innerText()).toContain(`instead of ${B}`);
    await page.screenshot({ path: join(SHOTS, 'confirm-switch.png'), fullPage: true });
    await page.goto(`${single}/`);
    expect(await heading(page)).toBe('Meter B');
    expect(a.total()).toBe(aBefore);
    await page.close();
  });

  it('a typed /.porthole/select for A leads to the same one-click confirmation, then A', async () => {
    const page = await context.newPage();
    await page.goto(`${single}/.porthole/select?serial=${A}&next=/status`);
    expect(new URL(page.url()).origin).toBe(portal);
    await Promise.all([page.waitForURL(`${single}/status`), page.locator(`button[data-open="${A}"]`).click()]);
    expect(await page.locator('#got').innerText()).toBe('GET /status');
    expect(await heading(page)).toBe('Meter A');
    // Opening the selected device's select link again just goes there.
    await page.goto(`${single}/.porthole/select?serial=${A}`);
    await page.waitForURL(`${single}/`);
    expect(await heading(page)).toBe('Meter A');
    await page.close();
  });

  it('the serial hosts keep working on the same hub, beside the single host', async () => {
    const page = await context.newPage();
    await page.goto(`https://${B}.${DOMAIN}:${port}/`);
    await page.waitForURL(`https://${B}.${DOMAIN}:${port}/`);
    expect(await heading(page)).toBe('Meter B');
    await page.goto(`${single}/`);
    expect(await heading(page)).toBe('Meter A');
    await page.close();
  });

  it('the access log has both devices with the visitor: HTTP requests and WebSockets with their duration', async () => {
    const entries = async (serial: string) => (await hub.registry.searchAccessLog({ serial, limit: 200 })).entries;
    await until(async () => (await entries(A)).some((e) => e.path === '/ws') && (await entries(B)).some((e) => e.path === '/ws'), 'websocket entries logged', 15_000);
    for (const serial of [A, B]) {
      const log = await entries(serial);
      const ws = log.find((e) => e.path === '/ws')!;
      expect(ws).toMatchObject({ userId: visitorId, status: 101, method: 'GET' });
      expect(ws.durationMs).toBeGreaterThanOrEqual(0);
      expect(log.some((e) => e.path === '/' && e.status === 200 && e.userId === visitorId)).toBe(true);
    }
    expect((await entries(A)).some((e) => e.method === 'POST' && e.path === '/api/relay')).toBe(true);
  });
});
