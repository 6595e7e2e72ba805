// The UDP ingress thread on loopback: bogus initiations are checked and dropped on that thread and
// never reach the main thread's handler; data packets and a real handshake (even one that needs a
// cookie reply first, under load) do; its counters reach /metrics; a thread that dies is restarted
// on the same port, and one that keeps dying is reported as fatal. A hub whose thread cannot start
// reads the socket on the main thread instead, and says why.
import dgram from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeKey, generatePrivateKey, publicKeyFromPrivate, startWireGuardNode, UdpBind, type Endpoint, type WireGuardNode } from '@porthole/wireguard';
import { bogusInitiations, ipv4Packet, A_TUNNEL, B_TUNNEL } from '@porthole/wireguard/testing';
import { createHubMetrics } from '../ops/hub-metrics.js';
import { createMemoryLogger } from '../ops/logger.js';
import { instrumentPeerSockets, instrumentUdpIngress } from './dataplane-metrics.js';
import { PeerSocketBind } from './peer-socket-bind.js';
import { UdpIngress } from './udp-ingress.js';
import { INGRESS_THREAD_NAME, INGRESS_THREAD_NICE } from './udp-ingress-protocol.js';
import { openWireGuardSocket, type WireGuardSocketOptions } from './udp-ingress-fallback.js';

const hubKey = generatePrivateKey();
const hubPublic = publicKeyFromPrivate(hubKey);
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function openIngress(options: { onFatal?(err: Error): void; maxRestartsPerMinute?: number; keepaliveHoldMs?: number; handshakeHoldMs?: number; quietRestMs?: number } = {}) {
  const ingress = await UdpIngress.open({ port: 0, host: '127.0.0.1', publicKey: hubPublic, ...options });
  cleanups.push(() => ingress.close());
  const received: { datagram: Uint8Array; from: Endpoint }[] = [];
  ingress.onReceive((datagram, from) => received.push({ datagram: Uint8Array.prototype.slice.call(datagram), from }));
  return { ingress, received };
}

