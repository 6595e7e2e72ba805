import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRateLimiter } from '../http/rate-limit.js';
import { metricValue } from '../ops/metrics.js';
import type { DeviceDialer } from '../proxy/contracts.js';
import { DOMAIN, PORTAL, fakeAuth, request, route, signIn, startDevice, startHub } from '../testing/http-harness.js';

describe('hub HTTP edge: host routing, status pages, forwarding, visitor auth', () => {
  let device: Awaited<ReturnType<typeof startDevice>>;
  let h: Awaited<ReturnType<typeof startHub>>;
  const auth = fakeAuth([['alice', 'dev-an00000002']], { 'ph_api_tok-alice': 'alice', 'ph_api_tok-bob': 'bob' });

  beforeAll(async () => {
    device = await startDevice((req, res, body) => {
      if (req.url === '/set-cookies') {
        res.setHeader('set-cookie', [
          'sid=1; Domain=devices.test; Path=/; HttpOnly',
          'theme=dark; domain=.devices.test',
          'porthole_device=planted; Path=/',
          '__Host-porthole_session=planted; Path=/; Secure',
          'plain=2',
        ]);
        res.end('ok');
        return;
      }
      if (req.url === '/hop') {
        res.writeHead(200, { connection: 'close, x-device-secret', 'x-device-secret': 'leak', 'keep-alive': 'timeout=5', 'x-fine': 'yes' });
        res.end('hop');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: body.toString() }));
    });
    h = await startHub({
      devices: [
        route('an00000001', { accessPolicy: 'public' }),
        route('an00000002', { accessPolicy: 'owners' }),
        route('an00000003', { status: 'disabled' }),
        route('an00000004', { online: false }),
        route('an00000005', { accessPolicy: 'public' }),
      ],
      webPorts: { an00000001: device.port, an00000002: device.port, an00000003: device.port, an00000004: device.port },
      auth,
    });
  });
  afterAll(async () => {
    await h.hub.close();
    await device.close();
  });

  const dev = (n: number) => `an0000000${n}.${DOMAIN}`;

  it('serves the portal app on the portal host and ops endpoints there', async () => {
    expect((await request(h.port, PORTAL, '/')).body).toBe('portal home');
    // Without a trusted proxy the portal sees the socket address, whatever the client claims.
    expect((await request(h.port, PORTAL, '/ip', { headers: { 'x-forwarded-for': '6.6.6.6' } })).body).toBe('127.0.0.1');
    expect(await request(h.port, PORTAL, '/echo', { method: 'POST', body: 'hello' })).toMatchObject({ status: 200, body: 'hello' });
    const live = await request(h.port, PORTAL, '/healthz');
    expect(live.status).toBe(200);
    expect(JSON.parse(live.body)).toEqual({ status: 'ok' });
    const ready = await request(h.port, PORTAL, '/readyz');
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready', checks: { database: 'ok' } });
    // /metrics is not public on the portal host (ops port only).
    expect((await request(h.port, PORTAL, '/metrics')).status).toBe(404);
    expect(device.seen).toHaveLength(0);
  });

  it('answers unknown hosts and unknown serials with 404 pages, invalid Host with 400', async () => {
    const unknownHost = await request(h.port, 'example.com', '/');
    expect(unknownHost.status).toBe(404);
    expect(unknownHost.body).toContain('Unknown host');
    const unknownSerial = await request(h.port, dev(9), '/');
    expect(unknownSerial.status).toBe(404);
    expect(unknownSerial.body).toContain('No device here');
    expect(unknownSerial.headers['cache-control']).toBe('no-store');
    expect(unknownSerial.headers['x-frame-options']).toBe('DENY');
    expect((await request(h.port, `a.b.${DOMAIN}`, '/')).status).toBe(404);
    expect((await request(h.port, 'bad_host!', '/')).status).toBe(400);
    expect(device.seen).toHaveLength(0);
  });

  it('refuses a disabled device with 403 and an offline one with a 502 status page naming last seen', async () => {
    const disabled = await request(h.port, dev(3), '/');
    expect(disabled.status).toBe(403);
    expect(disabled.body).toContain('disabled by an administrator');
    expect(disabled.body).toContain('an00000003');
    const offline = await request(h.port, dev(4), '/');
    expect(offline.status).toBe(502);
    expect(offline.body).toContain('Device offline');
    expect(offline.body).toContain('2026-01-02T03:04:05.000Z');
    expect(device.seen).toHaveLength(0);
  });

  it('answers 502 with a status page when the agent refuses the connection', async () => {
    const res = await request(h.port, dev(5), '/');
    expect(res.status).toBe(502);
    expect(res.body).toContain('Device unreachable');
  });

  it('forwards GET and POST to a public device with X-Forwarded-* from the socket and hop-by-hop headers removed', async () => {
    const before = device.seen.length;
    const get = await request(h.port, `${dev(1)}:${h.port}`, '/status?x=1', {
      headers: {
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-host': 'evil.example',
        forwarded: 'for=6.6.6.6',
        'x-real-ip': '6.6.6.6',
        'x-porthole-user': 'admin',
        connection: 'keep-alive, x-secret',
        'x-secret': 'hop',
        te: 'trailers',
        'keep-alive': 'timeout=5',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        'x-kept': 'yes',
      },
    });
    expect(get.status).toBe(200);
    const seen = device.seen[before]!;
    expect(seen.url).toBe('/status?x=1');
    expect(seen.headers.host).toBe(`${dev(1)}:${h.port}`.replace(`:${h.port}`, ''));
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe(dev(1));
    expect(seen.headers['x-kept']).toBe('yes');
    for (const h of ['forwarded', 'x-real-ip', 'x-porthole-user', 'x-secret', 'te', 'keep-alive', 'proxy-authorization']) {
      expect(seen.headers[h], h).toBeUndefined();
    }

    const body = 'a'.repeat(5000); // > 1 KiB with header rewriting (http-proxy GHSA-6x33-pw7p-hmpq)
    const post = await request(h.port, dev(1), '/submit', { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
    expect(post.status).toBe(200);
    expect(JSON.parse(post.body).body).toBe(body);
    expect(device.seen.at(-1)!.headers['content-length']).toBe('5000');
  });

  it('removes hop-by-hop headers from device responses, including those named in Connection', async () => {
    const res = await request(h.port, dev(1), '/hop');
    expect(res.body).toBe('hop');
    expect(res.headers['x-fine']).toBe('yes');
    expect(res.headers['x-device-secret']).toBeUndefined();
    expect(res.headers['keep-alive']).toBeUndefined();
  });

  it('makes device cookies host-only and drops cookies named like the hub’s', async () => {
    const res = await request(h.port, dev(1), '/set-cookies');
    expect(res.headers['set-cookie']).toEqual(['sid=1; Path=/; HttpOnly', 'theme=dark', 'plain=2']);
  });

  it('passes the visitor’s own cookies and Authorization to a public device, minus hub cookies', async () => {
    const res = await request(h.port, dev(1), '/', {
      headers: { cookie: 'porthole_device=abc; devsess=1; __Host-porthole_session=p; porthole_session=q', authorization: 'Bearer device-own-token' },
    });
    const seen = JSON.parse(res.body).headers;
    expect(seen.cookie).toBe('devsess=1');
    expect(seen.authorization).toBe('Bearer device-own-token');
  });

  describe('policy owners', () => {
    it('sends a visitor without a session to the portal, preserving the path', async () => {
      const before = device.seen.length;
      const res = await request(h.port, `${dev(2)}:${h.port}`, '/settings?tab=net');
      expect(res.status).toBe(302);
      const loc = new URL(res.headers.location!);
      expect(loc.origin).toBe(`http://${PORTAL}:${h.port}`);
      expect(loc.pathname).toBe('/auth/device');
      expect(loc.searchParams.get('host')).toBe(`${dev(2)}:${h.port}`);
      expect(loc.searchParams.get('next')).toBe('/settings?tab=net');
      const post = await request(h.port, dev(2), '/x', { method: 'POST', body: 'data' });
      expect(post.status).toBe(401);
      expect(post.headers.connection).toBe('close');
      expect(device.seen.length).toBe(before);
    });

    it('redeems a ticket once into a host-only HttpOnly cookie, then forwards without hub credentials', async () => {
      const ticket = await h.tickets.issue('alice', 'an00000002', '/dash?x=1');
      const redeem = await request(h.port, dev(2), `/.porthole/auth?ticket=${ticket}`);
      expect(redeem.status).toBe(302);
      expect(redeem.headers.location).toBe('/dash?x=1');
      const setCookie = redeem.headers['set-cookie']![0]!;
      expect(setCookie).toMatch(/^porthole_device=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=3600$/);
      expect(setCookie).not.toMatch(/domain/i);
      // Single use.
      expect((await request(h.port, dev(2), `/.porthole/auth?ticket=${ticket}`)).status).toBe(403);

      const cookie = setCookie.split(';')[0]!;
      const before = device.seen.length;
      const res = await request(h.port, dev(2), '/dash', {
        headers: {
          cookie: `${cookie}; devsess=7; __Host-porthole_session=portal-secret`,
          authorization: 'Bearer ph_api_tok-alice',
        },
      });
      expect(res.status).toBe(200);
      const seen = device.seen[before]!;
      // The device never sees the proxy cookie, the portal session or a portal bearer token.
      expect(seen.headers.cookie).toBe('devsess=7');
      expect(seen.headers.authorization).toBeUndefined();
      expect(JSON.stringify(seen.rawHeaders)).not.toMatch(/porthole_|portal-secret|ph_api_/);
      // The device's own credentials still pass: HTTP Basic, and a bearer token the hub did not issue.
      const basic = await request(h.port, dev(2), '/basic', { headers: { cookie, authorization: 'Basic dXNlcjpwdw==' } });
      expect(JSON.parse(basic.body).headers.authorization).toBe('Basic dXNlcjpwdw==');
      const own = await request(h.port, dev(2), '/own', { headers: { cookie, authorization: 'Bearer the-device-s-own-api-token-0123456789' } });
      expect(JSON.parse(own.body).headers.authorization).toBe('Bearer the-device-s-own-api-token-0123456789');
    });

    it('binds a ticket and a session to one device host', async () => {
      const ticket = await h.tickets.issue('alice', 'an00000002', '/');
      expect((await request(h.port, dev(1), `/.porthole/auth?ticket=${ticket}`)).status).toBe(403);
      // The attempt on the wrong host consumed it.
      expect((await request(h.port, dev(2), `/.porthole/auth?ticket=${ticket}`)).status).toBe(403);
      const cookie = await signIn(h, 'alice', 'an00000002');
      // The same cookie presented to another owners device does not authenticate.
      h.directory.set(route('an00000006', { accessPolicy: 'owners' }));
      const other = await request(h.port, `an00000006.${DOMAIN}`, '/', { headers: { cookie } });
      expect(other.status).toBe(302);
    });

    it('refuses open redirects in next', async () => {
      for (const next of ['//evil.com/x', 'https://evil.com/', '/\\evil.com', 'javascript:alert(1)', '/.porthole/auth']) {
        const ticket = await h.tickets.issue('alice', 'an00000002', next);
        const res = await request(h.port, dev(2), `/.porthole/auth?ticket=${ticket}`);
        expect(res.headers.location, next).toBe('/');
      }
    });

    it('stops forwarding once the grant is revoked (re-checked after the recheck interval)', async () => {
      const auth2 = fakeAuth([['carol', 'dev-an00000002']]);
      let offsetMs = 0;
      const h2 = await startHub({ devices: [route('an00000002', { accessPolicy: 'owners' })], webPorts: { an00000002: device.port }, auth: auth2, now: () => Date.now() + offsetMs });
      try {
        const cookie = await signIn(h2, 'carol', 'an00000002');
        expect((await request(h2.port, dev(2), '/', { headers: { cookie } })).status).toBe(200);
        auth2.allowed.clear();
        // Within the recheck interval the cached answer stands; past it the registry is asked again.
        expect((await request(h2.port, dev(2), '/', { headers: { cookie } })).status).toBe(200);
        offsetMs = 60_000;
        const res = await request(h2.port, dev(2), '/', { headers: { cookie } });
        expect(res.status).toBe(403);
        expect(res.body).toContain('does not have access');
        // The session was revoked, so the visitor is sent back to the portal.
        expect((await request(h2.port, dev(2), '/', { headers: { cookie } })).status).toBe(302);
      } finally {
        await h2.hub.close();
      }
    });

    it('accepts an API token (CLI) for a user with access, and strips it before forwarding', async () => {
      const ok = await request(h.port, dev(2), '/api-call', { headers: { authorization: 'Bearer ph_api_tok-alice' } });
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body).headers.authorization).toBeUndefined();
      const forbidden = await request(h.port, dev(2), '/api-call', { headers: { authorization: 'Bearer ph_api_tok-bob' } });
      expect(forbidden.status).toBe(403);
    });
  });

  it('records every request naming a known device in the access log, without query strings', async () => {
    const n = h.accessLog.entries.length;
    await request(h.port, dev(1), '/logged?secret=1');
    const entry = h.accessLog.entries[n]!;
    expect(entry).toMatchObject({ serial: 'an00000001', deviceId: 'dev-an00000001', organizationId: 'org-an00000001', method: 'GET', path: '/logged', status: 200, clientIp: '127.0.0.1', userId: null, kind: 'http' });
    expect(entry.bytesOut).toBeGreaterThan(0);
    const refused = h.accessLog.entries.filter((e) => e.serial === 'an00000003');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.status).toBe(403);
    const text = await h.metrics.render();
    expect(text).toMatch(/porthole_proxy_requests_total\{status="200",kind="http"\} \d+/);
    expect(text).toMatch(/porthole_drops_total\{reason="unknown_device"\} \d+/);
  });

  it('reuses keep-alive connections to the device across requests of one visitor', async () => {
    const dialer = h.dialer as DeviceDialer & { dials: number };
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await request(h.port, dev(1), '/warm', { agent });
      const before = dialer.dials;
      for (let i = 0; i < 5; i++) expect((await request(h.port, dev(1), `/k${i}`, { agent })).status).toBe(200);
      expect(dialer.dials).toBe(before);
    } finally {
      agent.destroy();
    }
  });

  it('never writes cookies, tickets or tokens to the log', async () => {
    const text = JSON.stringify(h.logger.lines);
    expect(text).not.toMatch(/portal-secret|portal-api-token|tok-alice|porthole_device=/);
  });
});

