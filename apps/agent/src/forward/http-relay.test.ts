// The agent's direct relay at the byte level: overlay connections are loopback sockets (or an
// in-memory duplex where the test counts writes) handed to forwarder.handle(), the device's web UI
// is a raw TCP server that writes exactly the bytes a test gives it. What it asserts: requests the
// relay does not take reach node:http with nothing lost; responses are re-framed, never passed on
// ambiguous; connections to the device are reused only when the framing says so.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import { seededRandom } from '@porthole/wireguard/testing';
import { describe, expect, it } from 'vitest';
import { forwarderHarness } from '../testing/forwarder-harness.js';

const { cleanups, listen, forwarderTo, overlay } = forwarderHarness();

interface RawTarget {
  url: string;
  /** Every request head the target received, in order, with the connection it came on. */
  requests: Array<{ head: string; connection: number }>;
  connections: () => number;
  /** Connections the agent closed. */
  closed: () => number;
}

/**
 * A device web UI that answers each request head with `reply(head, n)` written as raw bytes.
 * Request bodies are read by Content-Length or as chunks. `null` writes nothing and leaves the
 * connection open.
 */
async function rawTarget(reply: (head: string, n: number) => string | Buffer | null, opts: { endAfter?: boolean } = {}): Promise<RawTarget> {
  const requests: RawTarget['requests'] = [];
  let connections = 0;
  let closed = 0;
  const server = net.createServer((socket) => {
    const id = ++connections;
    let buf = Buffer.alloc(0);
    socket.on('close', () => closed++);
    socket.on('error', () => undefined);
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        let bodyEnd = end + 4 + Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (/\r\ntransfer-encoding: chunked/i.test(head)) {
          const last = buf.indexOf('0\r\n\r\n', end + 4);
          if (last < 0) return;
          bodyEnd = last + 5;
        }
        if (buf.length < bodyEnd) return;
        buf = buf.subarray(bodyEnd);
        requests.push({ head, connection: id });
        const out = reply(head, requests.length);
        if (out === null) continue;
        socket.write(out);
        if (opts.endAfter) socket.end();
      }
    });
  });
  cleanups.push(() => new Promise((r) => server.close(() => r(undefined))));
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, requests, connections: () => connections, closed: () => closed };
}

/** Writes `bytes` on a new overlay connection and reads until `done(text)` or the connection ends. */
function exchange(port: number, bytes: string | Buffer, done: (text: string) => boolean = () => false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => {
      text += d.toString('latin1');
      if (done(text)) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('end', () => resolve(text));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    socket.write(bytes);
  });
}

