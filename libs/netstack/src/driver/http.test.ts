// node:http unchanged over two stacks (real timers, in-memory link): server via
// emit('connection'), client via createConnection; GET, POST with a body, keep-alive, plus the
// socket semantics http relies on (half-close, errors with net's codes, back-pressure).
import { createHash } from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Prng } from '../testing/prng.js';
import { createMemoryLink, type MemoryLink } from './memory-link.js';
import type { TcpSocket } from './tcp-socket.js';

let link: MemoryLink | undefined;
let server: http.Server | undefined;

afterEach(() => {
  server?.close();
  link?.close();
  link = server = undefined;
});

function setup(handler: http.RequestListener): { link: MemoryLink; server: http.Server } {
  link = createMemoryLink({ address: '100.64.0.1' }, { address: '100.64.0.2' });
  server = http.createServer(handler);
  link.b.listen(80, (socket) => server!.emit('connection', socket));
  return { link, server };
}

function request(
  options: http.RequestOptions & { body?: Buffer },
  createConnection: () => TcpSocket,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; socket: TcpSocket }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...options, createConnection: createConnection as never }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), socket: req.socket as unknown as TcpSocket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('node:http over the userspace stack', () => {
  it('serves a GET and reports the peer address', async () => {
    const { link } = setup((req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(`hello ${req.socket.remoteAddress}:${req.socket.remotePort} ${req.url}`);
    });
    const res = await request({ host: '100.64.0.2', port: 80, path: '/x?y=1' }, () => link.a.connect({ host: '100.64.0.2', port: 80 }));
    expect(res.status).toBe(200);
    expect(res.body.toString()).toMatch(/^hello 100\.64\.0\.1:\d+ \/x\?y=1$/);
    expect(res.socket.remotePort).toBe(80);
  });

  it('POSTs an 8 MB body and downloads 16 MB, hashes intact', async () => {
    const prng = new Prng(401);
    const upload = Buffer.from(prng.bytes(8 * 1024 * 1024));
    const download = Buffer.from(prng.bytes(16 * 1024 * 1024));
    const { link } = setup((req, res) => {
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => {
        h.update(c);
        n += c.length;
      });
      req.on('end', () => {
        res.setHeader('x-received-sha256', h.digest('hex'));
        res.setHeader('x-received-bytes', String(n));
        res.end(download);
      });
    });
    const res = await request({ host: '100.64.0.2', port: 80, method: 'POST', path: '/upload', body: upload }, () =>
      link.a.connect({ host: '100.64.0.2', port: 80 }),
    );
    expect(res.headers['x-received-bytes']).toBe(String(upload.length));
    expect(res.headers['x-received-sha256']).toBe(createHash('sha256').update(upload).digest('hex'));
    expect(res.body.length).toBe(download.length);
    expect(createHash('sha256').update(res.body).digest('hex')).toBe(createHash('sha256').update(download).digest('hex'));
  });

  it('reuses one connection for keep-alive requests through an http.Agent', async () => {
    const seen = new Set<string>();
    const { link } = setup((req, res) => {
      seen.add(`${req.socket.remoteAddress}:${req.socket.remotePort}`);
      res.end(`n=${req.url}`);
    });
    let created = 0;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    (agent as unknown as { createConnection: () => TcpSocket }).createConnection = () => {
      created++;
      return link.a.connect({ host: '100.64.0.2', port: 80 });
    };
    for (let i = 0; i < 5; i++) {
      const res = await new Promise<string>((resolve, reject) => {
        http
          .get({ host: '100.64.0.2', port: 80, path: `/${i}`, agent }, (r) => {
            let body = '';
            r.setEncoding('utf8');
            r.on('data', (c: string) => (body += c));
            r.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
      expect(res).toBe(`n=/${i}`);
    }
    expect(created).toBe(1);
    expect(seen.size).toBe(1);
    agent.destroy();
  });

  it('connect to a closed port emits ECONNREFUSED like net.Socket', async () => {
    link = createMemoryLink({ address: '100.64.0.1' }, { address: '100.64.0.2' });
    const socket = link.a.connect({ host: '100.64.0.2', port: 9 });
    expect(socket.connecting).toBe(true);
    expect(socket.readyState).toBe('opening');
    const [err] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.syscall).toBe('connect');
    expect(err.errno).toBeLessThan(0);
    expect(socket.destroyed).toBe(true);
  });

  it('half-closes with end(), keeps reading, and both sides close without RST', async () => {
    link = createMemoryLink({ address: '100.64.0.1' }, { address: '100.64.0.2' });
    const serverDone = new Promise<string>((resolve) => {
      link!.b.listen(
        7,
        (s) => {
          let got = '';
          s.setEncoding('utf8');
          s.on('data', (c: string) => (got += c));
          s.on('end', () => {
            // Peer half-closed: we can still write (allowHalfOpen), then end.
            s.end(`echo:${got}`);
            resolve(got);
          });
        },
        { allowHalfOpen: true },
      );
    });
    const client = link.a.connect({ host: '100.64.0.2', port: 7, allowHalfOpen: true });
    await once(client, 'connect');
    expect(client.readyState).toBe('open');
    const closed = once(client, 'close');
    client.end('ping');
    let reply = '';
    client.setEncoding('utf8');
    client.on('data', (c: string) => (reply += c));
    await closed;
    expect(await serverDone).toBe('ping');
    expect(reply).toBe('echo:ping');
    expect(link.a.stats.tcp.resetsSent + link.b.stats.tcp.resetsSent).toBe(0);
    expect(client.bytesRead).toBe(9);
    expect(client.bytesWritten).toBe(4);
  });

  it('write() returns false when the send buffer is full, and drains', async () => {
    link = createMemoryLink({ address: '100.64.0.1', limits: { sendBufferBytes: 64 * 1024 } }, { address: '100.64.0.2' });
    // Nobody reads on the server (no 'data' listener): its window closes, then the client's buffers fill.
    const accepted = new Promise<TcpSocket>((resolve) => link!.b.listen(9000, resolve));
    const client = link.a.connect({ host: '100.64.0.2', port: 9000 });
    const serverSocket = await accepted;
    const chunk = Buffer.alloc(64 * 1024, 1);
    let writes = 0;
    while (client.write(chunk)) writes++;
    expect(writes).toBeLessThan(200); // bounded: 4 MiB window + 64 KiB send buffer + 16 KiB stream
    const drained = once(client, 'drain');
    serverSocket.resume();
    await drained;
    client.destroy();
  });

  it('a reset while a write is blocked surfaces one ECONNRESET and fails the write callback', async () => {
    link = createMemoryLink({ address: '100.64.0.1', limits: { sendBufferBytes: 64 * 1024 } }, { address: '100.64.0.2' });
    const accepted = new Promise<TcpSocket>((resolve) => link!.b.listen(9001, resolve));
    const client = link.a.connect({ host: '100.64.0.2', port: 9001 });
    const server = await accepted;
    const errors: NodeJS.ErrnoException[] = [];
    client.on('error', (e) => errors.push(e));
    const callbacks: Array<Error | null | undefined> = [];
    const chunk = Buffer.alloc(256 * 1024, 2);
    for (let i = 0; i < 40; i++) client.write(chunk, (e) => callbacks.push(e));
    // The server never reads: its window closes and the client's writes block. Then it resets.
    while (client.writableLength === 0) await new Promise((r) => setTimeout(r, 5));
    const closed = new Promise((resolve) => client.on('close', resolve)); // once() would reject on 'error'
    server.resetAndDestroy();
    await closed;
    expect(errors.map((e) => e.code)).toEqual(['ECONNRESET']);
    expect(callbacks.some((e) => e instanceof Error)).toBe(true);
  });

  it('idle setTimeout emits timeout; destroy() of a live socket resets the peer when data is unread', async () => {
    link = createMemoryLink({ address: '100.64.0.1' }, { address: '100.64.0.2' });
    const peerError = new Promise<NodeJS.ErrnoException>((resolve) => {
      link!.b.listen(1234, (s) => {
        s.on('error', resolve);
        s.write('unread by the client');
      });
    });
    const client = link.a.connect({ host: '100.64.0.2', port: 1234 });
    client.pause();
    client.setTimeout(30);
    await once(client, 'timeout');
    // Wait until the server's bytes sit unread in our TCP receive buffer (no reader: paused).
    const conn = (client as unknown as { conn: { readableBytes: number } }).conn;
    while (conn.readableBytes === 0) await new Promise((r) => setTimeout(r, 5));
    client.destroy();
    const err = await peerError;
    expect(err.code).toBe('ECONNRESET');
  });

  it('setTimeout: off stops the timeout, on again counts from that call, as node:http uses it between requests', async () => {
    link = createMemoryLink({ address: '100.64.0.1' }, { address: '100.64.0.2' });
    link.b.listen(1234, () => {});
    const client = link.a.connect({ host: '100.64.0.2', port: 1234 });
    await once(client, 'connect');
    let timeouts = 0;
    client.on('timeout', () => timeouts++);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      client.setTimeout(1000);
      client.setTimeout(0);
      vi.advanceTimersByTime(2000);
      expect(timeouts).toBe(0);

      client.setTimeout(1000);
      vi.advanceTimersByTime(600);
      client.setTimeout(0); // a request came in
      client.setTimeout(1000); // its response went out
      vi.advanceTimersByTime(600);
      expect(timeouts).toBe(0);
      vi.advanceTimersByTime(500);
      expect(timeouts).toBe(1);

      client.setTimeout(250); // another duration
      vi.advanceTimersByTime(300);
      expect(timeouts).toBe(2);
    } finally {
      vi.useRealTimers();
      client.destroy();
    }
  });
});