describe('device timeouts and limits', () => {
  it('answers 504 when the device does not accept the connection in time', async () => {
    const aborted: boolean[] = [];
    const hanging: DeviceDialer = {
      dial: (_d, _p, signal) =>
        new Promise((_resolve, reject) => {
          signal?.addEventListener('abort', () => {
            aborted.push(true);
            reject(new Error('aborted'));
          });
        }),
    };
    const h = await startHub({ devices: [route('an00000001')], webPorts: {}, dialer: hanging, config: { dialTimeoutMs: 50 } });
    try {
      const res = await request(h.port, `an00000001.${DOMAIN}`, '/');
      expect(res.status).toBe(504);
      expect(res.body).toContain('did not accept a connection in time');
      expect(aborted).toEqual([true]);
      expect(await metricValue(h.metrics.drops, { reason: 'dial_timeout' })).toBe(1);
    } finally {
      await h.hub.close();
    }
  });

  it('answers 504 when the device accepts but never responds, and 502 for an oversized response header', async () => {
    // Reads the request (so it notices the hub hanging up) but never answers.
    const silent = net.createServer((s) => s.resume());
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const big = await startDevice((_req, res) => {
      res.setHeader('x-huge', 'a'.repeat(20_000));
      res.end('never seen');
    });
    const h = await startHub({
      devices: [route('an00000001'), route('an00000002')],
      webPorts: { an00000001: (silent.address() as AddressInfo).port, an00000002: big.port },
      config: { responseTimeoutMs: 100 },
    });
    try {
      const slow = await request(h.port, `an00000001.${DOMAIN}`, '/');
      expect(slow.status).toBe(504);
      expect(slow.body).toContain('did not answer in time');
      const huge = await request(h.port, `an00000002.${DOMAIN}`, '/');
      expect(huge.status).toBe(502);
      expect(huge.body).not.toContain('never seen');
    } finally {
      await h.hub.close();
      await big.close();
      await new Promise((r) => silent.close(r));
    }
  });

  it('throttles a client walking through unknown serials (429 with Retry-After)', async () => {
    const h = await startHub({ devices: [], webPorts: {}, hubOptions: { missLimiter: createRateLimiter({ capacity: 3, refillPerSecond: 0.001 }) } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await request(h.port, `an1000000${i}.${DOMAIN}`, '/')).status);
      expect(statuses).toEqual([404, 404, 404, 429, 429]);
      const limited = await request(h.port, `an10000009.${DOMAIN}`, '/');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await h.hub.close();
    }
  });
});
