// The main-thread WireGuard socket with per-device sockets beside it, on loopback: transport data
// the hub sends to a device opens a socket connected to it; that device's datagrams (data and
// handshakes alike) then arrive there, other sources on the shared socket, all at the one handler.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { Endpoint } from '@porthole/wireguard';
import { PeerSocketBind } from './peer-socket-bind.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function client() {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  const heard: { datagram: Buffer; port: number }[] = [];
  socket.on('message', (m, rinfo) => heard.push({ datagram: m, port: rinfo.port }));
  const send = (datagram: Uint8Array, port: number) => new Promise<void>((resolve, reject) => socket.send(datagram, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  return { heard, send, at: (): Endpoint => ({ address: '127.0.0.1', port: socket.address().port }) };
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function datagram(type: number, tag: number): Uint8Array {
  const d = new Uint8Array(type === 1 ? 148 : 32);
  d[0] = type;
  d[4] = tag;
  return d;
}

describe('PeerSocketBind', () => {
  it('opens a socket for a device it sends transport data to; everything from that device arrives there, from others on the shared socket', async () => {
    const bind = await PeerSocketBind.open({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => bind.close());
    const received: { type: number; tag: number; from: Endpoint }[] = [];
    bind.onReceive((d, from) => received.push({ type: d[0]!, tag: d[4]!, from }));
    const device = await client();
    const other = await client();
    // A handshake response is no reason for a socket of its own; transport data is.
    bind.send(datagram(2, 1), device.at());
    await until(() => device.heard.length === 1, 'the response');
    expect(bind.peerSockets.opened).toBe(0);
    const to = device.at();
    let sends = 1;
    await until(() => (bind.send(datagram(4, 2), to), sends++, bind.peerSockets.sent > 0), 'a send on the peer socket');
    expect(bind.peerSockets).toMatchObject({ open: 1, opened: 1 });
    await until(() => device.heard.length === sends, 'every send');
    expect(device.heard.every((h) => h.port === bind.localPort)).toBe(true);
    await device.send(datagram(4, 10), bind.localPort);
    await device.send(datagram(1, 11), bind.localPort);
    await other.send(datagram(4, 12), bind.localPort);
    await until(() => received.length === 3, 'three datagrams');
    expect(received.map((r) => r.tag).sort()).toEqual([10, 11, 12]);
    expect(bind.peerSockets.received).toBe(2); // the device's data and its handshake
    expect(received.find((r) => r.tag === 11)!.from).toEqual(device.at());
    expect(received.find((r) => r.tag === 12)!.from).toEqual(other.at());
  });
});