const GET = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nhost: an1.example.io\r\n${extra}\r\n`;
/** The status of each response in `text`, in order. */
const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

/** Requests through node:http on one kept-alive visitor connection: status, headers, body. */
function get(port: number, path: string, agent: http.Agent, init: { method?: string; headers?: http.OutgoingHttpHeaders; body?: Buffer | string } = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent, method: init.method ?? 'GET', headers: { host: 'an1.example.io', ...init.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

function keepAlive(): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  cleanups.push(() => agent.destroy());
  return agent;
}

describe('the relay writes a response as it arrived', () => {
  it('a small response leaves in one write: head and body together', async () => {
    const target = await rawTarget(() => 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhello');
    const forwarder = forwarderTo(target.url);
    const writes: Buffer[] = [];
    const hub = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        writes.push(chunk);
        cb();
      },
    });
    forwarder.handle(hub);
    for (let i = 1; i <= 3; i++) {
      hub.push(GET(`/r${i}`));
      await until(() => writes.length === i);
      const text = writes[i - 1]!.toString('latin1');
      expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(text).toMatch(/\r\ncontent-length: 5\r\n\r\nhello$/);
    }
    expect(target.connections()).toBe(1);
    hub.destroy();
  });

  it('answers pipelined requests in order, on one target connection', async () => {
    const target = await rawTarget((head) => {
      const path = head.split(' ')[1]!;
      return `HTTP/1.1 200 OK\r\ncontent-length: ${path.length}\r\n\r\n${path}`;
    });
    const { port } = await overlay(target.url);
    const text = await exchange(port, GET('/one') + GET('/two') + GET('/three', 'connection: close\r\n'));
    expect(statuses(text)).toEqual([200, 200, 200]);
    expect(text.indexOf('/one')).toBeLessThan(text.indexOf('/two'));
    expect(text.indexOf('/two')).toBeLessThan(text.indexOf('/three'));
    expect(text.slice(text.lastIndexOf('HTTP/1.1 '))).toMatch(/\r\nconnection: close\r\n[^]*\r\n\r\n\/three$/);
    expect(new Set(target.requests.map((r) => r.connection)).size).toBe(1);
  });
});

describe('requests the relay does not take go to node:http, nothing lost', () => {
  it('a chunked upload after relayed requests, then more requests on the same connection', async () => {
    const target = await rawTarget(() => 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    const { port, forwarder } = await overlay(target.url);
    const chunked = 'POST /upload HTTP/1.1\r\nhost: an1.example.io\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n';
    const text = await exchange(port, GET('/a') + chunked + GET('/b', 'connection: close\r\n'));
    expect(statuses(text)).toEqual([200, 200, 200]);
    expect(target.requests.map((r) => r.head.split('\r\n')[0])).toEqual(['GET /a HTTP/1.1', 'POST /upload HTTP/1.1', 'GET /b HTTP/1.1']);
    expect(forwarder.counters.requests).toBe(3);
  });

  it('a WebSocket upgrade after relayed requests is relayed as raw bytes', async () => {
    const server = net.createServer((socket) => {
      let buf = '';
      let upgraded = false;
      socket.on('data', (d) => {
        if (upgraded) return void socket.write(Buffer.concat([Buffer.from('echo:'), d]));
        buf += d.toString('latin1');
        while (buf.includes('\r\n\r\n')) {
          const head = buf.slice(0, buf.indexOf('\r\n\r\n'));
          buf = buf.slice(buf.indexOf('\r\n\r\n') + 4);
          if (/\r\nupgrade: websocket/i.test(head)) {
            upgraded = true;
            socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n');
            if (buf.length > 0) socket.write(`echo:${buf}`);
            return;
          }
          socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
        }
      });
      socket.on('error', () => undefined);
    });
    const port0 = await listen(server);
    const { port, forwarder } = await overlay(`http://127.0.0.1:${port0}`);
    const upgrade = 'GET /ws HTTP/1.1\r\nhost: an1.example.io\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n';
    const text = await exchange(port, GET('/page') + upgrade + 'frame-1', (t) => t.includes('echo:frame-1'));
    expect(statuses(text)).toEqual([200, 101]);
    expect(text).toContain('echo:frame-1');
    expect(forwarder.counters.upgrades).toBe(1);
  });

  it.each([
    ['Content-Length with Transfer-Encoding', 'POST /x HTTP/1.1\r\nhost: an1.example.io\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nhost: h\r\n\r\n'],
    ['two different Content-Lengths', 'POST /x HTTP/1.1\r\nhost: an1.example.io\r\ncontent-length: 4\r\ncontent-length: 40\r\n\r\nabcdGET /smuggled HTTP/1.1\r\nhost: h\r\n\r\n'],
    ['obs-fold hiding a header', 'GET /x HTTP/1.1\r\nhost: an1.example.io\r\nx-a: b\r\n transfer-encoding: chunked\r\n\r\n'],
  ])('an ambiguous request (%s) is refused by node:http, which closes the connection, and never reaches the device', async (_what, bytes) => {
    const target = await rawTarget(() => 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    const { port } = await overlay(target.url);
    // Resolves when the agent ends the connection: the hub never writes such a request, so
    // node:http's parse error closes it, as it did before the relay.
    const text = await exchange(port, GET('/first') + bytes);
    expect(statuses(text)).toEqual([200]);
    expect(target.requests.map((r) => r.head.split('\r\n')[0])).toEqual(['GET /first HTTP/1.1']);
  });
});

