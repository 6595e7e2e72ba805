// tcp-tunnel against small loopback WebSocket servers: a first frame that arrives in the same
// segment as the 101 (and a close right behind it) is delivered, not lost; large local chunks go
// out as messages of at most 64 KiB; refusals before the upgrade become one line with an exit code.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { CliError } from './errors.js';
import { openTunnel, pipeTunnel } from './tcp-tunnel.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

function listen(server: net.Server | WebSocketServer): Promise<number> {
  return new Promise((resolve) => {
    if (server instanceof WebSocketServer) server.once('listening', () => resolve((server.address() as net.AddressInfo).port));
    else server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

function collect(stream: PassThrough): () => Buffer {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks);
}

describe('tcp tunnel', () => {
  it('delivers a frame and a close that arrive in the same segment as the 101', async () => {
    const server = net.createServer((socket) => {
      let head = '';
      socket.on('data', (c: Buffer) => {
        if (head.includes('\r\n\r\n')) return socket.end(); // the client's close frame: done
        head += c.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        const key = /sec-websocket-key: (\S+)/i.exec(head)![1]!;
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        const payload = Buffer.from('SSH-2.0-Early\r\n');
        socket.write(
          Buffer.concat([
            Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`, 'latin1'),
            Buffer.from([0x82, payload.length]),
            payload,
            Buffer.from([0x88, 0x02, 0x03, 0xe8]), // close 1000
          ]),
        );
      });
    });
    closers.push(() => server.close());
    const port = await listen(server);
    const tunnel = await openTunnel({ url: `ws://127.0.0.1:${port}/.porthole/tcp?port=22`, token: 't', label: 'an1:22' });
    // Give the early frame every chance to be emitted before anyone listens.
    await new Promise((r) => setImmediate(r));
    const output = new PassThrough();
    const got = collect(output);
    const result = await pipeTunnel(tunnel, { input: Readable.from([]), output, endOutput: true, closeOnEof: false });
    expect(got().toString()).toBe('SSH-2.0-Early\r\n');
    expect(result).toMatchObject({ code: 1000, endedBy: 'device', bytesDown: 15 });
  });

  it('sends large local chunks as messages of at most 64 KiB, all bytes in order', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    closers.push(() => wss.close());
    const port = await listen(wss);
    const sizes: number[] = [];
    const received: Buffer[] = [];
    const total = 3 * 1024 * 1024 + 5;
    wss.on('connection', (ws) =>
      ws.on('message', (data: Buffer) => {
        sizes.push(data.length);
        received.push(data);
        if (received.reduce((n, b) => n + b.length, 0) === total) ws.close(1000, 'got it all');
      }),
    );
    const data = randomBytes(total);
    const tunnel = await openTunnel({ url: `ws://127.0.0.1:${port}/`, token: 't', label: 'x:1' });
    const result = await pipeTunnel(tunnel, { input: Readable.from([data]), output: new PassThrough(), endOutput: true, closeOnEof: false });
    expect(Math.max(...sizes)).toBe(64 * 1024);
    expect(Buffer.concat(received).equals(data)).toBe(true);
    expect(result).toMatchObject({ code: 1000, reason: 'got it all', bytesUp: total, endedBy: 'device' });
  });

  it('closes after local EOF only with closeOnEof, once everything is sent', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    closers.push(() => wss.close());
    const port = await listen(wss);
    let got = 0;
    wss.on('connection', (ws) => ws.on('message', (d: Buffer) => (got += d.length)));
    const tunnel = await openTunnel({ url: `ws://127.0.0.1:${port}/`, token: 't', label: 'x:1' });
    const result = await pipeTunnel(tunnel, { input: Readable.from([randomBytes(200_000)]), output: new PassThrough(), endOutput: true, closeOnEof: true });
    expect(result).toMatchObject({ endedBy: 'local', bytesUp: 200_000 });
    expect(got).toBe(200_000);
  });

  it('turns a refusal before the upgrade into one line and an exit code', async () => {
    const server = net.createServer((socket) =>
      socket.once('data', () => socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 42\r\nconnection: close\r\n\r\nport 23 is not open for forwarding on an1\n')),
    );
    closers.push(() => server.close());
    const port = await listen(server);
    const err = await openTunnel({ url: `ws://127.0.0.1:${port}/`, token: 't', label: 'an1:23' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).message).toBe('an1:23: port 23 is not open for forwarding on an1 (HTTP 403)');
    expect((err as CliError).exitCode).toBe(3);

    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const refused = await openTunnel({ url: `ws://127.0.0.1:${closed}/`, token: 't', label: 'an1:22' }).catch((e: unknown) => e);
    expect((refused as CliError).message).toBe(`an1:22: cannot reach the hub at 127.0.0.1:${closed}: connection refused`);
    expect((refused as CliError).exitCode).toBe(1);
  });
});
