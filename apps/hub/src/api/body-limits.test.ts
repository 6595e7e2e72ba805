// Every body the hub reads, over a real socket: a chunked upload far above the limit is answered
// 413 with the error shape (a page for portal forms) and the server stops reading it — it reads a
// few hundred KiB of a 256 MiB upload, where reading whole bodies first took it all in.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, tableCounts, type TestDatabase } from '@porthole/db/testing';
import { buildPortal } from '../testing/portal-harness.js';
import { createTestClock, createTestRegistry } from '../testing/registry-test-bed.js';
import { ADMIN_TOKEN } from '../testing/api-harness.js';

const UPLOAD_BYTES = 256 * 1024 * 1024;
const CHUNK = Buffer.alloc(1024 * 1024, 0x7b); // '{'

interface Upload {
  status: number;
  head: string;
  body: string;
  /** What the server side of the connection read off the wire. */
  serverBytesRead: number;
  clientBytesWritten: number;
}

describe('body limits while the body streams', () => {
  let t: TestDatabase;
  let server: http.Server;
  let port: number;
  const serverSockets: net.Socket[] = [];

  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    const clock = createTestClock();
    const registry = createTestRegistry(t.db, clock);
    const admin = await registry.signUp({ email: 'admin@example.io', password: 'correct horse battery', role: 'admin' });
    await registry.createApiToken({ userId: admin.id, name: 'test', scopes: ['read', 'write'], plaintext: ADMIN_TOKEN });
    const app = buildPortal(registry, clock);
    server = http.createServer(getRequestListener(app.fetch));
    server.on('connection', (s) => serverSockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await t?.drop();
  });

  /** Streams UPLOAD_BYTES as chunked encoding until the server answers or closes, whichever first. */
  function upload(path: string, headers: Record<string, string>): Promise<Upload> {
    return new Promise((resolve, reject) => {
      const before = serverSockets.length;
      const socket = net.connect(port, '127.0.0.1');
      let response = '';
      let sent = 0;
      let stopped = false;
      const head = [`POST ${path} HTTP/1.1`, 'Host: portal.example.io', 'Transfer-Encoding: chunked', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
      const pump = () => {
        while (!stopped && sent < UPLOAD_BYTES) {
          sent += CHUNK.length;
          const ok = socket.write(`${CHUNK.length.toString(16)}\r\n`) && socket.write(CHUNK) && socket.write('\r\n');
          if (!ok) return void socket.once('drain', pump);
        }
        if (!stopped) socket.write('0\r\n\r\n');
      };
      socket.on('connect', () => {
        socket.write(`${head.join('\r\n')}\r\n\r\n`);
        pump();
      });
      socket.on('data', (d: Buffer) => {
        stopped = true;
        response += d.toString('latin1');
      });
      socket.on('error', () => {
        stopped = true; // EPIPE / ECONNRESET once the server closes: expected
      });
      socket.on('close', () => {
        const m = /^HTTP\/1\.1 (\d{3})/.exec(response);
        if (!m) return reject(new Error(`no response; server read ${serverSockets[before]?.bytesRead} bytes`));
        const split = response.indexOf('\r\n\r\n');
        resolve({
          status: Number(m[1]),
          head: response.slice(0, split),
          body: response.slice(split + 4),
          serverBytesRead: serverSockets[before]?.bytesRead ?? -1,
          clientBytesWritten: socket.bytesWritten,
        });
      });
      socket.setTimeout(30_000, () => socket.destroy(new Error('timeout')));
    });
  }

  const json = { 'Content-Type': 'application/json' };
  it.each([
    ['the open claim start', '/api/v1/claims', json],
    ['device registration', '/api/v1/devices/register', json],
    ['claim polling', '/api/v1/claims/poll', json],
    ['an authenticated admin body', '/api/v1/enrollment-tokens', { ...json, Authorization: `Bearer ${ADMIN_TOKEN}` }],
  ])('%s: 413 with the error shape, upload abandoned', async (_name, path, headers) => {
    const before = await tableCounts(t.db);
    const res = await upload(path, headers);
    expect(res.status).toBe(413);
    expect(res.head.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(res.body)).toEqual({ error: { code: 'payload_too_large', message: expect.stringMatching(/^request body is larger than \d+ bytes$/) } });
    // The server read a sliver of the 256 MiB (socket buffers included), never the whole upload.
    expect(res.serverBytesRead).toBeGreaterThan(0);
    expect(res.serverBytesRead).toBeLessThan(16 * 1024 * 1024);
    expect(await tableCounts(t.db)).toEqual(before);
  });

  it('a portal form: 413 page, upload abandoned', async () => {
    const res = await upload('/login', { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'https://portal.example.io', 'Sec-Fetch-Site': 'same-origin' });
    expect(res.status).toBe(413);
    expect(res.head.toLowerCase()).toContain('content-type: text/html');
    expect(res.head.toLowerCase()).toContain('connection: close');
    expect(res.body).toContain('The form is too large.');
    expect(res.serverBytesRead).toBeLessThan(16 * 1024 * 1024);
  });
});
