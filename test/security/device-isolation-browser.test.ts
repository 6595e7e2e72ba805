// Device hosts isolated from each other, with headless Chromium as the attacker's victim: a real hub
// over HTTPS on example.io (every device host same-site with its siblings, as in production; the
// names resolve to 127.0.0.1 inside the browser only), device A owned by the visitor, device B a
// public device whose page attacks A. The visitor signs in to A through the portal. B's page then
// tries A's /.porthole/tcp WebSocket, A's own WebSocket, credentialed fetch GET and POST, an image
// and a form POST: all refused by the hub, and A's server receives nothing. A top-level link from B
// to A still lands on A's page, and A's own pages keep every capability.
import { mkdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '@porthole/hub';
import { metricValue } from '@porthole/hub/testing';
import { until } from '../agent/support/hub-harness.js';
import { requirementsMet } from '../support/requirements.js';
import { DEVICE_TCP_PORT, startRecordingDevice, type RecordingDevice } from './support/recording-device.js';
import { startTlsHubBrowser, type TlsHubBrowser } from './support/tls-hub-browser.js';

const ok = requirementsMet('device isolation in Chromium', { tools: ['chromium'] });

const DOMAIN = 'example.io';
const A = 'an53000001';
const B = 'an53000002';
const VISITOR = { email: 'visitor@example.io', password: 'a long visitor password' };
const SHOTS = join(process.cwd(), 'test-artifacts', 'security');

/** What B's attack page reports about each attempt. */
interface AttackReport {
  tcpSocket: string;
  deviceSocket: string;
  fetchGet: string;
  fetchPost: string;
  image: string;
}

describe.skipIf(!ok)('device hosts isolated from each other, in Chromium', () => {
  let lab: TlsHubBrowser;
  let hub: Hub;
  let context: BrowserContext;
  let a: RecordingDevice;
  let b: RecordingDevice;
  let origin: (serial: string) => string;

  const meterPage = (req: IncomingMessage, res: ServerResponse, body: string) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><title>Meter A</title><h1>Meter A</h1><p id="got">${req.method} ${req.url} ${body.length}</p>`);
  };

  /** Device B serves pages that go after device A. */
  const attackerPages = (req: IncomingMessage, res: ServerResponse) => {
    const target = origin(A);
    const wsTarget = target.replace(/^https:/, 'wss:');
    res.setHeader('content-type', 'text/html; charset=utf-8');
    if (req.url === '/link') {
      res.end(`<!doctype html><title>B links to A</title><a id="go" href="${target}/">Open meter A</a>`);
    } else if (req.url === '/form') {
      res.end(`<!doctype html><title>B posts to A</title>
<form method="POST" action="${target}/settings"><input name="relay" value="off"></form>
<script>document.forms[0].submit()</script>`);
    } else if (req.url === '/attack') {
      res.end(`<!doctype html><title>B attacks A</title><body><script>
const settle = (p) => p.then((v) => v, (e) => 'error: ' + e);
const socket = (url) => new Promise((resolve) => {
  const ws = new WebSocket(url);
  ws.onopen = () => { ws.close(); resolve('opened'); };
  ws.onclose = (e) => resolve('closed ' + e.code);
});
const image = () => new Promise((resolve) => {
  const img = new Image();
  img.onload = () => resolve('loaded');
  img.onerror = () => resolve('failed');
  img.src = '${target}/logo.png';
  document.body.append(img);
});
window.report = Promise.all([
  socket('${wsTarget}/.porthole/tcp?port=${DEVICE_TCP_PORT}'),
  socket('${wsTarget}/ws'),
  settle(fetch('${target}/api/readings', { credentials: 'include' }).then((r) => 'status ' + r.status)),
  settle(fetch('${target}/api/relay', { method: 'POST', credentials: 'include', mode: 'no-cors', body: 'off' }).then((r) => 'type ' + r.type)),
  image(),
]).then(([tcpSocket, deviceSocket, fetchGet, fetchPost, image]) => ({ tcpSocket, deviceSocket, fetchGet, fetchPost, image }));
</script></body>`);
    } else {
      res.end('<!doctype html><title>Device B</title><h1>Device B</h1>');
    }
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    lab = await startTlsHubBrowser(DOMAIN);
    ({ hub, context } = lab);
    origin = (serial) => new URL(hub.deviceUrl(serial)).origin;

    const registry = hub.registry;
    const visitor = await registry.signUp(VISITOR);
    const { token } = await registry.createEnrollmentToken({ createdBy: null, maxUses: 2 });
    a = await startRecordingDevice(registry, A, token, meterPage);
    b = await startRecordingDevice(registry, B, token, attackerPages);
    await registry.setDeviceOwner(A, visitor.id);
    await registry.setAccessPolicy(B, 'public');
    await until(() => hub.overlay.isOnline(a.registration.tunnelIp) && hub.overlay.isOnline(b.registration.tunnelIp), 'both devices online');

    // The visitor is signed in to the portal and opens device A through /auth/device and the ticket.
    await lab.signIn(VISITOR);
    const page = await context.newPage();
    await page.goto(hub.deviceUrl(A));
    await page.waitForURL(hub.deviceUrl(A));
    expect(await page.locator('h1').innerText()).toBe('Meter A');
    const cookie = (await context.cookies(hub.deviceUrl(A))).find((c) => c.name === 'porthole_device');
    expect(cookie).toMatchObject({ domain: new URL(hub.deviceUrl(A)).hostname, httpOnly: true, secure: true });
    await page.close();
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await lab?.close();
  });

  const isolationDrops = () => metricValue(hub.http.metrics.drops, { reason: 'isolation' });
  /** Requests A received, without the favicon Chromium fetches for A's own pages. */
  const requestsToA = () => a.http.filter((r) => r.url !== '/favicon.ico');

  /** HTTP statuses of the responses to requests for device A seen by the page. */
  function watchA(page: Page): number[] {
    const statuses: number[] = [];
    page.on('response', (r) => {
      if (new URL(r.url()).origin === origin(A)) statuses.push(r.status());
    });
    return statuses;
  }

  it('A’s own pages use the session for everything: fetch POST, its WebSocket and /.porthole/tcp', async () => {
    const page = await context.newPage();
    await page.goto(hub.deviceUrl(A));
    const before = { http: requestsToA().length, ws: a.websockets.length, tcp: a.tcpConnections };
    const result = await page.evaluate(async (port) => {
      const post = await fetch('/api/relay', { method: 'POST', body: 'off' });
      const echo = (url: string) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(url);
          ws.binaryType = 'arraybuffer';
          ws.onopen = () => ws.send(new TextEncoder().encode('ping'));
          ws.onmessage = (m) => {
            resolve(typeof m.data === 'string' ? m.data : new TextDecoder().decode(m.data));
            ws.close();
          };
          ws.onclose = (e) => resolve(`closed ${e.code}`);
        });
      // Runs in the page: its location is A's origin (the test's tsconfig has no DOM types).
      const base = (globalThis as unknown as { location: { origin: string } }).location.origin.replace(/^https:/, 'wss:');
      return { post: post.status, device: await echo(`${base}/ws`), tcp: await echo(`${base}/.porthole/tcp?port=${port}`) };
    }, DEVICE_TCP_PORT);
    expect(result).toEqual({ post: 200, device: 'ping', tcp: 'ping' });
    expect(requestsToA().length).toBe(before.http + 1);
    expect(requestsToA().at(-1)).toMatchObject({ method: 'POST', url: '/api/relay' });
    // The device never sees the hub's cookie.
    expect(requestsToA().at(-1)!.headers.cookie ?? '').not.toContain('porthole');
    expect(a.websockets.length).toBe(before.ws + 1);
    expect(a.tcpConnections).toBe(before.tcp + 1);
    await page.close();
  });

  it('B’s page gets nothing from A: WebSockets, credentialed fetches and images are refused before A', async () => {
    const page = await context.newPage();
    const statuses = watchA(page);
    const before = a.total();
    const drops = await isolationDrops();
    await page.goto(`${origin(B)}/attack`);
    const report = (await page.evaluate(() => (globalThis as unknown as { report: Promise<unknown> }).report)) as AttackReport;
    expect(report.tcpSocket).toMatch(/^closed /);
    expect(report.deviceSocket).toMatch(/^closed /);
    // Refused and without CORS headers: the script cannot even read the status.
    expect(report.fetchGet).toMatch(/^error: TypeError/);
    expect(report.fetchPost).toBe('type opaque');
    expect(report.image).toBe('failed');
    expect(a.total()).toBe(before);
    // Each of the five carried the visitor's device cookie (the browser sends it to a same-site host):
    // without it the hub would answer with a sign-in redirect, not an isolation refusal.
    expect((await isolationDrops()) - drops).toBe(5);
    // Chromium reports the image and the no-cors POST; each was answered by the hub with 403.
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set([403]));
    await page.close();
  });

  it('a form POST from B is refused with a page that tells the visitor why; A receives nothing', async () => {
    const page = await context.newPage();
    const before = a.total();
    await page.goto(`${origin(B)}/form`);
    await page.waitForURL(`${origin(A)}/settings`);
    expect(await page.locator('h1').innerText()).toBe('Form from another site refused');
    const text = await page.locator('body').innerText();
    expect(text).toContain(`a page on ${origin(B)}`);
    expect(text).toContain(`device ${A}`);
    expect(text).toContain('Nothing was sent to the device');
    await page.screenshot({ path: join(SHOTS, 'form-from-another-device-refused.png'), fullPage: true });
    expect(a.total()).toBe(before);
    await page.close();
  });

  it('a top-level link from B to A still works and shows A’s page', async () => {
    const page = await context.newPage();
    await page.goto(`${origin(B)}/link`);
    const n = requestsToA().length;
    await Promise.all([page.waitForURL(`${origin(A)}/`), page.locator('#go').click()]);
    expect(await page.locator('h1').innerText()).toBe('Meter A');
    expect(await page.locator('#got').innerText()).toBe('GET / 0');
    expect(requestsToA().length).toBe(n + 1);
    await page.close();
  });
});
