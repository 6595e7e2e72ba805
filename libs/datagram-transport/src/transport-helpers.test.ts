// The token bucket on a fake clock, WireGuard message-type sniffing, and the HTTP CONNECT client
// against a minimal proxy on loopback (success with early tunnel bytes, refusal, non-HTTP answer).
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpConnectError, formatConnectRequest, httpConnect, parseConnectStatus } from './http-connect.js';
import { TokenBucket } from './token-bucket.js';
import { wireGuardMessageType } from './websocket-datagram.js';

describe('TokenBucket', () => {
  it('allows the burst, then the rate', () => {
    const b = new TokenBucket(10, 3, 1000);
    expect([b.take(1000), b.take(1000), b.take(1000), b.take(1000)]).toEqual([true, true, true, false]);
    expect(b.take(1099)).toBe(false); // 0.99 tokens
    expect(b.take(1100)).toBe(true);
    expect(b.take(900)).toBe(false); // clock went back: nothing added
    expect([b.take(2000), b.take(2000), b.take(2000), b.take(2000)]).toEqual([true, true, true, false]); // capped at burst
  });
});

describe('wireGuardMessageType', () => {
  it('reads the type byte and the three reserved zeros', () => {
    expect(wireGuardMessageType(new Uint8Array([1, 0, 0, 0, 9]))).toBe(1);
    expect(wireGuardMessageType(new Uint8Array([4, 0, 0, 0]))).toBe(4);
    expect(wireGuardMessageType(new Uint8Array([5, 0, 0, 0]))).toBe(0);
    expect(wireGuardMessageType(new Uint8Array([1, 0, 1, 0]))).toBe(0);
    expect(wireGuardMessageType(new Uint8Array([1, 0, 0]))).toBe(0);
  });
});

describe('httpConnect', () => {
  let proxy: Server | undefined;
  afterEach(() => proxy?.close());

  /** A proxy that records the request head and answers with `answer`, then echoes. */
  async function startProxy(answer: string): Promise<{ port: number; heads: string[] }> {
    const heads: string[] = [];
    proxy = createServer((s: Socket) => {
      let buf = '';
      const onData = (c: Buffer) => {
        buf += c.toString('latin1');
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        s.off('data', onData);
        heads.push(buf.slice(0, end + 4));
        s.write(answer);
        s.pipe(s);
      };
      s.on('data', onData);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => proxy!.listen(0, '127.0.0.1', r));
    return { port: (proxy.address() as { port: number }).port, heads };
  }

  it('tunnels after 200 and keeps bytes sent with the response', async () => {
    const { port, heads } = await startProxy('HTTP/1.1 200 Connection established\r\nX: y\r\n\r\nEARLY');
    const socket = await httpConnect({ proxyHost: '127.0.0.1', proxyPort: port, host: 'hub.test', port: 443, username: 'u', password: 'p:w' });
    const got = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (c: Buffer) => {
        text += c.toString();
        if (text === 'EARLYping') resolve(text);
      });
      socket.write('ping');
    });
    socket.destroy();
    expect(got).toBe('EARLYping');
    expect(heads[0]).toBe(`CONNECT hub.test:443 HTTP/1.1\r\nHost: hub.test:443\r\nProxy-Authorization: Basic ${Buffer.from('u:p:w').toString('base64')}\r\n\r\n`);
  });

  it('reports a refusal with its status, and non-HTTP answers', async () => {
    const { port } = await startProxy('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
    const err = await httpConnect({ proxyHost: '127.0.0.1', proxyPort: port, host: '::1', port: 80 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpConnectError);
    expect((err as HttpConnectError).status).toBe(407);
    expect((err as Error).message).toBe('proxy refused CONNECT to [::1]:80: HTTP 407');
    proxy!.close();
    const other = await startProxy('SSH-2.0-OpenSSH\r\n\r\n');
    await expect(httpConnect({ proxyHost: '127.0.0.1', proxyPort: other.port, host: 'h', port: 1 })).rejects.toThrow(/not HTTP/);
  });

  it('formats and parses heads', () => {
    expect(formatConnectRequest({ host: 'h', port: 1 })).toBe('CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n\r\n');
    expect(parseConnectStatus('HTTP/1.0 200\r\n')).toBe(200);
    expect(parseConnectStatus('HTTP/2 200\r\n')).toBeUndefined();
  });
});
