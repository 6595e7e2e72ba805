// The demo meter over real HTTP on loopback: readings, settings, CSV export size and content,
// streamed firmware upload hash, WebSocket live feed, and the embedded Remote access page.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { StateStore, createAgent, createFakeTunnelNetwork } from '@porthole/agent';
import { testRegistration } from '@porthole/agent/testing';
import { createMeter, type RunningMeter } from './meter.js';
import { CSV_HEADER, ROW_BYTES, csvRow } from './csv-export.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Minimal browser: cookies + manual redirects. */
class Browser {
  cookies = new Map<string, string>();
  constructor(readonly base: string) {}
  async fetch(path: string, init: RequestInit & { form?: Record<string, string> } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    let body = init.body;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers.set('content-type', 'application/x-www-form-urlencoded');
    }
    const res = await fetch(this.base + path, { ...init, method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual', duplex: 'half' } as RequestInit);
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    return res;
  }
  async csrf(path = '/'): Promise<string> {
    const html = await (await this.fetch(path)).text();
    const m = /name="csrf" value="([^"]+)"/.exec(html) ?? /csrf=([^"&]+)/.exec(html);
    if (!m) throw new Error(`no csrf on ${path}`);
    return decodeURIComponent(m[1]!);
  }
  async login(password = 'meter-demo'): Promise<void> {
    const res = await this.fetch('/login', { form: { csrf: await this.csrf('/login'), password } });
    expect(res.status).toBe(303);
  }
}

async function start(options: Parameters<typeof createMeter>[0] = {}): Promise<{ meter: ReturnType<typeof createMeter>; running: RunningMeter; browser: Browser }> {
  const meter = createMeter(options);
  const running = await meter.listen();
  cleanups.push(() => running.close());
  return { meter, running, browser: new Browser(running.url) };
}

