// Connection reuse from the agent to the device's web UI (an HTTP target): requests through the
// forwarder share kept-alive target connections across requests and across overlay connections,
// the pool keeps as many as the hub uses at once, and a kept-alive connection the target closed is
// replaced for an idempotent request (never for a request with a body). Overlay connections are
// loopback sockets handed to forwarder.handle(), as the tunnel hands it netstack sockets.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { beforeEach, describe, expect, it } from 'vitest';
import { forwarderHarness } from '../testing/forwarder-harness.js';
import { PUBLIC_ORIGIN_HEADER, TARGET_IDLE_CONNECTIONS, WHOLE_REWRITE_BYTES } from './http-forwarder.js';

const { cleanups, listen, overlay: overlayOn } = forwarderHarness();

/** Which path the next forwarder takes (set per run of the cases below). */
let directRelay = true;

const overlay = (target: string) => overlayOn(target, { directRelay });

/** A device web UI that counts the TCP connections it accepts. */
async function countingTarget(handler: http.RequestListener): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server = http.createServer({ keepAliveTimeout: 60_000 }, handler);
  server.on('connection', () => connections++);
  cleanups.push(() => server.closeAllConnections());
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, connections: () => connections };
}

function get(port: number, path: string, agent: http.Agent | false, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent, headers: { host: 'an1.example.io' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// Each case runs on the direct relay (the default) and on node:http alone (what a connection is
// handed to when the relay does not take a request): both paths must behave alike.
describe.each([
  ['the direct relay', true],
  ['node:http', false],
])('forwarding through %s', (_path, direct) => {
  beforeEach(() => {
    directRelay = direct;
  });

  describe('HTTP forwarding reuses target connections', () => {
    it('N sequential requests on one overlay connection use one target connection', async () => {
      const target = await countingTarget((req, res) => res.end(`ok ${req.url}`));
      const { port } = await overlay(target.url);
      const visitor = new http.Agent({ keepAlive: true, maxSockets: 1 });
      cleanups.push(() => visitor.destroy());
      for (let i = 0; i < 20; i++) expect(await get(port, `/page${i}`, visitor)).toEqual({ status: 200, body: `ok /page${i}` });
      expect(target.connections()).toBe(1);
    });

    it('requests on successive overlay connections share one target connection', async () => {
      const target = await countingTarget((req, res) => res.end(`ok ${req.url}`));
      const { port } = await overlay(target.url);
      for (let i = 0; i < 10; i++) expect((await get(port, `/p${i}`, false)).status).toBe(200);
      expect(target.connections()).toBe(1);
    });

    it(`keeps ${TARGET_IDLE_CONNECTIONS} connections for ${TARGET_IDLE_CONNECTIONS} concurrent requests, round after round`, async () => {
      // The target answers only once all requests of a round have arrived: they overlap for certain.
      let waiting: http.ServerResponse[] = [];
      const target = await countingTarget((_req, res) => {
        waiting.push(res);
        if (waiting.length === TARGET_IDLE_CONNECTIONS) {
          for (const r of waiting.splice(0)) r.end('ok');
        }
      });
      const { port } = await overlay(target.url);
      const visitor = new http.Agent({ keepAlive: true, maxSockets: TARGET_IDLE_CONNECTIONS });
      cleanups.push(() => visitor.destroy());
      for (let round = 0; round < 3; round++) {
        const replies = await Promise.all(Array.from({ length: TARGET_IDLE_CONNECTIONS }, () => get(port, '/', visitor)));
        expect(replies.every((r) => r.status === 200)).toBe(true);
        waiting = [];
      }
      expect(target.connections()).toBe(TARGET_IDLE_CONNECTIONS);
    });
  });

  describe('a kept-alive target connection closed under the agent', () => {
    /**
     * A raw HTTP/1.1 target that answers the first request on each connection with keep-alive and
     * closes the connection when a second request arrives on it (a server whose idle timeout fired
     * just as the agent reused the connection). Records every request line it saw.
     */
    async function closingTarget(): Promise<{ url: string; seen: string[]; connections: () => number }> {
      const seen: string[] = [];
      let connections = 0;
      const server = net.createServer((socket) => {
        connections++;
        let answered = false;
        let buffer = '';
        socket.on('data', (d) => {
          buffer += d.toString();
          const end = buffer.indexOf('\r\n\r\n');
          if (end < 0) return;
          seen.push(buffer.slice(0, buffer.indexOf('\r\n')));
          buffer = '';
          if (answered) return void socket.destroy();
          answered = true;
          socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok');
        });
        socket.on('error', () => undefined);
      });
      const port = await listen(server);
      return { url: `http://127.0.0.1:${port}`, seen, connections: () => connections };
    }

    it('an idempotent request is sent again on a new connection', async () => {
      const target = await closingTarget();
      const { port, forwarder } = await overlay(target.url);
      expect(await get(port, '/first', false)).toEqual({ status: 200, body: 'ok' });
      expect(await get(port, '/second', false)).toEqual({ status: 200, body: 'ok' });
      expect(target.seen).toEqual(['GET /first HTTP/1.1', 'GET /second HTTP/1.1', 'GET /second HTTP/1.1']);
      expect(target.connections()).toBe(2);
      expect(forwarder.counters.targetErrors).toBe(0);
    });

    it('a request with a body is not replayed: the visitor gets the 502', async () => {
      const target = await closingTarget();
      const { port, forwarder } = await overlay(target.url);
      expect((await get(port, '/first', false)).status).toBe(200);
      const reply = await get(port, '/settings', false, 'POST', 'tariff=2');
      expect(reply.status).toBe(502);
      expect(target.seen.filter((l) => l.startsWith('POST'))).toEqual(['POST /settings HTTP/1.1']);
      expect(forwarder.counters.targetErrors).toBe(1);
    });
  });

  describe('HTML pages with self-links', () => {
    /** One request on a fresh overlay connection: status, headers and body as text. */
    function fetchRaw(port: number, path: string, method = 'GET', headers: http.OutgoingHttpHeaders = {}): Promise<{ headers: http.IncomingHttpHeaders; body: string }> {
      return new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path, method, agent: false, headers: { host: 'an1.example.io', ...headers } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ headers: res.headers, body }));
        });
        req.on('error', reject);
        req.end();
      });
    }

    async function pageTarget(): Promise<string> {
      const target = await countingTarget((req, res) => {
        const self = `http://127.0.0.1:${(req.socket.address() as AddressInfo).port}`;
        const size = req.url === '/big' ? WHOLE_REWRITE_BYTES + 1 : 40;
        const page = `<a href="${self}/x">${'é'.repeat(size)}</a>`;
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(page) });
        res.end(req.method === 'HEAD' ? undefined : page);
      });
      return target.url;
    }

    it('a page of stated length is rewritten whole and answered with its new length, not chunked', async () => {
      const { port } = await overlay(await pageTarget());
      const { headers, body } = await fetchRaw(port, '/small');
      expect(body).toBe(`<a href="https://an1.example.io/x">${'é'.repeat(40)}</a>`);
      expect(headers['transfer-encoding']).toBeUndefined();
      expect(headers['content-length']).toBe(String(Buffer.byteLength(body)));
    });

    it('rewrites to the public origin the hub states per request, and to the registration URL when the stated one is not an origin', async () => {
      const { port } = await overlay(await pageTarget());
      const link = async (stated: string) => /href="([^"]*)"/.exec((await fetchRaw(port, '/small', 'GET', { [PUBLIC_ORIGIN_HEADER]: stated })).body)?.[1];
      // The same value again, a different one, a refused one and the first again: each answered on its own.
      expect(await link('https://an1.other.example')).toBe('https://an1.other.example/x');
      expect(await link('https://an1.other.example')).toBe('https://an1.other.example/x');
      expect(await link('http://an1.example.io:8080')).toBe('http://an1.example.io:8080/x');
      expect(await link('javascript:alert(1)')).toBe('https://an1.example.io/x');
      expect(await link('https://an1.other.example/path')).toBe('https://an1.example.io/x');
      expect(await link('https://an1.other.example')).toBe('https://an1.other.example/x');
    });

    it('a page longer than the whole-rewrite limit streams, chunked', async () => {
      const { port } = await overlay(await pageTarget());
      const { headers, body } = await fetchRaw(port, '/big');
      expect(body.startsWith('<a href="https://an1.example.io/x">')).toBe(true);
      expect(headers['transfer-encoding']).toBe('chunked');
    });

    it('HEAD keeps no body and states no rewritten length', async () => {
      const { port } = await overlay(await pageTarget());
      const { headers, body } = await fetchRaw(port, '/small', 'HEAD');
      expect(body).toBe('');
      expect(headers['content-length']).toBeUndefined();
    });
  });
});
