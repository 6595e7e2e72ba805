// Request-smuggling and limit cases from reliability-security.md §3.1/§6.2, sent as hand-written
// bytes on raw sockets. The device stand-in records every request it gets: refused requests must
// leave it untouched.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { metricValue } from '../ops/metrics.js';
import { DOMAIN, rawExchange, route, startHub, useDeviceBehindHub, type TestDevice, type TestEdgeHub } from '../testing/http-harness.js';
import { seededRandom } from '@porthole/wireguard/testing';

const PUB = `an00000001.${DOMAIN}`;
const OWN = `an00000002.${DOMAIN}`;

function statusOf(text: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
}

describe('hub HTTP hardening (raw sockets)', () => {
  let device: TestDevice;
  let h: TestEdgeHub;
  useDeviceBehindHub(
    { devices: [route('an00000001'), route('an00000002', { accessPolicy: 'owners' })], config: { headersTimeoutMs: 400, maxHeaderBytes: 8192, maxConnectionsPerIp: 40 } },
    (bed) => ({ device, h } = bed),
  );

  const refused: Array<[string, string, number]> = [
    ['Content-Length with Transfer-Encoding', `POST / HTTP/1.1\r\nHost: ${PUB}\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: ${PUB}\r\n\r\n`, 400],
    ['two different Content-Length', `POST / HTTP/1.1\r\nHost: ${PUB}\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc`, 400],
    ['Transfer-Encoding chunked, identity', `POST / HTTP/1.1\r\nHost: ${PUB}\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`, 400],
    ['Transfer-Encoding gzip, chunked', `POST / HTTP/1.1\r\nHost: ${PUB}\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`, 400],
    ['space before colon', `POST / HTTP/1.1\r\nHost: ${PUB}\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n`, 400],
    ['obs-fold', `GET / HTTP/1.1\r\nHost: ${PUB}\r\nX-A: 1\r\n  folded\r\n\r\n`, 400],
    ['bare LF', `GET / HTTP/1.1\nHost: ${PUB}\n\n`, 400],
    ['\\r\\n\\rX header termination (CVE-2025-23167)', `GET / HTTP/1.1\r\nHost: ${PUB}\r\n\rX: y\r\n\r\n`, 400],
    ['two Host headers', `GET / HTTP/1.1\r\nHost: ${PUB}\r\nHost: an00000002.${DOMAIN}\r\n\r\n`, 400],
    ['two identical Host headers', `GET / HTTP/1.1\r\nHost: ${PUB}\r\nHost: ${PUB}\r\n\r\n`, 400],
    ['no Host', 'GET / HTTP/1.1\r\n\r\n', 400],
    ['absolute-form naming another host', `GET http://${OWN}/secret HTTP/1.1\r\nHost: ${PUB}\r\n\r\n`, 400],
    ['absolute-form with userinfo', `GET http://x@${PUB}/ HTTP/1.1\r\nHost: ${PUB}\r\n\r\n`, 400],
    ['asterisk-form', `OPTIONS * HTTP/1.1\r\nHost: ${PUB}\r\n\r\n`, 400],
    ['Upgrade: h2c with Connection: Upgrade', `GET / HTTP/1.1\r\nHost: ${PUB}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n`, 400],
    ['Upgrade: h2c without Connection: Upgrade', `GET / HTTP/1.1\r\nHost: ${PUB}\r\nUpgrade: h2c\r\n\r\n`, 400],
    ['Upgrade to something other than WebSocket', `GET / HTTP/1.1\r\nHost: ${PUB}\r\nConnection: Upgrade\r\nUpgrade: tls/1.3\r\n\r\n`, 400],
    ['WebSocket upgrade with POST', `POST / HTTP/1.1\r\nHost: ${PUB}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n`, 400],
    ['header block over the limit', `GET / HTTP/1.1\r\nHost: ${PUB}\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`, 431],
    ['CONNECT', `CONNECT ${PUB}:22 HTTP/1.1\r\nHost: ${PUB}:22\r\n\r\n`, 405],
    ['unsupported Expect', `POST / HTTP/1.1\r\nHost: ${PUB}\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx`, 417],
  ];

  it.each(refused)('refuses %s (nothing reaches the device)', async (_name, bytes, status) => {
    const before = device.seen.length;
    const { text } = await rawExchange(h.port, bytes);
    expect(statusOf(text), text.slice(0, 200)).toBe(status);
    expect(device.seen.length).toBe(before);
  });

  it('closes the connection after a refused smuggling attempt instead of reading on', async () => {
    const { text, closed } = await rawExchange(h.port, `GET / HTTP/1.1\r\nHost: ${PUB}\r\nHost: ${OWN}\r\n\r\nGET /second HTTP/1.1\r\nHost: ${PUB}\r\n\r\n`);
    expect(closed).toBe(true);
    expect(text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
  });

  it('forwards an absolute-form request naming the same host as origin-form', async () => {
    const before = device.seen.length;
    const { text } = await rawExchange(h.port, `GET http://${PUB}/abs?q=1 HTTP/1.1\r\nHost: ${PUB}\r\nConnection: close\r\n\r\n`);
    expect(statusOf(text)).toBe(200);
    expect(device.seen[before]!.url).toBe('/abs?q=1');
  });

  it('re-frames a chunked body so the device sees one request with that body, even on GET', async () => {
    const before = device.seen.length;
    const { text } = await rawExchange(h.port, `GET /c HTTP/1.1\r\nHost: ${PUB}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`);
    expect(statusOf(text)).toBe(200);
    expect(device.seen.length).toBe(before + 1);
    expect(device.seen[before]!.body.toString()).toBe('hello world');
    expect(device.seen[before]!.headers['transfer-encoding']).toBe('chunked');
  });

  it('handles Expect: 100-continue: 100 only once the request will be forwarded', async () => {
    const socket = net.connect(h.port, '127.0.0.1');
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString()));
    await new Promise((r) => socket.once('connect', r));
    socket.write(`POST /upload HTTP/1.1\r\nHost: ${PUB}\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n`);
    await new Promise<void>((resolve) => {
      const check = () => (text.includes('100 Continue') ? resolve() : socket.once('data', check));
      check();
    });
    expect(text).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    socket.write('12345');
    await new Promise((r) => socket.once('close', r));
    expect(text).toMatch(/HTTP\/1\.1 200/);
    expect(device.seen.at(-1)!.body.toString()).toBe('12345');
    expect(device.seen.at(-1)!.headers.expect).toBeUndefined();

    // Refused before the body is sent: no 100, a 401, and the connection closed.
    const refusedEx = await rawExchange(h.port, `POST /upload HTTP/1.1\r\nHost: ${OWN}\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n`);
    expect(refusedEx.text).not.toContain('100 Continue');
    expect(statusOf(refusedEx.text)).toBe(401);
    expect(refusedEx.closed).toBe(true);
  });

  it('closes a connection whose headers never finish (slowloris)', async () => {
    const before = device.seen.length;
    const socket = net.connect(h.port, '127.0.0.1');
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    socket.write(`GET / HTTP/1.1\r\nHost: ${PUB}\r\nX-Slow: 1\r\n`);
    // Keep trickling header bytes; the hub must still close at headersTimeout.
    const drip = setInterval(() => socket.writable && socket.write('X-More: 1\r\n'), 50);
    await new Promise((r) => socket.once('close', r));
    clearInterval(drip);
    expect(statusOf(text) === 408 || text === '').toBe(true);
    expect(device.seen.length).toBe(before);
    expect(await metricValue(h.metrics.drops, { reason: 'headers_timeout' })).toBeGreaterThan(0);
  });

  it('caps connections per client address', async () => {
    const h2 = await startHub({ devices: [route('an00000001')], webPorts: { an00000001: device.port }, config: { maxConnectionsPerIp: 2 } });
    const sockets: net.Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const s = net.connect(h2.port, '127.0.0.1');
        sockets.push(s);
        // An answered request proves the server has admitted this connection.
        s.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
        await new Promise((r) => s.once('data', r));
      }
      const third = await rawExchange(h2.port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      expect(third).toEqual({ text: '', closed: true });
      expect(await metricValue(h2.metrics.drops, { reason: 'connection_limit' })).toBe(1);
    } finally {
      for (const s of sockets) s.destroy();
      await h2.hub.close();
    }
  });

  it('survives random bytes on the wire without an uncaught error', async () => {
    const seed = 20260705;
    console.log(`hardening random-bytes seed: ${seed}`);
    const rnd = seededRandom(seed);
    for (let i = 0; i < 30; i++) {
      const len = 1 + Math.floor(rnd() * 300);
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = Math.floor(rnd() * 256);
      const prefix = rnd() < 0.5 ? Buffer.from(`GET / HTTP/1.1\r\nHost: ${PUB}\r\n`) : Buffer.alloc(0);
      const { text } = await rawExchange(h.port, Buffer.concat([prefix, buf]), { endAfterWrite: true });
      if (text) expect(statusOf(text)).toBeGreaterThanOrEqual(200);
    }
    // The hub still serves.
    expect(statusOf((await rawExchange(h.port, `GET /ok HTTP/1.1\r\nHost: ${PUB}\r\nConnection: close\r\n\r\n`)).text)).toBe(200);
  });
});
