// Streaming through the hub: Server-Sent Events unbuffered, WebSocket passthrough (and the refusal
// cases of RFC 9931 / websocket-smuggle), /.porthole/tcp, and backpressure with bounded memory for a
// 1 GiB download and a 200 MiB upload.
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { metricValue } from '../ops/metrics.js';
import { DOMAIN, echoThrough, fakeAuth, rawExchange, route, signIn, startDevice, startHub } from '../testing/http-harness.js';

const PUB = `an00000001.${DOMAIN}`;
const OWN = `an00000002.${DOMAIN}`;
const REFUSER = `an00000003.${DOMAIN}`;
const MiB = 1024 * 1024;

/** The response of a refused WebSocket handshake ('unexpected-response' passes the request first). */
function refusal(ws: WebSocket): Promise<http.IncomingMessage> {
  ws.on('error', () => {});
  return new Promise((resolve) => ws.once('unexpected-response', (_req: http.ClientRequest, res: http.IncomingMessage) => resolve(res)));
}

function once<T = unknown>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, resolve as (v: unknown) => void));
}

describe('hub streaming', () => {
  let device: Awaited<ReturnType<typeof startDevice>>;
  let refuser: http.Server;
  let refuserBytesAfter426 = 0;
  let echo: net.Server;
  let h: Awaited<ReturnType<typeof startHub>>;
  let sseRelease: () => void = () => {};
  let earlyDataSeenBefore101 = -1;
  let earlyDataAfter101 = '';
  const auth = fakeAuth([['alice', 'dev-an00000002']], { 'ph_api_tok-alice': 'alice' });

  beforeAll(async () => {
    device = await startDevice((req, res) => {
      if (req.url === '/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write('data: first\n\n');
        sseRelease = () => res.end('data: second\n\n');
        return;
      }
      if (req.url === '/late') {
        setTimeout(() => res.end('late answer'), 150);
        return;
      }
      res.end('ok');
    });
    // WebSocket echo on the device; one path with a hand-rolled handshake to observe early data.
    const wss = new WebSocketServer({ noServer: true });
    device.server.on('upgrade', (req, socket, head) => {
      if (req.url === '/early') {
        earlyDataSeenBefore101 = head.length;
        const accept = crypto.createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        socket.on('data', (c: Buffer) => (earlyDataAfter101 += c.toString()));
        socket.on('end', () => socket.end());
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.send(JSON.stringify({ cookie: req.headers.cookie ?? null, authorization: req.headers.authorization ?? null }));
        ws.on('message', (m, binary) => ws.send(m, { binary }));
      });
    });
    // A device whose WebSocket endpoint refuses with 426 and logs anything sent afterwards.
    refuser = http.createServer((_req, res) => res.end('refuser'));
    refuser.on('upgrade', (_req, socket) => {
      socket.write('HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 12\r\n\r\nwrong vers\r\n');
      socket.on('data', (c: Buffer) => (refuserBytesAfter426 += c.length));
      socket.on('end', () => socket.end());
    });
    await new Promise<void>((r) => refuser.listen(0, '127.0.0.1', r));
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));

    h = await startHub({
      devices: [route('an00000001'), route('an00000002', { accessPolicy: 'owners' }), route('an00000003')],
      webPorts: { an00000001: device.port, an00000002: device.port, an00000003: (refuser.address() as AddressInfo).port },
      tcpPorts: { 'an00000002:22': (echo.address() as AddressInfo).port, 'an00000002:25': (echo.address() as AddressInfo).port },
      tcpPortPolicy: (_d, port) => port !== 25,
      auth,
    });
  });
  afterAll(async () => {
    await h.hub.close();
    await device.close();
    refuser.closeAllConnections();
    await new Promise((r) => refuser.close(r));
    await new Promise((r) => echo.close(r));
  });

  it('delivers Server-Sent Events as they are written (no buffering)', async () => {
    const req = http.request({ host: '127.0.0.1', port: h.port, path: '/events', headers: { host: PUB }, agent: false });
    req.end();
    const res = await once<http.IncomingMessage>(req, 'response');
    expect(res.headers['content-type']).toBe('text/event-stream');
    res.setEncoding('utf8');
    // The first event arrives while the device still holds the stream open.
    expect(await once<string>(res, 'data')).toBe('data: first\n\n');
    let rest = '';
    res.on('data', (c: string) => (rest += c));
    sseRelease();
    await once(res, 'end');
    expect(rest).toBe('data: second\n\n');
  });

  it('passes WebSockets through after the device’s 101, with hub credentials stripped', async () => {
    const cookie = await signIn(h, 'alice', 'an00000002');
    const ws = new WebSocket(`ws://127.0.0.1:${h.port}/chat`, { headers: { host: OWN, cookie: `${cookie}; own=1`, authorization: 'Bearer ph_api_tok-alice' } });
    const first = await once<Buffer>(ws, 'message');
    expect(JSON.parse(first.toString())).toEqual({ cookie: 'own=1', authorization: null });
    ws.send(Buffer.from([1, 2, 3, 255]));
    expect([...(await once<Buffer>(ws, 'message'))]).toEqual([1, 2, 3, 255]);
    ws.send('text frame');
    expect((await once<Buffer>(ws, 'message')).toString()).toBe('text frame');
    ws.close(1000);
    expect(await once<number>(ws, 'close')).toBe(1000);
  });

  it('refuses a WebSocket on an owners device without a session with 401 (no redirect)', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${h.port}/chat`, { headers: { host: OWN } });
    const res = await refusal(ws);
    expect(res.statusCode).toBe(401);
    ws.terminate();
  });

  it('answers a request whose sender half-closed after sending it (FIN before the device answers)', async () => {
    // Node's HTTP server aborts pending requests and ends the socket on the client's FIN unless the
    // server allows half-open connections; a tool that sends its request and then shuts down its
    // write side (HTTP/1.0 style, `nc -N`) would get no answer at all.
    const { text, closed } = await rawExchange(h.port, `GET /late HTTP/1.1\r\nHost: ${PUB}\r\n\r\n`, { endAfterWrite: true });
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text.endsWith('late answer')).toBe(true);
    expect(closed).toBe(true);
  });

  it('accepts Firefox-style "Connection: keep-alive, Upgrade" and holds early data until the 101 (RFC 9931)', async () => {
    const key = crypto.randomBytes(16).toString('base64');
    const { text } = await rawExchange(
      h.port,
      `GET /early HTTP/1.1\r\nHost: ${PUB}\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\nEARLY`,
      { untilMatch: /\r\n\r\n/ },
    );
    expect(text).toMatch(/^HTTP\/1\.1 101 /);
    await new Promise<void>((resolve) => {
      const check = () => (earlyDataAfter101 === 'EARLY' ? resolve() : setImmediate(check));
      check();
    });
    expect(earlyDataSeenBefore101).toBe(0);
  });

  it('relays a device’s 426 as plain HTTP and never opens a raw tunnel (websocket-smuggle)', async () => {
    const key = crypto.randomBytes(16).toString('base64');
    const socket = net.connect(h.port, '127.0.0.1');
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString()));
    await once(socket, 'connect');
    socket.write(`GET /ws HTTP/1.1\r\nHost: ${REFUSER}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 1337\r\nSec-WebSocket-Key: ${key}\r\n\r\n`);
    await new Promise<void>((resolve) => {
      const check = () => (text.includes('wrong vers') ? resolve() : socket.once('data', check));
      check();
    });
    expect(text).toMatch(/^HTTP\/1\.1 426 /);
    expect(text).toMatch(/connection: close/i);
    // Try to talk to the device's internals over the supposed tunnel.
    socket.write(`GET /internal HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    await once(socket, 'close');
    expect(refuserBytesAfter426).toBe(0);
  });

  it('caps open tunnels per visitor (429) and frees the slot when one closes', async () => {
    const h2 = await startHub({ devices: [route('an00000001')], webPorts: { an00000001: device.port }, hubOptions: { maxTunnelsPerVisitor: 1 } });
    try {
      const open = () => new WebSocket(`ws://127.0.0.1:${h2.port}/chat`, { headers: { host: PUB } });
      const first = open();
      await once(first, 'open');
      expect((await refusal(open())).statusCode).toBe(429);
      first.close();
      await once(first, 'close');
      // The hub releases the slot once its side of the tunnel is gone.
      let third = open();
      for (let i = 0; i < 50; i++) {
        const outcome = await new Promise<string>((resolve) => {
          third.once('open', () => resolve('open'));
          third.once('unexpected-response', () => resolve('refused'));
          third.on('error', () => {});
        });
        if (outcome === 'open') break;
        await new Promise((r) => setImmediate(r));
        third = open();
      }
      expect(third.readyState).toBe(third.OPEN);
      third.close();
      expect(await metricValue(h2.metrics.drops, { reason: 'tunnel_limit' })).toBeGreaterThan(0);
    } finally {
      await h2.hub.close();
    }
  });

  describe('/.porthole/tcp', () => {
    const open = (headers: Record<string, string>, port: number) => new WebSocket(`ws://127.0.0.1:${h.port}/.porthole/tcp?port=${port}`, { headers: { host: OWN, ...headers } });

    it('pipes binary messages to an allow-listed device port and back', async () => {
      const ws = open({ authorization: 'Bearer ph_api_tok-alice' }, 22);
      await once(ws, 'open');
      const payload = crypto.randomBytes(200_000);
      expect((await echoThrough(ws, payload)).equals(payload)).toBe(true);
      ws.close();
      await once(ws, 'close');
      const entry = h.accessLog.entries.findLast((e) => e.kind === 'tcp' && e.status === 101)!;
      expect(entry).toMatchObject({ userId: 'alice', path: '/.porthole/tcp', bytesIn: 200_000, bytesOut: 200_000 });
    });

    it.each([
      ['no credentials', {}, 22, 401],
      ['a port the hub policy refuses', { authorization: 'Bearer ph_api_tok-alice' }, 25, 403],
      ['a port the agent refuses (RST)', { authorization: 'Bearer ph_api_tok-alice' }, 23, 502],
    ] as const)('reports %s before any WebSocket opens', async (_n, headers, port, status) => {
      const ws = open(headers, port);
      const res = await refusal(ws);
      expect(res.statusCode).toBe(status);
      ws.terminate();
    });

    it('needs a signed-in user even on a public device', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${h.port}/.porthole/tcp?port=22`, { headers: { host: PUB } });
      expect((await refusal(ws)).statusCode).toBe(401);
      ws.terminate();
    });
  });
});

describe('backpressure and bounded memory', () => {
  let device: http.Server;
  let h: Awaited<ReturnType<typeof startHub>>;
  let blocked: Promise<void> = Promise.resolve();
  let deviceWritten = 0;
  let uploadPaused = true;
  let resumeUpload: () => void = () => {};
  const chunk = Buffer.alloc(64 * 1024, 0x5a);

  beforeAll(async () => {
    device = http.createServer((req, res) => {
      if (req.url?.startsWith('/download')) {
        const total = Number(new URL(req.url, 'http://x').searchParams.get('bytes'));
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
        let notifyBlocked: () => void = () => {};
        blocked = new Promise((r) => (notifyBlocked = r));
        deviceWritten = 0;
        const pump = () => {
          while (deviceWritten < total) {
            const n = Math.min(chunk.length, total - deviceWritten);
            deviceWritten += n;
            if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
              notifyBlocked();
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        pump();
        return;
      }
      if (req.url === '/upload') {
        let received = 0;
        req.on('data', (c: Buffer) => (received += c.length));
        req.on('end', () => res.end(String(received)));
        if (uploadPaused) {
          req.pause();
          resumeUpload = () => req.resume();
        }
        return;
      }
      res.end();
    });
    await new Promise<void>((r) => device.listen(0, '127.0.0.1', r));
    h = await startHub({ devices: [route('an00000001')], webPorts: { an00000001: (device.address() as AddressInfo).port } });
  });
  afterAll(async () => {
    await h.hub.close();
    device.closeAllConnections();
    await new Promise((r) => device.close(r));
  });

  function sampleMemory() {
    global.gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    return { stop: () => (clearInterval(timer), (peak - base) / MiB) };
  }

  it('streams a 1 GiB download: the device is held back while the visitor does not read, memory stays bounded', async () => {
    const total = 1024 * MiB;
    const mem = sampleMemory();
    const req = http.request({ host: '127.0.0.1', port: h.port, path: `/download?bytes=${total}`, headers: { host: PUB }, agent: false });
    req.end();
    const res = await once<http.IncomingMessage>(req, 'response');
    res.pause();
    await blocked;
    // The visitor reads nothing; whatever the device managed to write sits in bounded buffers.
    await new Promise((r) => setTimeout(r, 200));
    const heldBack = deviceWritten;
    expect(heldBack).toBeLessThan(32 * MiB);
    let received = 0;
    res.on('data', (c: Buffer) => (received += c.length));
    res.resume();
    await once(res, 'end');
    const growth = mem.stop();
    console.log(`1 GiB download: device held at ${(heldBack / MiB).toFixed(1)} MiB while the visitor paused; peak RSS growth ${growth.toFixed(0)} MiB`);
    expect(received).toBe(total);
    expect(growth).toBeLessThan(200);
  });

  it('streams a 200 MiB upload: the visitor is held back while the device does not read, memory stays bounded', async () => {
    const total = 200 * MiB;
    const mem = sampleMemory();
    const req = http.request({ host: '127.0.0.1', port: h.port, path: '/upload', method: 'POST', headers: { host: PUB, 'content-length': total }, agent: false });
    let sent = 0;
    let clientBlocked: () => void = () => {};
    const blockedOnce = new Promise<void>((r) => (clientBlocked = r));
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          clientBlocked();
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
    await blockedOnce;
    await new Promise((r) => setTimeout(r, 200));
    const heldBack = sent;
    expect(heldBack).toBeLessThan(32 * MiB);
    resumeUpload();
    const res = await once<http.IncomingMessage>(req, 'response');
    let body = '';
    res.on('data', (c: Buffer) => (body += c));
    await once(res, 'end');
    const growth = mem.stop();
    console.log(`200 MiB upload: visitor held at ${(heldBack / MiB).toFixed(1)} MiB while the device paused; peak RSS growth ${growth.toFixed(0)} MiB`);
    expect(Number(body)).toBe(total);
    expect(growth).toBeLessThan(200);
    const entry = h.accessLog.entries.at(-1)!;
    expect(entry.bytesIn).toBe(total);
  });
});
