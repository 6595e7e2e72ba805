// The hub's direct relay to devices (proxy/http-relay.ts), against a device that writes its answers
// by hand: the request head it sends, every response framing a small device server uses, answers
// it must refuse, bytes a device sends beyond its framing or unasked (the connection is never
// reused), a kept-alive connection the device closed (one transparent retry), a device breaking off
// mid-body, an idle device and a visitor leaving (both ends are closed).
import type { IncomingMessage } from 'node:http';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ForwardRequest } from '../proxy/http-forwarder.js';
import { relayedRequestHead } from '../proxy/http-relay.js';
import { DOMAIN, type TestEdgeHub, request, route, startHub } from '../testing/http-harness.js';

/** One request as the device read it, and the connection it came on. */
interface DeviceRequest {
  head: string;
  connection: number;
  socket: net.Socket;
}

type Answer = (r: DeviceRequest) => void;

/** A device that hands each request head to the test's `answer` (the default answers "ok"). */
async function startRawDevice() {
  let answer: Answer = ({ socket }) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  const requests: DeviceRequest[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const closed: number[] = [];
  const server = net.createServer((socket) => {
    const connection = ++connections;
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      closed.push(connection);
    });
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        const r = { head: buffered.slice(0, end + 4), connection, socket };
        buffered = buffered.slice(end + 4);
        requests.push(r);
        answer(r);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    closed,
    get connections() {
      return connections;
    },
    answer(fn: Answer) {
      answer = fn;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

type RawDevice = Awaited<ReturnType<typeof startRawDevice>>;

const until = async (what: () => boolean, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** A visitor's GET whose response may break off: the status, the body so far and whether it ended cleanly. */
function visit(port: number, path: string, agent: http.Agent | false = false, method = 'GET'): Promise<{ status: number; body: string; complete: boolean; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent, headers: { host: `an00000001.${DOMAIN}` } }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, complete: res.complete, headers: res.headers }));
      res.on('error', () => resolve({ status: res.statusCode!, body, complete: false, headers: res.headers }));
      res.on('aborted', () => resolve({ status: res.statusCode!, body, complete: false, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the hub’s direct relay to a device', () => {
  let device: RawDevice;
  let h: TestEdgeHub;

  beforeAll(async () => {
    device = await startRawDevice();
    h = await startHub({ devices: [route('an00000001')], webPorts: { an00000001: device.port }, config: { responseTimeoutMs: 1_000 } });
  });
  afterAll(async () => {
    await h.hub.close();
    await device.close();
  });
  afterEach(() => {
    device.answer(({ socket }) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  });

  it('writes a plain head: the target, Host and X-Forwarded-*, no hop-by-hop headers, Connection: keep-alive last', async () => {
    const res = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: h.port, path: '/status?x=1', agent: false, headers: { host: `an00000001.${DOMAIN}`, accept: 'text/html', te: 'trailers', 'x-porthole-internal': 'no', connection: 'close, x-drop', 'x-drop': '1' } },
        (r) => {
          r.resume();
          r.on('end', () => resolve(r.statusCode!));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(res).toBe(200);
    const head = device.requests.at(-1)!.head;
    expect(head.startsWith(`GET /status?x=1 HTTP/1.1\r\nHost: an00000001.${DOMAIN}\r\n`)).toBe(true);
    expect(head.endsWith('Connection: keep-alive\r\n\r\n')).toBe(true);
    expect(head).toMatch(/\r\naccept: text\/html\r\n/i);
    expect(head).toMatch(/\r\nX-Forwarded-For: 127\.0\.0\.1\r\n/);
    expect(head).toMatch(/\r\nX-Forwarded-Proto: http\r\n/);
    expect(head.toLowerCase()).not.toContain('x-drop');
    expect(head.toLowerCase()).not.toContain('te: trailers');
    expect(head.toLowerCase()).not.toContain('x-porthole-internal');
  });

  it('relays every framing a device uses: length, chunked, until close, 1xx first, obs-fold, bare LF, HEAD', async () => {
    const cases: Array<[string, string, string]> = [
      ['length', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Case: a\r\n\r\nhello', 'hello'],
      ['chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n', 'abcdefg'],
      ['close', 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end', 'until the end'],
      ['early-hints', 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nmain', 'main'],
      ['fold', 'HTTP/1.1 200 OK\r\nX-Case: one\r\n two\r\nContent-Length: 2\r\n\r\nok', 'ok'],
      ['bare-lf', 'HTTP/1.0 200 OK\nContent-Length: 3\n\nlf!', 'lf!'],
    ];
    for (const [name, answer, body] of cases) {
      device.answer(({ socket }) => {
        // Piece by piece, as a slow embedded server writes: the parser must not care where reads split.
        const bytes = Buffer.from(answer, 'latin1');
        for (let i = 0; i < bytes.length; i += 7) socket.write(bytes.subarray(i, i + 7));
        if (name === 'close' || name === 'bare-lf') socket.end();
      });
      const res = await visit(h.port, `/${name}`);
      expect({ name, status: res.status, body: res.body, complete: res.complete }).toEqual({ name, status: 200, body, complete: true });
      if (name === 'fold') expect(res.headers['x-case']).toBe('one two');
      expect(res.headers['transfer-encoding'] === undefined || res.headers['transfer-encoding'] === 'chunked').toBe(true);
    }
    device.answer(({ socket }) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n'));
    const head = await visit(h.port, '/head', false, 'HEAD');
    expect(head).toMatchObject({ status: 200, body: '', complete: true });
    expect(head.headers['content-length']).toBe('1234');
  });

  it('answers 502 for an answer whose framing is ambiguous or malformed, and never passes its bytes on', async () => {
    const bad = [
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc',
      'HTTP/2 200\r\nContent-Length: 3\r\n\r\nabc',
      'HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n',
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
      `HTTP/1.1 200 OK\r\nX-Huge: ${'a'.repeat(20_000)}\r\n\r\n`,
    ];
    for (const answer of bad) {
      device.answer(({ socket }) => socket.write(answer));
      const res = await visit(h.port, '/bad');
      expect({ answer: answer.slice(0, 40), status: res.status }).toEqual({ answer: answer.slice(0, 40), status: 502 });
      expect(res.body).toContain('Bad answer from device');
      expect(res.body).not.toContain('abc');
    }
  });

  it('never reuses a connection on which the device sent more than its framing, nor an idle one it wrote to unasked', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      device.answer(({ socket }) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
      await visit(h.port, '/warm', agent);
      const first = device.requests.at(-1)!.connection;
      await visit(h.port, '/again', agent);
      expect(device.requests.at(-1)!.connection).toBe(first);

      // Extra bytes after the body: the visitor gets the body as framed, the connection is closed.
      device.answer(({ socket }) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged'));
      const extra = await visit(h.port, '/extra', agent);
      expect(extra).toMatchObject({ status: 200, body: 'ok', complete: true });
      // At once, not after the pool's 4 s idle time.
      await until(() => device.closed.includes(first), 1_000);
      device.answer(({ socket }) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh'));
      const next = await visit(h.port, '/next', agent);
      expect(next.body).toBe('fresh');
      const second = device.requests.at(-1)!.connection;
      expect(second).not.toBe(first);

      // Bytes while the connection is idle in the pool: closed before anyone can read them.
      device.requests.at(-1)!.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged');
      await until(() => device.closed.includes(second), 1_000);
      const after = await visit(h.port, '/after', agent);
      expect(after.body).toBe('fresh');
      expect(device.requests.at(-1)!.connection).not.toBe(second);
    } finally {
      agent.destroy();
    }
  });

  it('sends a GET again, once, on a new connection when the device closed the kept-alive one', async () => {
    let n = 0;
    device.answer(({ socket }) => {
      n++;
      // The second request arrives on a connection the device is just closing.
      if (n === 2) socket.destroy();
      else socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n${n}`);
    });
    expect((await visit(h.port, '/one')).body).toBe('1');
    const res = await visit(h.port, '/two');
    expect(res).toMatchObject({ status: 200, body: '3', complete: true });
    expect(device.requests.slice(-2).map((r) => r.head.split('\r\n')[0])).toEqual(['GET /two HTTP/1.1', 'GET /two HTTP/1.1']);
  });

  it('cuts the visitor off when the device breaks off mid-body (a truncated body never looks complete)', async () => {
    for (const answer of ['HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n']) {
      device.answer(({ socket }) => {
        socket.write(answer);
        setTimeout(() => socket.destroy(), 20);
      });
      // The visitor sees a response that breaks off, or (nothing flushed yet) a connection that does.
      const res = await visit(h.port, '/cut').catch((err: Error) => ({ status: 0, complete: false, error: err.message }));
      expect(res.complete).toBe(false);
      expect([0, 200]).toContain(res.status);
    }
  });

  it('closes the device connection when the visitor leaves mid-body', async () => {
    let deviceSocket: net.Socket | undefined;
    let streaming: NodeJS.Timeout | undefined;
    device.answer(({ socket }) => {
      deviceSocket = socket;
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\nstart');
      // A long download: the device keeps sending until its connection goes.
      streaming = setInterval(() => socket.write(Buffer.alloc(16 * 1024, 1)), 5);
      socket.on('close', () => clearInterval(streaming));
    });
    const connection = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: h.port, path: '/long', agent: false, headers: { host: `an00000001.${DOMAIN}` } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve(device.requests.at(-1)!.connection);
        });
      });
      req.on('error', () => {});
      req.on('close', () => {});
      req.once('error', reject);
      req.end();
    });
    try {
      await until(() => device.closed.includes(connection));
      expect(deviceSocket?.destroyed).toBe(true);
    } finally {
      clearInterval(streaming);
    }
  });

  it('answers 504 when the device never answers, and closes that connection', async () => {
    device.answer(() => {});
    const res = await visit(h.port, '/silent');
    expect(res.status).toBe(504);
    expect(res.body).toContain('did not answer in time');
    const connection = device.requests.at(-1)!.connection;
    await until(() => device.closed.includes(connection));
  });
});

describe('the hub’s direct relay with a device that goes quiet mid-body', () => {
  it('gives up after the idle time: the visitor is cut off, the device connection closed', async () => {
    const device = await startRawDevice();
    const h = await startHub({ devices: [route('an00000001')], webPorts: { an00000001: device.port }, config: { idleTimeoutMs: 300 } });
    try {
      device.answer(({ socket }) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\npart'));
      const res = await visit(h.port, '/quiet');
      expect(res).toMatchObject({ status: 200, body: 'part', complete: false });
      await until(() => device.closed.includes(1));
      expect(h.accessLog.entries.at(-1)).toMatchObject({ status: 200 });
    } finally {
      await h.hub.close();
      await device.close();
    }
  });
});

describe('which requests the relay takes', () => {
  const device = route('an00000001');
  function forward(method: string, target: string, rawHeaders: string[], extra: Partial<ForwardRequest> = {}): ForwardRequest {
    const headers: Record<string, string> = {};
    for (let i = 0; i < rawHeaders.length; i += 2) headers[rawHeaders[i]!.toLowerCase()] = rawHeaders[i + 1]!;
    const req = { method, rawHeaders, headers } as unknown as IncomingMessage;
    return {
      req,
      res: undefined as never,
      device,
      target,
      host: `an00000001.${DOMAIN}`,
      client: { ip: '192.0.2.1', proto: 'https', forwardedFor: '192.0.2.1' },
      userId: null,
      requestId: 'r1',
      expectContinue: false,
      credentials: { dropAuthorization: false, dropCookies: false },
      ...extra,
    };
  }

  it('takes a plain GET or HEAD', () => {
    const head = relayedRequestHead(forward('GET', '/a?b=c', ['Accept', '*/*', 'Cookie', 'a=1']));
    expect(head).toBe(`GET /a?b=c HTTP/1.1\r\nHost: an00000001.${DOMAIN}\r\nAccept: */*\r\nCookie: a=1\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: an00000001.${DOMAIN}\r\nConnection: keep-alive\r\n\r\n`);
    expect(relayedRequestHead(forward('HEAD', '/', []))).toMatch(/^HEAD \/ HTTP\/1\.1\r\n/);
  });

  it('leaves everything else to node:http: other methods, bodies, odd targets or bytes, connection-bound authentication', () => {
    expect(relayedRequestHead(forward('POST', '/', []))).toBeUndefined();
    expect(relayedRequestHead(forward('OPTIONS', '/', []))).toBeUndefined();
    expect(relayedRequestHead(forward('GET', '/', ['Content-Length', '3']))).toBeUndefined();
    expect(relayedRequestHead(forward('GET', '/', ['Transfer-Encoding', 'chunked']))).toBeUndefined();
    expect(relayedRequestHead(forward('GET', '*', []))).toBeUndefined();
    expect(relayedRequestHead(forward('GET', 'http://x/', []))).toBeUndefined();
    expect(relayedRequestHead(forward('GET', '/a b', []))).toBeUndefined();
    expect(relayedRequestHead(forward('GET', '/', ['X-Odd', 'a\rb']))).toBeUndefined();
    expect(relayedRequestHead(forward('GET', '/', ['X-Odd', 'a\nGET / HTTP/1.1']))).toBeUndefined();
    expect(relayedRequestHead(forward('GET', '/', ['X Odd', 'a']))).toBeUndefined();
    expect(relayedRequestHead(forward('GET', '/', ['Authorization', 'NTLM TlRMTVNTUAAB']))).toBeUndefined();
    // On an owners device the pool is the user's own: connection-bound authentication may stay on it.
    expect(relayedRequestHead(forward('GET', '/', ['Authorization', 'NTLM TlRMTVNTUAAB'], { device: route('an00000001', { accessPolicy: 'owners' }), userId: 'u1' }))).toBeDefined();
  });
});
