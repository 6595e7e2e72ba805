// Batching in the socket driver, judged by what crosses the wire and what the reader sees, never by
// time: writes buffered by cork() (and node:http's corked responses) leave as the fewest segments
// the MSS allows; segments arriving in one burst reach the reader as one chunk; a lone segment is
// still delivered in the same event-loop turn; a paused reader still closes the window.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePacket } from '../testing/packets.js';
import { Prng } from '../testing/prng.js';
import type { TcpConnection } from '../tcp/tcp-connection.js';
import { createNetstack, type Netstack, type NetstackDriverOptions } from './create-netstack.js';
import type { TcpSocket } from './tcp-socket.js';

const CLIENT = '100.64.0.1';
const SERVER = '100.64.0.2';
/** Payload per full segment: MTU 1420 − 40 bytes of headers − 12 bytes of timestamps option. */
const SEG = 1368;

type Side = 'client' | 'server';

interface Segment {
  from: Side;
  payloadBytes: number;
}

/**
 * Two stacks joined by a link that records every TCP segment. Packets go across on setImmediate,
 * unless their direction is held: then they wait until release() feeds them all in one loop, as
 * the event loop hands over the datagrams of one burst.
 */
class Link {
  readonly client: Netstack;
  readonly server: Netstack;
  readonly wire: Segment[] = [];
  private readonly held: Record<Side, Uint8Array[] | undefined> = { client: undefined, server: undefined };

  constructor(client: Partial<NetstackDriverOptions> = {}, server: Partial<NetstackDriverOptions> = {}) {
    this.client = createNetstack({ ...client, address: CLIENT, onTransmit: this.carry('client') });
    this.server = createNetstack({ ...server, address: SERVER, onTransmit: this.carry('server') });
  }

  /** Holds what `from` sends until release(). */
  hold(from: Side): void {
    this.held[from] ??= [];
  }

  heldCount(from: Side): number {
    return this.held[from]?.length ?? 0;
  }

  /** Delivers everything `from` sent since hold(), synchronously, and stops holding. */
  release(from: Side): void {
    const packets = this.held[from] ?? [];
    this.held[from] = undefined;
    const to = from === 'client' ? this.server : this.client;
    for (const p of packets) to.receive(p);
  }

  /** Data segments sent by `from`, their payload sizes in order. */
  dataFrom(from: Side): number[] {
    return this.wire.filter((s) => s.from === from && s.payloadBytes > 0).map((s) => s.payloadBytes);
  }

  close(): void {
    this.client.close();
    this.server.close();
  }

  private carry(from: Side): (packet: Uint8Array) => void {
    return (packet) => {
      const tcp = parsePacket(packet).tcp;
      if (tcp) this.wire.push({ from, payloadBytes: tcp.payload.length });
      const held = this.held[from];
      if (held !== undefined) held.push(packet);
      else setImmediate(() => (from === 'client' ? this.server : this.client).receive(packet));
    };
  }
}

let links: Link[] = [];
afterEach(() => {
  for (const l of links) l.close();
  links = [];
});

function link(client?: Partial<NetstackDriverOptions>, server?: Partial<NetstackDriverOptions>): Link {
  const l = new Link(client, server);
  links.push(l);
  return l;
}

/** A connected client socket and the server's socket for it. */
async function connected(l: Link, noDelay = true): Promise<{ client: TcpSocket; server: TcpSocket }> {
  const accepted = new Promise<TcpSocket>((resolve) => l.server.listen(80, resolve, { noDelay }));
  const client = l.client.connect({ host: SERVER, port: 80, noDelay });
  const [server] = await Promise.all([accepted, once(client, 'connect')]);
  return { client, server };
}

/** Collects what `socket` reads until `bytes` arrived: the chunks as 'data' delivered them. */
function collect(socket: TcpSocket, bytes: number): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let n = 0;
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      n += c.length;
      if (n >= bytes) resolve(chunks);
    });
  });
}