describe('responses from the device are re-framed', () => {
  it('a chunked response reaches the visitor whole, and the connection is reused', async () => {
    const target = await rawTarget(() => 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n4\r\ndefg\r\n0\r\ntrailer: t\r\n\r\n');
    const { port } = await overlay(target.url);
    const agent = keepAlive();
    for (let i = 0; i < 3; i++) {
      const r = await get(port, `/c${i}`, agent);
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('abcdefg');
      expect(r.headers['transfer-encoding']).toBe('chunked');
    }
    expect(target.connections()).toBe(1);
  });

  it('an HTTP/1.0 response delimited by close, with bare LF line ends, reaches the visitor whole; its connection is not reused', async () => {
    const target = await rawTarget((_h, n) => `HTTP/1.0 200 OK\nContent-Type: text/plain\n\nbody ${n}`, { endAfter: true });
    const { port } = await overlay(target.url);
    const agent = keepAlive();
    expect((await get(port, '/1', agent)).body.toString()).toBe('body 1');
    expect((await get(port, '/2', agent)).body.toString()).toBe('body 2');
    expect(target.connections()).toBe(2);
  });

  it('interim responses are not passed on; the final one is', async () => {
    const target = await rawTarget(() => 'HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nlate');
    const { port } = await overlay(target.url);
    const text = await exchange(port, GET('/', 'connection: close\r\n'));
    expect(statuses(text)).toEqual([200]);
    expect(text.endsWith('\r\n\r\nlate')).toBe(true);
  });

  it.each([
    ['Content-Length with Transfer-Encoding', 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['two different Content-Lengths', 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd'],
    ['a status line that is not HTTP', 'SOMETHING ELSE\r\n\r\n'],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nxyz\r\n'],
  ])('an ambiguous or broken response (%s) becomes the 502 page and its connection is closed', async (_what, reply) => {
    const target = await rawTarget(() => reply);
    const { port, forwarder } = await overlay(target.url);
    const r = await get(port, '/', keepAlive());
    expect(r.status).toBe(502);
    expect(r.body.toString()).toContain('target_unreachable');
    await until(() => target.closed() === 1);
    expect(forwarder.counters.targetErrors).toBe(1);
  });

  it('bytes past the stated length are not taken as the next response: the connection is closed', async () => {
    const target = await rawTarget((_h, n) => `HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nforged-${n}`);
    const { port } = await overlay(target.url);
    const agent = keepAlive();
    expect((await get(port, '/1', agent)).body.toString()).toBe('ok');
    expect((await get(port, '/2', agent)).body.toString()).toBe('ok');
    expect(target.connections()).toBe(2);
  });

  it('hop-by-hop headers and those Connection names are dropped; Location, Set-Cookie mapped; Date added', async () => {
    let self = '';
    const target = await rawTarget(() =>
      [
        'HTTP/1.1 302 Found',
        `location: ${self}/login`,
        'set-cookie: s=1; Domain=127.0.0.1; Path=/',
        'set-cookie: t=2; Path=/',
        'connection: keep-alive, x-internal',
        'x-internal: secret',
        'keep-alive: timeout=5',
        'content-length: 0',
        '',
        '',
      ].join('\r\n'),
    );
    self = target.url;
    const { port } = await overlay(target.url);
    const r = await get(port, '/', keepAlive());
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe('https://an1.example.io/login');
    expect(r.headers['set-cookie']).toEqual(['s=1; Path=/', 't=2; Path=/']);
    expect(r.headers['x-internal']).toBeUndefined();
    // The device's own Keep-Alive is hop-by-hop; the agent states its own idle timeout instead.
    expect(r.headers['keep-alive']).toBe('timeout=30');
    expect(Date.parse(r.headers.date ?? '')).not.toBeNaN();
  });

  it('request headers: the target Host, the forwarded host, Origin mapped back, the hub statement and hop-by-hop dropped', async () => {
    const target = await rawTarget(() => 'HTTP/1.1 204 No Content\r\n\r\n');
    const { port } = await overlay(target.url);
    const r = await get(port, '/', keepAlive(), {
      method: 'POST',
      body: 'x=1',
      headers: {
        origin: 'https://an1.example.io',
        'x-porthole-public-origin': 'https://an1.example.io',
        'proxy-authorization': 'Basic c2VjcmV0',
        te: 'trailers',
        // The hub states the host it routed on; the agent states it once, from Host.
        'x-forwarded-host': 'an1.example.io',
      },
    });
    expect(r.status).toBe(204);
    const head = target.requests[0]!.head.toLowerCase();
    expect(head).toContain(`\r\nhost: ${new URL(target.url).host}\r\n`);
    expect(head.match(/\r\nx-forwarded-host: [^\r]*/g)).toEqual(['\r\nx-forwarded-host: an1.example.io']);
    expect(head).toContain('\r\nx-forwarded-proto: https\r\n');
    expect(head).toContain(`\r\norigin: ${target.url}\r\n`);
    expect(head).toContain('\r\ncontent-length: 3');
    expect(head).not.toContain('x-porthole-public-origin');
    expect(head).not.toContain('proxy-authorization');
    expect(head).not.toMatch(/\r\nte:/);
  });
});

describe('bodies stream both ways, with backpressure', () => {
  it('a 4 MB upload and a 16 MB download arrive intact', async () => {
    const download = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < download.length; i++) download[i] = (i * 7) & 0xff;
    let uploaded = Buffer.alloc(0);
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        uploaded = Buffer.concat(chunks);
        res.writeHead(200, { 'content-length': download.length });
        res.end(download);
      });
    });
    cleanups.push(() => server.closeAllConnections());
    const targetPort = await listen(server);
    const { port } = await overlay(`http://127.0.0.1:${targetPort}`);
    const upload = Buffer.alloc(4 * 1024 * 1024, 0x5a);
    const r = await get(port, '/big', keepAlive(), { method: 'PUT', body: upload });
    expect(uploaded.equals(upload)).toBe(true);
    expect(r.body.length).toBe(download.length);
    expect(r.body.equals(download)).toBe(true);
  });

  it('a visitor gone mid-response: the target connection is closed, not pooled', async () => {
    const target = await rawTarget(() => 'HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial');
    const { port } = await overlay(target.url);
    const text = await exchange(port, GET('/'), (t) => t.includes('partial'));
    expect(text).toContain('partial');
    await until(() => target.closed() === 1);
  });
});

