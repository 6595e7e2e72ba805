// The hub's writes to the visitor: a device answer that arrives as a burst of small reads (one per
// overlay datagram) leaves for the visitor in a few socket writes, not one per read, and intact; an
// answer the device breaks off never reaches the visitor as a complete one.
// The fake device delivers each chunk from its own UDP datagram callback on loopback, as the overlay
// does: separate I/O callbacks of one event-loop turn.
import dgram from 'node:dgram';
import http from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceDialer } from '../proxy/contracts.js';
import { DOMAIN, route, startHub } from '../testing/http-harness.js';

const PARTS = 60;
const PART = Buffer.alloc(1000, 'p');

/** A device connection that answers a request with a header and PARTS body chunks, each read from its own datagram. */
class BurstyDevice extends Duplex {
  private pending = '';
  constructor(
    private readonly tx: dgram.Socket,
    private readonly rx: dgram.Socket,
  ) {
    super();
    rx.on('message', (part: Buffer) => this.push(part));
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.pending += chunk.toString('latin1');
    if (this.pending.includes('\r\n\r\n')) {
      this.pending = '';
      this.push(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${PARTS * PART.length}\r\n\r\n`);
      const { port } = this.rx.address();
      for (let i = 0; i < PARTS; i++) this.tx.send(PART, port, '127.0.0.1');
    }
    done();
  }
}

/** A device connection that promises more body than it sends, then closes. */
class TruncatingDevice extends Duplex {
  override _read(): void {}
  override _write(_chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.push('HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n');
    this.push(PART);
    setImmediate(() => this.destroy());
    done();
  }
}

describe("hub writes to the visitor", () => {
  let h: Awaited<ReturnType<typeof startHub>>;
  let writes = 0;
  const tx = dgram.createSocket('udp4');
  const rx = dgram.createSocket('udp4');
  beforeAll(async () => {
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
    const dialer: DeviceDialer = { dial: async (device) => (device.serial === 'an00000002' ? new TruncatingDevice() : new BurstyDevice(tx, rx)) };
    h = await startHub({ devices: [route('an00000001'), route('an00000002')], webPorts: {}, dialer });
    h.hub.servers.http.on('connection', (socket: Socket) => {
      // Every write that reaches the socket's handle, single or gathered.
      const s = socket as Socket & { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
      const write = s._write.bind(s);
      const writev = s._writev.bind(s);
      s._write = (...a) => {
        writes++;
        write(...a);
      };
      s._writev = (...a) => {
        writes++;
        writev(...a);
      };
    });
  });
  afterAll(async () => {
    await h.hub.close();
    tx.close();
    rx.close();
  });

  it('sends a burst of device reads in a few writes, byte for byte', async () => {
    const body = await new Promise<Buffer>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: h.port, path: '/big', agent: false, headers: { host: `an00000001.${DOMAIN}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      });
      req.on('error', reject);
      req.end();
    });
    expect(body.equals(Buffer.concat(Array.from({ length: PARTS }, () => PART)))).toBe(true);
    expect(writes).toBeGreaterThan(0);
    // One per event-loop turn that had datagrams (not one per datagram).
    expect(writes).toBeLessThanOrEqual(8);
  });

  it('closes the visitor connection when the device breaks off mid-answer, and logs the bytes sent', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: h.port, path: '/cut', agent: false, headers: { host: `an00000002.${DOMAIN}` } }, (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => (got += c.length));
        res.on('end', () => resolve(`complete with ${got} bytes`));
        res.on('error', (err: NodeJS.ErrnoException) => resolve(`broken: ${err.code ?? err.message}`));
      });
      req.on('error', (err: NodeJS.ErrnoException) => resolve(`broken: ${err.code ?? err.message}`));
      req.end();
    });
    expect(outcome).toMatch(/^broken/);
    while (!h.accessLog.entries.some((e) => e.path === '/cut')) await new Promise((r) => setImmediate(r));
    expect(h.accessLog.entries.find((e) => e.path === '/cut')).toMatchObject({ status: 200, bytesOut: PART.length });
  });
});