function connOf(socket: TcpSocket): TcpConnection {
  return (socket as unknown as { conn: TcpConnection }).conn;
}

/** Resolves at the end of this event-loop turn (after the immediates already queued). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 2));
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

describe('writes buffered by cork() go out together (_writev)', () => {
  it('pieces written inside cork/uncork leave as full segments, each write called back in order', async () => {
    const l = link();
    const { client, server } = await connected(l);
    const pieces = [150, 40, 1000, 2, 700, 1200, 17].map((n, i) => Buffer.alloc(n, 0x61 + i));
    const total = pieces.reduce((a, p) => a + p.length, 0);
    const received = collect(server, total);
    const before = l.dataFrom('client').length;
    const called: number[] = [];
    client.cork();
    pieces.forEach((p, i) => client.write(p, (err) => called.push(err ? -1 : i)));
    client.uncork();
    expect(Buffer.concat(await received).equals(Buffer.concat(pieces))).toBe(true);
    // 3,109 bytes: two full segments and the rest, not one segment per write.
    expect(l.dataFrom('client').slice(before)).toEqual([SEG, SEG, total - 2 * SEG]);
    expect(called).toEqual(pieces.map((_, i) => i));
    expect(client.bytesWritten).toBe(total);
  });

  it("node:http's chunked response leaves in the fewest segments its bytes need", async () => {
    const l = link();
    const httpServer = http.createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      // A page streamed as several writes, then end(): head, chunk framing and body pieces.
      for (let i = 0; i < 5; i++) res.write(`<p>${String(i).repeat(800)}</p>\n`);
      res.end('</html>\n');
    });
    l.server.listen(80, (socket) => httpServer.emit('connection', socket), { noDelay: true });
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        { host: SERVER, port: 80, path: '/', createConnection: (() => l.client.connect({ host: SERVER, port: 80, noDelay: true })) as never },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(body).toBe([0, 1, 2, 3, 4].map((i) => `<p>${String(i).repeat(800)}</p>\n`).join('') + '</html>\n');
    const response = l.dataFrom('server');
    const responseBytes = response.reduce((a, n) => a + n, 0);
    expect(responseBytes).toBeGreaterThan(2 * SEG); // head + framing + 4,048 bytes of body
    expect(response.length).toBe(Math.ceil(responseBytes / SEG));
    httpServer.close();
  });

  it('a corked batch larger than the send buffer blocks, drains and arrives intact', async () => {
    const l = link({ limits: { sendBufferBytes: 16 * 1024 } });
    const { client, server } = await connected(l);
    const prng = new Prng(1401);
    const pieces = Array.from({ length: 60 }, (_, i) => Buffer.from(prng.bytes(500 + ((i * 997) % 3000))));
    const all = Buffer.concat(pieces);
    const received = collect(server, all.length);
    const called: boolean[] = [];
    client.cork();
    const accepted = pieces.map((p) => client.write(p, (err) => called.push(err == null)));
    client.uncork();
    // The stream buffered more than its highWaterMark: write() said so, and 'drain' follows.
    expect(accepted.at(-1)).toBe(false);
    await once(client, 'drain');
    expect(sha256(Buffer.concat(await received))).toBe(sha256(all));
    expect(called).toEqual(pieces.map(() => true));
    expect(client.writableLength).toBe(0);
    expect(client.bytesWritten).toBe(all.length);
  });
});

describe('received data is handed over once per burst', () => {
  /** A connection whose server side is already flowing, its 'data' chunks collected. */
  async function reading(l: Link): Promise<{ client: TcpSocket; server: TcpSocket; chunks: Buffer[] }> {
    const { client, server } = await connected(l);
    const chunks: Buffer[] = [];
    server.on('data', (c: Buffer) => chunks.push(c));
    await nextTurn(); // resume() starts the flow a tick later
    return { client, server, chunks };
  }

  /** The client writes `data`; its segments are held, then fed to the server in one loop. */
  async function burst(l: Link, client: TcpSocket, data: Buffer | string, segments: number): Promise<void> {
    l.hold('client');
    client.write(data);
    await until(() => l.heldCount('client') === segments); // noDelay, within the initial window
    l.release('client');
  }

  it('a burst of in-order segments arriving in one turn is one data event, not one per segment', async () => {
    const l = link();
    const { client, server, chunks } = await reading(l);
    const data = Buffer.alloc(8 * SEG, 0x62);
    await burst(l, client, data, 8);
    await until(() => chunks.length > 0);
    expect(chunks.length).toBe(1);
    expect(chunks[0]!.equals(data)).toBe(true);
    expect(connOf(server).readableBytes).toBe(0);
  });

  it('a lone small segment is delivered when the turn that brought it ends, without waiting for more', async () => {
    const l = link();
    const { client, chunks } = await reading(l);
    await burst(l, client, 'GET / HTTP/1.1\r\n\r\n', 1);
    // An immediate queued after the packet's turn runs after the driver's: the data is there.
    await nextTurn();
    expect(Buffer.concat(chunks).toString()).toBe('GET / HTTP/1.1\r\n\r\n');
  });

  it('endBurst() from a link that knows where its batch ends hands the data over at once', async () => {
    const l = link();
    const { client, chunks } = await reading(l);
    await burst(l, client, Buffer.alloc(3 * SEG, 0x63), 3);
    expect(chunks).toEqual([]);
    l.server.endBurst();
    expect(chunks.map((c) => c.length)).toEqual([3 * SEG]);
  });

  it('segments of separate turns are each delivered in their own turn', async () => {
    const l = link();
    const { client, chunks } = await reading(l);
    for (const word of ['one', 'two', 'three']) {
      await burst(l, client, word, 1);
      await nextTurn();
      expect(chunks.at(-1)?.toString()).toBe(word);
    }
    expect(chunks.map(String)).toEqual(['one', 'two', 'three']);
  });

  it('data followed by a reset in the same burst is read before the ECONNRESET', async () => {
    const l = link();
    const { client, server } = await connected(l);
    const events: string[] = [];
    server.on('data', (c: Buffer) => events.push(`data:${c.toString()}`));
    server.on('error', (e: NodeJS.ErrnoException) => events.push(`error:${e.code}`));
    const closed = new Promise((resolve) => server.on('close', resolve)); // once() rejects on 'error'
    await nextTurn();
    l.hold('client');
    client.write('last words');
    client.resetAndDestroy();
    expect(l.heldCount('client')).toBe(2);
    l.release('client');
    await closed;
    expect(events).toEqual(['data:last words', 'error:ECONNRESET']);
  });

  it('a reader that pauses closes the window; what it has not taken stays in the TCP buffer', async () => {
    const receiveBufferBytes = 64 * 1024;
    const l = link({}, { limits: { receiveBufferBytes } });
    const { client, server } = await connected(l);
    const data = Buffer.from(new Prng(1402).bytes(1024 * 1024));
    let first = true;
    const chunks: Buffer[] = [];
    server.on('data', (c: Buffer) => {
      chunks.push(c);
      if (first) server.pause();
      first = false;
    });
    client.write(data);
    client.end();
    // The sender sees a zero window: the paused reader's side is full.
    await until(() => connOf(client).snd.wnd === 0 && connOf(client).bytesInFlight === 0);
    const held = connOf(server).readableBytes;
    expect(held).toBeGreaterThan(0);
    // The stream took at most its highWaterMark beyond what 'data' delivered, plus one chunk.
    expect(server.readableLength).toBeLessThanOrEqual(server.readableHighWaterMark + receiveBufferBytes);
    const delivered = chunks.reduce((a, c) => a + c.length, 0);
    expect(delivered + server.readableLength + held).toBeLessThan(data.length);
    const ended = once(server, 'end');
    server.resume();
    await ended;
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(data));
  });
});