/** Polls `cond` every 5 ms for up to 5 s. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
}

describe('seeded random responses', () => {
  /**
   * A response for request `n` from `random`: a status and body framed by length, by chunks (random
   * sizes, extensions, a trailer) or by the close (HTTP/1.0), for GET, HEAD, 204 or 304, written in
   * random pieces. Returns the bytes and what the visitor must see.
   */
  function randomResponse(random: () => number, method: string, n: number): { bytes: Buffer; status: number; body: string; closes: boolean } {
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const status = method === 'HEAD' ? 200 : pick([200, 200, 200, 404, 204, 304]);
    const body = status === 204 || status === 304 ? '' : `#${n}:${'x'.repeat(Math.floor(random() * 3000))}`;
    const eol = random() < 0.2 ? '\n' : '\r\n';
    const framing = status === 204 || status === 304 ? 'none' : pick(['length', 'length', 'chunked', 'close'] as const);
    const lines = [`HTTP/1.${framing === 'close' ? 0 : 1} ${status} ${random() < 0.3 ? '' : 'Reason'}`.trimEnd(), 'content-type: text/plain'];
    let payload = '';
    if (framing === 'length') lines.push(`content-length: ${body.length}`);
    if (framing === 'chunked') {
      lines.push('transfer-encoding: chunked');
      for (let at = 0; at < body.length; ) {
        const size = Math.min(body.length - at, 1 + Math.floor(random() * 700));
        payload += `${size.toString(16)}${random() < 0.2 ? ';ext=1' : ''}\r\n${body.slice(at, at + size)}\r\n`;
        at += size;
      }
      payload += random() < 0.3 ? '0\r\nx-trailer: t\r\n\r\n' : '0\r\n\r\n';
    }
    if (framing === 'close' || framing === 'length') payload = method === 'HEAD' ? '' : body;
    const head = lines.join(eol) + eol + eol;
    return { bytes: Buffer.from(head + payload, 'latin1'), status, body: method === 'HEAD' ? '' : body, closes: framing === 'close' };
  }

  it('arrive whole and in order through one kept-alive visitor connection, whatever their framing and pieces', async () => {
    const seed = Number(process.env.WG_TEST_SEED ?? 0x7e1a);
    const random = seededRandom(seed);
    console.log(`relay random-responses seed ${seed} (replay with WG_TEST_SEED=${seed})`);
    const expected: Array<{ status: number; body: string }> = [];
    const server = net.createServer((socket) => {
      let buf = '';
      socket.on('error', () => undefined);
      socket.on('data', async (d) => {
        buf += d.toString('latin1');
        let end: number;
        while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
          const head = buf.slice(0, end);
          buf = buf.slice(end + 4);
          const method = head.slice(0, head.indexOf(' '));
          const n = Number(/ \/r(\d+) /.exec(head)?.[1]);
          const reply = randomResponse(random, method, n);
          expected[n] = { status: reply.status, body: reply.body };
          // In random pieces, some after a pause, so heads and chunk lines split anywhere.
          for (let at = 0; at < reply.bytes.length; ) {
            const size = 1 + Math.floor(random() * 400);
            socket.write(reply.bytes.subarray(at, at + size));
            at += size;
            if (random() < 0.1) await new Promise((r) => setTimeout(r, 1));
          }
          if (reply.closes) socket.end();
        }
      });
    });
    const targetPort = await listen(server);
    const { port } = await overlay(`http://127.0.0.1:${targetPort}`);
    const agent = keepAlive();
    for (let n = 0; n < 150; n++) {
      const method = random() < 0.15 ? 'HEAD' : 'GET';
      const r = await get(port, `/r${n}`, agent, { method });
      expect({ n, status: r.status, body: r.body.toString('latin1') }).toEqual({ n, ...expected[n] });
    }
  });

  it('pipelined requests with bodies, written to the agent in random pieces, are answered in order', async () => {
    const seed = Number(process.env.WG_TEST_SEED ?? 0x51ce);
    const random = seededRandom(seed);
    console.log(`relay random-pieces seed ${seed} (replay with WG_TEST_SEED=${seed})`);
    const target = await rawTarget((head) => {
      const path = head.split(' ')[1]!;
      return `HTTP/1.1 200 OK\r\ncontent-length: ${path.length}\r\n\r\n${path}`;
    });
    const { port } = await overlay(target.url);
    let bytes = '';
    const paths: string[] = [];
    for (let n = 0; n < 40; n++) {
      const body = 'b'.repeat(Math.floor(random() * 50));
      paths.push(`/p${n}`);
      bytes += random() < 0.5 ? GET(`/p${n}`) : `POST /p${n} HTTP/1.1\r\nhost: an1.example.io\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
    }
    const text = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let got = '';
      socket.on('data', (d) => {
        got += d.toString('latin1');
        if (statuses(got).length === paths.length && got.endsWith(paths.at(-1)!)) {
          socket.destroy();
          resolve(got);
        }
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(got));
      void (async () => {
        for (let at = 0; at < bytes.length; ) {
          const size = 1 + Math.floor(random() * 20);
          socket.write(bytes.slice(at, at + size));
          at += size;
          if (random() < 0.2) await new Promise((r) => setTimeout(r, 1));
        }
      })();
    });
    const bodies = text.split(/HTTP\/1\.1 200 OK\r\n/).slice(1).map((r) => r.slice(r.indexOf('\r\n\r\n') + 4));
    expect(bodies).toEqual(paths);
    expect(target.requests.map((r) => r.head.split(' ')[1])).toEqual(paths);
  });
});