describe('demo meter', () => {
  it('shows readings that change over time', async () => {
    let now = Date.UTC(2026, 0, 1, 0, 10);
    const { browser } = await start({ now: () => now, seed: 3 });
    const a = (await (await browser.fetch('/api/readings')).json()) as { reading: { powerW: number; energyKwh: number; voltageV: number } };
    now += 7000;
    const b = (await (await browser.fetch('/api/readings')).json()) as typeof a;
    expect(b.reading.powerW).not.toBe(a.reading.powerW);
    expect(b.reading.energyKwh).toBeGreaterThan(a.reading.energyKwh);
    expect(a.reading.voltageV).toBeGreaterThan(225);
    const html = await (await browser.fetch('/')).text();
    expect(html).toContain(`${b.reading.powerW.toFixed(1)} W`);
    expect(html).toContain("new WebSocket((location.protocol==='https:'?'wss://':'ws://')+location.host+'/ws')");
  });

  it('applies a posted settings form (login + CSRF) and refuses bad values', async () => {
    const { browser, meter } = await start({ now: () => Date.UTC(2026, 0, 1, 0, 5) });
    expect((await browser.fetch('/settings', { form: { name: 'x' } })).status).toBe(303); // not logged in → login
    await browser.login();
    const csrf = await browser.csrf();
    const form = { csrf, name: 'Garage meter', tariffCtPerKwh: '28.5', powerLimitW: '500', liveIntervalMs: '250' };
    expect((await browser.fetch('/settings', { form: { ...form, csrf: 'forged' } })).status).toBe(403);
    expect((await browser.fetch('/settings', { form, headers: { origin: 'http://evil.test' } })).status).toBe(403);
    const saved = await browser.fetch('/settings', { form });
    expect(saved.status).toBe(303);
    // Post/redirect/get lands on a page that says so.
    expect(saved.headers.get('location')).toBe('/?saved=settings');
    expect(await (await browser.fetch('/?saved=settings')).text()).toContain('<section class="wide ok" id="notice">Settings saved.</section>');
    expect(await (await browser.fetch('/')).text()).not.toContain('Settings saved.');
    const r = (await (await browser.fetch('/api/readings')).json()) as { reading: { powerW: number }; settings: Record<string, unknown> };
    expect(r.settings).toEqual({ name: 'Garage meter', tariffCtPerKwh: 28.5, powerLimitW: 500, liveIntervalMs: 250 });
    expect(r.reading.powerW).toBeLessThanOrEqual(500);
    expect(await (await browser.fetch('/')).text()).toContain('<title>Garage meter</title>');
    const bad = await browser.fetch('/settings', { form: { ...form, powerLimitW: '-1', name: '' } });
    expect(bad.status).toBe(400);
    const text = await bad.text();
    expect(text).toContain('Power limit must be between 100 and 50000.');
    expect(text).toContain('Name must be 1–40 characters.');
    expect(meter.simulation.settings.powerLimitW).toBe(500);
  });

  it('streams a CSV export of exactly the requested size with predictable rows', async () => {
    const { browser, meter } = await start();
    const res = await browser.fetch('/export.csv?mb=3');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(3 * 1024 * 1024));
    const buf = Buffer.from(await res.arrayBuffer());
    expect(buf.length).toBe(3 * 1024 * 1024);
    expect(buf.subarray(0, ROW_BYTES).toString()).toBe(CSV_HEADER);
    const rows = buf.length / ROW_BYTES - 1;
    for (const i of [0, 1, 4095, 4096, rows - 1]) {
      const row = buf.subarray((i + 1) * ROW_BYTES, (i + 2) * ROW_BYTES).toString();
      expect(row).toBe(csvRow(meter.simulation, i));
      expect(row.split(',')[1]).toBe(new Date(meter.simulation.startMs + i * 1000).toISOString());
    }
    expect((await browser.fetch('/export.csv?mb=0')).status).toBe(400);
  });

  it('hashes a streamed firmware upload (multipart form and raw body)', async () => {
    const { browser } = await start();
    await browser.login();
    const csrf = await browser.csrf();
    // 6 MiB of seeded pseudo-random bytes, including CRLF and dashes that look like delimiters.
    const payload = Buffer.alloc(6 * 1024 * 1024);
    let x = 12345;
    for (let i = 0; i < payload.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      payload[i] = x >>> 24;
    }
    payload.write('\r\n--not-the-boundary\r\n', 1000);
    const expected = createHash('sha256').update(payload).digest('hex');
    const boundary = '----porthole-test-boundary';
    const multipart = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="firmware"; filename="fw-1.2.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      payload,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await browser.fetch(`/firmware?csrf=${encodeURIComponent(csrf)}`, {
      method: 'POST',
      body: multipart,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, accept: 'application/json' },
    });
    expect(await res.json()).toEqual({ filename: 'fw-1.2.bin', bytes: payload.length, sha256: expected });
    const raw = await browser.fetch(`/firmware?csrf=${encodeURIComponent(csrf)}`, {
      method: 'POST',
      body: payload,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(await raw.text()).toContain(`${payload.length} bytes, SHA-256 ${expected}`);
    expect((await browser.fetch('/firmware?csrf=wrong', { method: 'POST', body: 'x' })).status).toBe(403);
  });

  it('pushes live readings over the WebSocket and follows the interval setting', async () => {
    const { browser, running } = await start();
    const ws = new WebSocket(`${running.url.replace('http', 'ws')}/ws`);
    cleanups.push(() => ws.terminate());
    const messages: Array<{ type: string; settings?: { liveIntervalMs: number }; reading?: { powerW: number } }> = [];
    const waitForCount = (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => messages.length >= n && resolve();
        ws.on('message', check);
        check();
      });
    ws.on('message', (d) => messages.push(JSON.parse(String(d))));
    await waitForCount(2);
    expect(messages[0]!.type).toBe('hello');
    expect(messages[1]!.type).toBe('reading');
    expect(typeof messages[1]!.reading!.powerW).toBe('number');
    await browser.login();
    await browser.fetch('/settings', { form: { csrf: await browser.csrf(), name: 'M', tariffCtPerKwh: '30', powerLimitW: '9000', liveIntervalMs: '50' } });
    await waitForCount(messages.length + 4);
    const s = messages.findIndex((m) => m.type === 'settings');
    expect(messages[s]!.settings!.liveIntervalMs).toBe(50);
    expect(messages.slice(s + 1, s + 4).every((m) => m.type === 'reading')).toBe(true);
  });

  it('embeds the agent Remote access page behind the meter login', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meter-agent-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const network = createFakeTunnelNetwork();
    const agent = createAgent({
      hubUrl: new URL('http://127.0.0.1:9/'),
      serial: 'an12345678',
      target: new URL('http://127.0.0.1:1'),
      store: StateStore.open(dir),
      tunnelFactory: network.factory,
    });
    cleanups.push(() => agent.close());
    const { browser } = await start({ agent });
    const anon = await browser.fetch('/remote-access/');
    expect(anon.status).toBe(303);
    expect(anon.headers.get('location')).toBe('/login?next=/remote-access/');
    const res = await browser.fetch('/login?next=/remote-access/', { form: { csrf: await browser.csrf('/login'), password: 'meter-demo' } });
    expect(res.headers.get('location')).toBe('/remote-access/');
    const page = await (await browser.fetch('/remote-access/')).text();
    expect(page).toContain('Enable remote access');
    expect(page).toContain('action="/remote-access/enable"');
    expect(page).toContain('an12345678');
    // Inside the meter's own frame: its header, navigation and icon.
    expect(page).toContain('<a href="/">Dashboard</a>');
    expect(page).toContain('<link rel="icon" href="/favicon.svg" type="image/svg+xml"/>');
    expect(page).toContain('<div class="ra">');
  });

  it('serves the icon every page names', async () => {
    const { browser } = await start();
    for (const path of ['/', '/login']) expect(await (await browser.fetch(path)).text()).toContain('<link rel="icon" href="/favicon.svg" type="image/svg+xml"/>');
    for (const path of ['/favicon.svg', '/favicon.ico']) {
      const res = await browser.fetch(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/svg+xml');
      expect(await res.text()).toMatch(/^<svg /);
    }
  });

  it("through the tunnel, the agent's page names the meter's local address (not rewritten) and warns before Disable", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meter-agent-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = StateStore.open(dir);
    store.update((s) => {
      s.enabled = true;
      s.registration = testRegistration({ serial: 'an12345678', tunnelIp: '100.64.0.9', url: 'https://an12345678.devices.test/' });
    });
    // The agent's target is the meter that embeds it: a loopback relay whose port is known first.
    let meterPort = 0;
    const relay = createServer((c) => {
      const m = connect(meterPort, '127.0.0.1');
      c.pipe(m).pipe(c);
      c.on('error', () => m.destroy());
      m.on('error', () => c.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => relay.close());
    const target = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
    const network = createFakeTunnelNetwork();
    const agent = createAgent({ hubUrl: new URL('http://127.0.0.1:9/'), serial: 'an12345678', target: new URL(target), store, tunnelFactory: network.factory, resolve: async (h) => h });
    cleanups.push(() => agent.close());
    const { running, browser } = await start({ agent });
    meterPort = running.port;
    await agent.start();
    const tunnel = await network.waitForTunnel(1);
    await browser.login();
    const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const socket = await tunnel.connect(80);
    const page = await new Promise<string>((resolve, reject) => {
      const req = request({ createConnection: () => socket, path: '/remote-access/', headers: { host: 'an12345678.devices.test', cookie } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve(`${res.statusCode} ${body}`));
      });
      req.on('error', reject);
      req.end();
    });
    expect(page).toMatch(/^200 /);
    // Rendered, this reads "Forwards to http://127.0.0.1:<port>": the local target, as on the LAN.
    expect(page).toContain(`<dd id="forwards-to">http&#58;//127.0.0.1:${new URL(target).port}`);
    // The forwarder did rewrite self-links elsewhere in the body would it have found the target's address.
    expect(page).not.toContain('<dd id="forwards-to">https://an12345678.devices.test');
    expect(page).toContain('id="remote-warning"');
  });
});
