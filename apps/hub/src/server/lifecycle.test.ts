// TLS termination with HTTP→HTTPS redirect and Secure device cookies, the ops listener, trusted
// load-balancer headers, and graceful shutdown (stop accepting, drain in-flight, close tunnels).
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { DOMAIN, PORTAL, request, route, startDevice, startHub, useDeviceBehindHub, type TestDevice, type TestEdgeHub } from '../testing/http-harness.js';
import { TEST_CERT, TEST_KEY } from '../testing/test-cert.js';

const PUB = `an00000001.${DOMAIN}`;
const OWN = `an00000002.${DOMAIN}`;

function httpsGet(port: number, host: string, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, servername: host.split(':')[0], headers: { host }, ca: TEST_CERT, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TLS, redirects and ops listener', () => {
  let device: TestDevice;
  let h: TestEdgeHub;
  useDeviceBehindHub(
    {
      devices: [route('an00000001'), route('an00000002', { accessPolicy: 'owners' })],
      config: { tls: true, httpsPort: 0, opsPort: 0 },
      hubOptions: { tlsCredentials: { cert: TEST_CERT, key: TEST_KEY }, readiness: { database: () => true, wireguard: () => false } },
    },
    (bed) => ({ device, h } = bed),
  );

  it('redirects plain HTTP to HTTPS (308, same host and path) except health checks', async () => {
    const httpsPort = h.addr.https!.port;
    const res = await request(h.port, `${PUB}:${h.port}`, '/a?b=1');
    expect(res.status).toBe(308);
    expect(res.headers.location).toBe(`https://${PUB}:${httpsPort}/a?b=1`);
    expect((await request(h.port, PORTAL, '/healthz')).status).toBe(200);
    expect(device.seen).toHaveLength(0);
  });

  it('proxies over HTTPS with X-Forwarded-Proto https and a Secure device cookie', async () => {
    const port = h.addr.https!.port;
    const res = await httpsGet(port, PUB, '/x');
    expect(res.status).toBe(200);
    expect(device.seen.at(-1)!.headers['x-forwarded-proto']).toBe('https');
    const login = await httpsGet(port, `${OWN}:${port}`, '/y');
    expect(login.headers.location).toMatch(new RegExp(`^https://${PORTAL}:${port}/auth/device\\?`));
    const ticket = await h.tickets.issue('u', 'an00000002', '/');
    const redeem = await httpsGet(port, OWN, `/.porthole/auth?ticket=${ticket}`);
    expect(redeem.headers['set-cookie']![0]).toMatch(/; Secure$/);
  });

  it('swaps the certificate in place (renewal) and refuses a broken one', async () => {
    h.hub.setTlsCredentials({ cert: TEST_CERT, key: TEST_KEY });
    expect((await httpsGet(h.addr.https!.port, PUB, '/after-swap')).status).toBe(200);
    expect(() => h.hub.setTlsCredentials({ cert: TEST_CERT, key: 'not a key' })).toThrow();
    expect((await httpsGet(h.addr.https!.port, PUB, '/still')).status).toBe(200);
  });

  it('serves /metrics, /healthz and /readyz on the ops listener only', async () => {
    const ops = h.addr.ops!.port;
    const metrics = await request(ops, 'x', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(metrics.body).toContain('# TYPE porthole_proxy_requests_total counter');
    expect(metrics.body).toMatch(/porthole_proxy_requests_total\{status="200",kind="http"\} [1-9]/);
    const ready = await request(ops, 'x', '/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toEqual({ status: 'not ready', checks: { database: 'ok', wireguard: 'failing' } });
    expect((await request(ops, 'x', '/other')).status).toBe(404);
  });
});

describe('behind a trusted load balancer', () => {
  it('uses the balancer’s X-Forwarded-For/-Proto and appends to the chain', async () => {
    const device = await startDevice();
    const h = await startHub({ devices: [route('an00000001')], webPorts: { an00000001: device.port }, config: { trustProxy: 1 } });
    try {
      await request(h.port, PUB, '/', { headers: { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https' } });
      const seen = device.seen.at(-1)!;
      expect(seen.headers['x-forwarded-for']).toBe('198.51.100.7, 127.0.0.1');
      expect(seen.headers['x-forwarded-proto']).toBe('https');
      expect(h.accessLog.entries.at(-1)!.clientIp).toBe('198.51.100.7');
      // Portal rate limits key on the same address.
      expect((await request(h.port, PORTAL, '/ip', { headers: { 'x-forwarded-for': '198.51.100.8' } })).body).toBe('198.51.100.8');
    } finally {
      await h.hub.close();
      await device.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('stops accepting, lets in-flight requests finish, closes tunnels, then resolves', async () => {
    let release: () => void = () => {};
    let arrived: () => void = () => {};
    const arrivedP = new Promise<void>((r) => (arrived = r));
    const device = await startDevice((req, res) => {
      if (req.url === '/slow') {
        arrived();
        release = () => res.end('finished');
        return;
      }
      res.end('ok');
    });
    const wss = new WebSocketServer({ server: device.server });
    wss.on('connection', (ws) => ws.on('message', (m) => ws.send(m)));
    const h = await startHub({ devices: [route('an00000001')], webPorts: { an00000001: device.port }, config: { opsPort: 0 } });
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${h.port}/ws`, { headers: { host: PUB } });
      await new Promise((r) => ws.once('open', r));
      const slow = request(h.port, PUB, '/slow');
      await arrivedP;
      const closing = h.hub.close();
      // No new connections once closing has begun.
      const refused = await new Promise<string>((resolve) => {
        const s = net.connect(h.port, '127.0.0.1');
        s.once('connect', () => (s.destroy(), resolve('connected')));
        s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });
      expect(refused).toBe('ECONNREFUSED');
      expect(h.hub.tracker.activeRequests).toBe(1);
      // Monitoring still reaches the ops listener and sees the hub going out of rotation.
      const ready = await request(h.addr.ops!.port, 'x', '/readyz');
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body).checks.shutdown).toBe('failing');
      release();
      expect(await slow).toMatchObject({ status: 200, body: 'finished' });
      expect(await closing).toEqual({ drained: true });
      // The WebSocket tunnel was closed by the hub.
      if (ws.readyState !== ws.CLOSED) await new Promise((r) => ws.once('close', r));
      expect(h.hub.tracker.openTunnels).toBe(0);
    } finally {
      wss.close();
      await device.close();
    }
  });

  it('gives up on requests that outlast the grace time', async () => {
    let arrived: () => void = () => {};
    const arrivedP = new Promise<void>((r) => (arrived = r));
    const device = await startDevice(() => arrived());
    const h = await startHub({ devices: [route('an00000001')], webPorts: { an00000001: device.port }, config: { shutdownGraceMs: 50 } });
    try {
      const stuck = request(h.port, PUB, '/never').catch((err: NodeJS.ErrnoException) => err.code);
      await arrivedP;
      expect(await h.hub.close()).toEqual({ drained: false });
      expect(await stuck).toBe('ECONNRESET');
    } finally {
      await device.close();
    }
  });
});
