// Connection reuse from the visitor to the device through the hub: a keep-alive visitor costs one
// tunnel connection; visitors of a public device share connections, yet each request carries only
// its own credentials; a request body or NTLM makes a shared connection single-use; users of an
// owners device never share one. The device identifies a tunnel connection by its source port.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOMAIN, fakeAuth, route, startHub } from '../testing/http-harness.js';

interface Seen {
  connection: number;
  url: string;
  authorization: string | undefined;
  cookie: string | undefined;
  forwardedFor: string | undefined;
}

describe('connection reuse through the hub', () => {
  let device: http.Server;
  let accepted = 0;
  const seen: Seen[] = [];
  let h: Awaited<ReturnType<typeof startHub>>;
  const auth = fakeAuth([['alice', 'dev-an00000002'], ['bob', 'dev-an00000002']], { 'ph_api_tok-alice': 'alice', 'ph_api_tok-bob': 'bob' });

  beforeAll(async () => {
    device = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        seen.push({
          connection: req.socket.remotePort!,
          url: req.url!,
          authorization: req.headers.authorization,
          cookie: req.headers.cookie,
          forwardedFor: req.headers['x-forwarded-for'] as string | undefined,
        });
        res.end('ok');
      });
    });
    device.on('connection', () => accepted++);
    await new Promise<void>((r) => device.listen(0, '127.0.0.1', r));
    const port = (device.address() as AddressInfo).port;
    h = await startHub({
      devices: [route('an00000001', { accessPolicy: 'public' }), route('an00000002', { accessPolicy: 'owners' })],
      webPorts: { an00000001: port, an00000002: port },
      auth,
      // Visitors at different addresses, as a trusted load balancer reports them.
      config: { trustProxy: 1 },
    });
  });
  afterAll(async () => {
    await h.hub.close();
    device.closeAllConnections();
    await new Promise((r) => device.close(r));
  });

  const dials = () => (h.dialer as unknown as { dials: number }).dials;

  /** A request on the visitor's own keep-alive agent. */
  function visit(agent: http.Agent, serial: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: h.port, path, method: body === undefined ? 'GET' : 'POST', agent, headers: { host: `${serial}.${DOMAIN}`, ...headers } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Runs `fn` with two visitors, each a keep-alive client with one connection at a time. */
  async function withTwoVisitors(fn: (a: http.Agent, b: http.Agent) => Promise<void>): Promise<void> {
    const a = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const b = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await fn(a, b);
    } finally {
      a.destroy();
      b.destroy();
    }
  }

  const lastSeen = (url: string) => seen.filter((s) => s.url === url).at(-1)!;

  it('serves N sequential keep-alive requests of one visitor over one tunnel connection', async () => {
    const visitor = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const before = { dials: dials(), accepted };
    try {
      for (let i = 0; i < 20; i++) expect(await visit(visitor, 'an00000001', `/seq${i}`, { 'x-forwarded-for': '198.51.100.7' })).toBe(200);
      expect(dials() - before.dials).toBe(1);
      expect(accepted - before.accepted).toBe(1);
      expect(new Set(seen.filter((s) => s.url.startsWith('/seq')).map((s) => s.connection)).size).toBe(1);
    } finally {
      visitor.destroy();
    }
  });

  it('shares a public device connection between visitors, each request with its own credentials only', async () => {
    await withTwoVisitors(async (a, b) => {
      await visit(a, 'an00000001', '/from-a', { 'x-forwarded-for': '198.51.100.1', authorization: 'Basic YTph', cookie: 'device_sid=a' });
      const before = dials();
      await visit(b, 'an00000001', '/from-b', { 'x-forwarded-for': '198.51.100.2' });
      expect(dials()).toBe(before);
      const fromA = lastSeen('/from-a');
      const fromB = lastSeen('/from-b');
      expect(fromB.connection).toBe(fromA.connection);
      expect(fromA).toMatchObject({ authorization: 'Basic YTph', cookie: 'device_sid=a', forwardedFor: '198.51.100.1, 127.0.0.1' });
      expect(fromB).toMatchObject({ authorization: undefined, cookie: undefined, forwardedFor: '198.51.100.2, 127.0.0.1' });
    });
  });

  it('does not hand a public device connection on after a request with a body or NTLM credentials', async () => {
    await withTwoVisitors(async (a, b) => {
      await visit(a, 'an00000001', '/post-a', { 'x-forwarded-for': '198.51.100.3' }, 'field=1');
      await visit(b, 'an00000001', '/after-post', { 'x-forwarded-for': '198.51.100.4' });
      expect(lastSeen('/after-post').connection).not.toBe(lastSeen('/post-a').connection);

      await visit(a, 'an00000001', '/ntlm-a', { 'x-forwarded-for': '198.51.100.3', authorization: 'NTLM TlRMTVNTUAADAAAA' });
      await visit(b, 'an00000001', '/after-ntlm', { 'x-forwarded-for': '198.51.100.4' });
      expect(lastSeen('/after-ntlm').connection).not.toBe(lastSeen('/ntlm-a').connection);
    });
  });

  it('never shares an owners device connection between users, and reuses each user’s own', async () => {
    await withTwoVisitors(async (a, b) => {
      for (let i = 0; i < 3; i++) {
        await visit(a, 'an00000002', `/alice${i}`, { authorization: 'Bearer ph_api_tok-alice' });
        await visit(b, 'an00000002', `/bob${i}`, { authorization: 'Bearer ph_api_tok-bob' });
      }
      const alice = new Set(seen.filter((s) => s.url.startsWith('/alice')).map((s) => s.connection));
      const bob = new Set(seen.filter((s) => s.url.startsWith('/bob')).map((s) => s.connection));
      expect(alice.size).toBe(1);
      expect(bob.size).toBe(1);
      expect([...alice][0]).not.toBe([...bob][0]);
      // The hub's token never reaches the device.
      expect(seen.filter((s) => s.url.startsWith('/alice') || s.url.startsWith('/bob')).every((s) => s.authorization === undefined)).toBe(true);
    });
  });
});