/** A UDP socket on `address` (the flooder gets an address of its own: limits are per source address). */
async function client(address = '127.0.0.1') {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  const heard: Buffer[] = [];
  socket.on('message', (m) => heard.push(m));
  const send = (datagram: Uint8Array, port: number) => new Promise<void>((resolve, reject) => socket.send(datagram, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  return { socket, heard, send, port: () => socket.address().port };
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A WireGuard transport-type datagram (type 4, a receiver index, a counter, 16 bytes of "ciphertext"). */
function transportLike(tag: number): Uint8Array {
  const d = new Uint8Array(32);
  d[0] = 4;
  d[4] = tag;
  d[31] = tag;
  return d;
}

describe('UdpIngress', () => {
  it('passes data packets to the main thread with their source, and sends from the same port', async () => {
    const { ingress, received } = await openIngress();
    const peer = await client();
    for (let i = 1; i <= 20; i++) await peer.send(transportLike(i), ingress.localPort);
    await until(() => received.length === 20, '20 data packets');
    expect(received.map((r) => r.datagram[4])).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(received[0]!.from).toEqual({ address: '127.0.0.1', port: peer.port() });
    ingress.send(new Uint8Array([9, 8, 7]), { address: '127.0.0.1', port: peer.port() });
    await until(() => peer.heard.length === 1, 'the reply');
    expect([...peer.heard[0]!]).toEqual([9, 8, 7]);
    expect(ingress.stats).toMatchObject({ received: 20, passed: 20, sent: 1 });
  });

  it('passes keepalives that arrive one by one together, in far fewer messages than datagrams', async () => {
    // A long hold, so that only the hold can end a batch of keepalives here, however slow the machine.
    const { ingress, received } = await openIngress({ keepaliveHoldMs: 1_000 });
    const peer = await client();
    for (let i = 1; i <= 30; i++) {
      await peer.send(transportLike(i), ingress.localPort);
      await new Promise((r) => setTimeout(r, 2)); // each in a turn of its own: one message each before
    }
    await until(() => received.length === 30, '30 keepalives');
    expect(received.map((r) => r.datagram[4])).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // 30 keepalives over ~100 ms with a 1 s hold: one message, two if the hold ended between them.
    expect(ingress.stats.batches).toBeLessThanOrEqual(2);
    expect(ingress.stats).toMatchObject({ received: 30, passed: 30 });
  });

  it('does not hold data: held keepalives go ahead of a data packet, in arrival order', async () => {
    const { ingress, received } = await openIngress({ keepaliveHoldMs: 60_000 });
    const peer = await client();
    for (let i = 1; i <= 3; i++) {
      await peer.send(transportLike(i), ingress.localPort);
      await new Promise((r) => setTimeout(r, 2));
    }
    // A data packet (payload: longer than a keepalive) may not wait: it takes the three with it.
    const data = new Uint8Array(48);
    data[0] = 4;
    data[4] = 9;
    await peer.send(data, ingress.localPort);
    await until(() => received.length === 4, 'the keepalives and the data packet, long before the hold ends');
    expect(received.map((r) => [r.datagram.length, r.datagram[4]])).toEqual([
      [32, 1],
      [32, 2],
      [32, 3],
      [48, 9],
    ]);
    expect(ingress.stats.batches).toBe(1);
  });

  it('holds initiations coming in, ahead of whatever may not wait, and passes them on once their hold ends', async () => {
    const { ingress, received } = await openIngress({ handshakeHoldMs: 60_000 });
    const device = await client();
    const initiations = bogusInitiations(encodeKey(hubPublic), 3);
    for (const initiation of initiations) {
      await device.send(initiation, ingress.localPort);
      await new Promise((r) => setTimeout(r, 2)); // each in a turn of its own
    }
    await until(() => ingress.stats.passed === 3, 'three initiations checked and passed');
    const data = new Uint8Array(48);
    data[0] = 4;
    data[4] = 9;
    await device.send(data, ingress.localPort);
    await until(() => received.length === 4, 'the initiations and the data packet, long before their hold ends');
    expect(received.map((r) => r.datagram.length)).toEqual([148, 148, 148, 48]);
    received.slice(0, 3).forEach((r, i) => expect(Buffer.from(r.datagram).equals(Buffer.from(initiations[i]!))).toBe(true));
    expect(ingress.stats.batches).toBe(1);

    // A hold that ends on its own: initiations alone arrive together, in one or two messages.
    const { ingress: short, received: heard } = await openIngress({ handshakeHoldMs: 1_000 });
    for (const initiation of bogusInitiations(encodeKey(hubPublic), 5)) {
      await device.send(initiation, short.localPort);
      await new Promise((r) => setTimeout(r, 2));
    }
    await until(() => heard.length === 5, 'five held initiations');
    expect(short.stats.batches).toBeLessThanOrEqual(2);
  });

  it('holds handshake responses going out, sends them ahead of what may not wait, and sends what it holds when closed', async () => {
    const { ingress } = await openIngress({ handshakeHoldMs: 60_000 });
    const device = await client();
    const at = { address: '127.0.0.1', port: device.port() };
    const response = (tag: number) => {
      const d = new Uint8Array(92);
      d[0] = 2;
      d[4] = tag;
      return d;
    };
    for (let i = 1; i <= 3; i++) {
      ingress.send(response(i), at);
      await new Promise((r) => setTimeout(r, 2)); // each in a turn of its own
    }
    // Held: none has reached the thread (without the hold, each would be sent within a turn).
    await new Promise((r) => setTimeout(r, 200));
    expect(ingress.stats.sent).toBe(0);
    expect(device.heard).toHaveLength(0);
    // A cookie reply may not wait: it takes the three responses along, in the order they were sent.
    const cookieReply = new Uint8Array(64);
    cookieReply[0] = 3;
    ingress.send(cookieReply, at);
    await until(() => device.heard.length === 4, 'the responses and the cookie reply, long before the hold ends');
    expect(device.heard.map((d) => [d[0], d[4]])).toEqual([
      [2, 1],
      [2, 2],
      [2, 3],
      [3, 0],
    ]);
    // Held, then closed: what was held is sent, not lost.
    ingress.send(response(7), at);
    await ingress.close();
    await until(() => device.heard.length === 5, 'the held response, sent on close');
    expect([device.heard[4]![0], device.heard[4]![4]]).toEqual([2, 7]);
    expect(ingress.stats.sent).toBe(5);
  });

  it('rests after a quiet turn and loses nothing that arrives meanwhile; data never lets it rest', async () => {
    const { ingress, received } = await openIngress({ keepaliveHoldMs: 1_000, quietRestMs: 300 });
    const device = await client();
    for (let i = 1; i <= 6; i++) {
      await device.send(transportLike(i), ingress.localPort);
      await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => received.length === 6, 'six keepalives');
    expect(received.map((r) => r.datagram[4])).toEqual([1, 2, 3, 4, 5, 6]);
    // Keepalives alone: quiet turns, each followed by a rest (six over ~30 ms: one or a few rests).
    expect(ingress.stats.rests).toBeGreaterThanOrEqual(1);
    expect(ingress.stats.batches).toBe(1); // and still held together, up to their hold

    // Data packets (may not wait) make no turn quiet: no rest.
    const { ingress: busy, received: heard } = await openIngress({ quietRestMs: 300 });
    const data = new Uint8Array(48);
    data[0] = 4;
    for (let i = 1; i <= 6; i++) {
      data[4] = i;
      await device.send(data, busy.localPort);
      await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => heard.length === 6, 'six data packets');
    expect(busy.stats.rests).toBe(0);
  });

  it('ends a rest at once when the main thread has data to send, and on close', async () => {
    // A hold and a rest longer than any wait below: only the main thread's notice can end the rest in time.
    const { ingress } = await openIngress({ keepaliveHoldMs: 60_000, quietRestMs: 60_000 });
    const device = await client();
    await device.send(transportLike(1), ingress.localPort);
    await until(() => ingress.stats.rests === 1, 'a keepalive read, then a rest');
    const data = new Uint8Array(48);
    data[0] = 4;
    data[4] = 42;
    ingress.send(data, { address: '127.0.0.1', port: device.port() });
    await until(() => device.heard.length === 1, 'the data, long before the rest would end', 5_000);
    expect(device.heard[0]![4]).toBe(42);
    // Resting again after another quiet turn; closing ends the rest instead of waiting out a minute.
    // (Another device: the hub's data gave the first one a socket of its own, read by the main thread.)
    const other = await client();
    await other.send(transportLike(2), ingress.localPort);
    await until(() => ingress.stats.rests === 2, 'another rest');
    const exited = new Promise<number>((resolve) => ingress.worker.once('exit', resolve));
    await ingress.close();
    expect(await exited).toBe(0); // the thread closed itself: not terminated after close's 2 s grace
  });

  it('gives a device the hub sends transport data to a socket of its own: its data skips the ingress thread, its handshakes still get the checks', async () => {
    const { ingress, received } = await openIngress();
    const device = await client();
    const at = { address: '127.0.0.1', port: device.port() };
    await device.send(transportLike(1), ingress.localPort);
    await until(() => received.length === 1, 'the first data packet, through the ingress thread');
    // Transport data to the device opens its socket; the sends go through the thread until it is connected.
    await until(() => (ingress.send(transportLike(50), at), ingress.stats.peerSockets.sent > 0), 'a send on the peer socket');
    expect(ingress.stats.peerSockets).toMatchObject({ open: 1, opened: 1 });
    await until(() => device.heard.length === ingress.stats.sent + ingress.stats.peerSockets.sent, 'every send');
    expect(device.heard.every((d) => d[0] === 4 && d[4] === 50)).toBe(true);
    for (let i = 2; i <= 21; i++) await device.send(transportLike(i), ingress.localPort);
    await until(() => received.length === 21, '20 more data packets');
    expect(received.map((r) => r.datagram[4])).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(received[20]!.from).toEqual(at);
    expect(ingress.stats.received).toBe(1); // the ingress thread saw the first one only
    expect(ingress.stats.peerSockets.received).toBe(20);
    // A handshake from the device reaches the main thread only through the thread's checks.
    const [initiation] = bogusInitiations(encodeKey(hubPublic), 1);
    const badMac1 = Uint8Array.prototype.slice.call(initiation!);
    badMac1[130] ^= 0xff;
    await device.send(badMac1, ingress.localPort);
    await device.send(initiation!, ingress.localPort);
    await until(() => received.length === 22, 'the valid initiation');
    expect(ingress.stats.drops['bad-mac1']).toBe(1);
    expect(ingress.stats.received).toBe(3);
    expect(Buffer.from(received[21]!.datagram).equals(Buffer.from(initiation!))).toBe(true);
    expect(received[21]!.from).toEqual(at);
    // Another source on the same port is still heard, through the thread.
    const other = await client();
    await other.send(transportLike(77), ingress.localPort);
    await until(() => received.length === 23, 'the other source');
    expect(received[22]!.from).toEqual({ address: '127.0.0.1', port: other.port() });
    expect(ingress.stats.received).toBe(4);
    const metrics = createHubMetrics();
    instrumentPeerSockets(metrics, () => ingress.stats.peerSockets);
    const text = await metrics.render();
    expect(text).toContain('porthole_wg_peer_sockets 1');
    expect(text).toContain('porthole_wg_peer_socket_datagrams_total{direction="rx"} 22');
  });

  it('drops bogus initiations on its own thread: bad mac1 always, valid mac1 under load with a cookie reply; they never reach the main thread', async () => {
    const { ingress, received } = await openIngress();
    const flooder = await client();
    const bogus = bogusInitiations(encodeKey(hubPublic), 64);
    const badMac1 = Uint8Array.prototype.slice.call(bogus[0]!);
    badMac1[130] ^= 0xff; // inside mac1
    for (let i = 0; i < 50; i++) await flooder.send(badMac1, ingress.localPort);
    // 3,000 valid-mac1 initiations without mac2 within a second: over the 1,000/s that means "under load".
    for (let i = 0; i < 3_000; i++) await flooder.send(bogus[i % bogus.length]!, ingress.localPort);
    await until(() => ingress.stats.received === 3_050, 'every datagram read');
    const stats = ingress.stats;
    expect(stats.drops['bad-mac1']).toBe(50);
    expect(stats.drops['cookie-required']).toBeGreaterThan(1_500);
    expect(stats.cookieReplies).toBeGreaterThan(0);
    expect(stats.cookieReplies).toBeLessThan(stats.drops['cookie-required']!); // limited per source
    await until(() => flooder.heard.length === stats.cookieReplies, 'the cookie replies');
    expect(flooder.heard.every((d) => d[0] === 3 && d.length === 64)).toBe(true);
    // What the main thread saw: only the initiations from before the load was noticed.
    await new Promise((r) => setTimeout(r, 100));
    expect(received.length).toBe(stats.passed);
    expect(stats.passed).toBeLessThanOrEqual(1_001);
    expect(received.every((r) => r.datagram.length === 148 && r.datagram[0] === 1)).toBe(true);
    expect(received.some((r) => r.datagram[130] === badMac1[130] && Buffer.from(r.datagram).equals(badMac1))).toBe(false);

    const metrics = createHubMetrics();
    instrumentUdpIngress(metrics, ingress);
    const text = await metrics.render();
    expect(text).toContain('porthole_wg_ingress_datagrams_total{outcome="bad-mac1"} 50');
    expect(text).toContain(`porthole_wg_ingress_datagrams_total{outcome="passed"} ${stats.passed}`);
    expect(text).toContain(`porthole_wg_ingress_cookie_replies_total ${stats.cookieReplies}`);
  });

  it('carries a real handshake and its data under load: cookie reply, mac2, then the tunnel works', async () => {
    const { ingress } = await openIngress();
    let atHub: (p: Uint8Array) => void = () => {};
    const hub = await startWireGuardNode({ privateKey: hubKey, bind: ingress, underLoad: false, onPacket: (p) => atHub(p) });
    const deviceKey = generatePrivateKey();
    const device: WireGuardNode = await startWireGuardNode({ privateKey: deviceKey, bind: await UdpBind.open({ host: '127.0.0.1' }), onPacket: () => {} });
    cleanups.push(() => device.close());
    hub.device.addPeer({ publicKey: device.device.publicKey, allowedIps: [`${A_TUNNEL}/32`] });
    device.device.addPeer({ publicKey: hub.device.publicKey, allowedIps: [`${B_TUNNEL}/32`], endpoint: { address: '127.0.0.1', port: ingress.localPort } });
    // Keep the ingress thread under load while the device handshakes.
    const flooder = await client('127.0.0.2');
    const bogus = bogusInitiations(encodeKey(hubPublic), 32);
    let flooding = true;
    const flood = (async () => {
      for (let i = 0; flooding; i++) {
        await flooder.send(bogus[i % bogus.length]!, ingress.localPort);
        if (i % 200 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await until(() => (ingress.stats.drops['cookie-required'] ?? 0) > 0, 'the ingress thread under load');
    const got = new Promise<Uint8Array>((resolve) => (atHub = resolve));
    const ping = ipv4Packet(A_TUNNEL, B_TUNNEL, 64, 0x33);
    device.send(ping);
    expect(Buffer.from(await got).equals(Buffer.from(ping))).toBe(true);
    flooding = false;
    await flood;
    expect(device.device.getPeer(hub.device.publicKey)!.lastHandshakeMs).toBeDefined();
    expect(hub.device.drops['unknown-peer'] ?? 0).toBeLessThanOrEqual(ingress.stats.passed);
  }, 30_000);

  it('restarts a thread that died, on the same port, and keeps counting', async () => {
    const { ingress, received } = await openIngress();
    const peer = await client();
    await peer.send(transportLike(1), ingress.localPort);
    await until(() => received.length === 1, 'a packet before');
    const first = ingress.worker;
    await first.terminate();
    await until(() => ingress.worker !== first, 'a new thread');
    expect(ingress.stats.restarts).toBe(1);
    await until(() => (void peer.send(transportLike(2), ingress.localPort), received.length >= 2), 'a packet after the restart', 5_000);
    expect(received[1]!.datagram[4]).toBe(2);
    expect(ingress.stats.received).toBeGreaterThanOrEqual(2);
  });

  it('runs its thread at a lower priority than the thread that opened it, which keeps its own', async () => {
    // Linux keeps the nice value per thread (/proc/<pid>/task/<tid>/stat, field 19).
    if (process.platform !== 'linux') return void console.warn('skipped: per-thread nice values are read from Linux /proc');
    const niceOf = (stat: string) => Number(readFileSync(stat, 'utf8').split(') ')[1]!.split(' ')[16]);
    const threadNices = () => new Map(readdirSync('/proc/self/task').map((tid) => [tid, niceOf(`/proc/self/task/${tid}/stat`)] as const));
    const mine = niceOf('/proc/thread-self/stat');
    expect(mine).toBeLessThan(INGRESS_THREAD_NICE);
    const before = threadNices();
    const { ingress } = await openIngress();
    expect(ingress.threadNice).toBe(INGRESS_THREAD_NICE);
    const lowered = [...threadNices()].filter(([tid, nice]) => nice === INGRESS_THREAD_NICE && before.get(tid) !== INGRESS_THREAD_NICE);
    expect(lowered.length).toBeGreaterThanOrEqual(1);
    expect(niceOf('/proc/thread-self/stat')).toBe(mine);
  });

  it('names its thread, so that top -H and the hub bench tell its CPU from the helpers\' and the main thread\'s', async () => {
    if (process.platform !== 'linux') return void console.warn('skipped: thread names are read from Linux /proc');
    const commOf = (tid: string) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
    const mine = readFileSync('/proc/thread-self/comm', 'utf8').trim();
    const before = new Set(readdirSync('/proc/self/task'));
    await openIngress();
    const named = readdirSync('/proc/self/task').filter((tid) => !before.has(tid) && commOf(tid) === INGRESS_THREAD_NAME);
    expect(named).toHaveLength(1);
    expect(readFileSync('/proc/thread-self/comm', 'utf8').trim()).toBe(mine);
  });

  it('reports a thread that keeps dying as fatal instead of going on deaf', async () => {
    const fatal: Error[] = [];
    const { ingress } = await openIngress({ maxRestartsPerMinute: 0, onFatal: (err) => fatal.push(err) });
    await ingress.worker.terminate();
    await until(() => fatal.length === 1, 'the fatal report');
    expect(fatal[0]!.message).toMatch(/died 1 times within a minute/);
  });
});

describe('openWireGuardSocket', () => {
  /** A thread module that cannot be loaded, as in a build that left it out. */
  const missingThread = new URL('./no-such-ingress-thread.js', import.meta.url);

  async function open(options: Partial<WireGuardSocketOptions>) {
    const logger = createMemoryLogger('info');
    const socket = await openWireGuardSocket({ port: 0, host: '127.0.0.1', publicKey: hubPublic, ingressThread: true, peerSockets: true, logger, ...options });
    cleanups.push(() => socket.close());
    const received: Uint8Array[] = [];
    socket.onReceive((datagram) => received.push(Uint8Array.prototype.slice.call(datagram)));
    return { socket, received, warnings: logger.lines.filter((l) => l.level === 'warn') };
  }

  it('opens the ingress thread when it is on', async () => {
    const { socket, warnings } = await open({});
    expect(socket).toBeInstanceOf(UdpIngress);
    expect(warnings).toEqual([]);
  });

  it('falls back to the main thread with per-device sockets when the ingress thread cannot start, says why, and works', async () => {
    const { socket, received, warnings } = await open({ threadModule: missingThread });
    expect(socket).toBeInstanceOf(PeerSocketBind);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/ingress thread .*failed, using the main thread with per-device sockets/);
    expect(String(warnings[0]!.error)).toMatch(/no-such-ingress-thread/);
    const peer = await client();
    await peer.send(transportLike(7), socket.localPort);
    await until(() => received.length === 1, 'a datagram on the main thread');
    expect(received[0]![4]).toBe(7);
  });

  it('falls back to one plain socket when per-device sockets are off and the thread cannot start', async () => {
    const { socket, warnings } = await open({ threadModule: missingThread, peerSockets: false });
    expect(socket).toBeInstanceOf(UdpBind);
    expect(warnings[0]!.msg).toMatch(/failed, using one socket on the main thread/);
  });

  it('fails on a port another socket holds instead of trying each way in turn', async () => {
    const holder = await client();
    const logger = createMemoryLogger('info');
    await expect(openWireGuardSocket({ port: holder.port(), host: '127.0.0.1', publicKey: hubPublic, ingressThread: true, peerSockets: true, logger })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });
});
