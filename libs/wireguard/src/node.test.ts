// The runner and the binds: two nodes over real UDP on 127.0.0.1 (IPv4 and dual-stack IPv6), over
// the in-memory network, and the runner's single timer under fake time (many peers, one timer).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UdpBind } from './bind.js';
import { generatePrivateKey } from './keys.js';
import { MemoryNetwork, createMemoryBindPair } from './testing/memory-bind.js';
import { startWireGuardNode, type WireGuardNode } from './node.js';
import { A_TUNNEL, B_TUNNEL, ipv4Packet } from './testing/device-pair.js';
import type { WireGuardEvent } from './types.js';
import { hex } from './testing/seeded.js';
import { bogusInitiations } from './testing/flood.js';

function waitFor<T>(register: (resolve: (value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve) => register(resolve));
}

const opened: WireGuardNode[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(opened.splice(0).map((n) => n.close()));
});

async function udpPair(host: string) {
  const aKey = generatePrivateKey();
  const bKey = generatePrivateKey();
  let onB: (p: Uint8Array) => void = () => {};
  let onA: (p: Uint8Array) => void = () => {};
  const a = await startWireGuardNode({ privateKey: aKey, bind: await UdpBind.open({ host }), onPacket: (p) => onA(p) });
  const b = await startWireGuardNode({ privateKey: bKey, bind: await UdpBind.open({ host }), onPacket: (p) => onB(p) });
  opened.push(a, b);
  const loopback = host === '::' ? '::1' : '127.0.0.1';
  a.device.addPeer({ publicKey: b.device.publicKey, allowedIps: [`${B_TUNNEL}/32`], endpoint: { address: loopback, port: b.bind.localPort! } });
  b.device.addPeer({ publicKey: a.device.publicKey, allowedIps: [`${A_TUNNEL}/32`] });
  return { a, b, setOnA: (f: typeof onA) => (onA = f), setOnB: (f: typeof onB) => (onB = f) };
}

describe('startWireGuardNode over UdpBind', () => {
  it.each([['127.0.0.1'], ['::']])('handshakes and carries packets both ways on loopback (bind %s)', async (host) => {
    const { a, b, setOnA, setOnB } = await udpPair(host);
    const ping = ipv4Packet(A_TUNNEL, B_TUNNEL, 64, 0x11);
    const atB = waitFor<Uint8Array>((r) => setOnB(r));
    expect(a.send(ping)).toBe(true);
    expect(hex(await atB)).toBe(hex(ping));
    const pong = ipv4Packet(B_TUNNEL, A_TUNNEL, 64, 0x22);
    const atA = waitFor<Uint8Array>((r) => setOnA(r));
    expect(b.send(pong)).toBe(true);
    expect(hex(await atA)).toBe(hex(pong));
    // B learned A's address from the handshake (it had no endpoint configured).
    const seen = b.device.getPeer(a.device.publicKey)!.endpoint!;
    expect(seen.address).toBe(host === '::' ? '::1' : '127.0.0.1');
    expect(seen.port).toBe(a.bind.localPort);
  });
});

describe('startWireGuardNode over the in-memory network', () => {
  it('brings the tunnel up by persistent keepalive alone', async () => {
    const [bindA, bindB] = createMemoryBindPair();
    let completed: (e: WireGuardEvent) => void = () => {};
    const done = waitFor<WireGuardEvent>((r) => (completed = r));
    const a = await startWireGuardNode({
      privateKey: generatePrivateKey(),
      bind: bindA,
      onPacket: () => {},
      onEvent: (e) => e.type === 'handshake-completed' && completed(e),
    });
    const b = await startWireGuardNode({ privateKey: generatePrivateKey(), bind: bindB, onPacket: () => {} });
    opened.push(a, b);
    b.device.addPeer({ publicKey: a.device.publicKey, allowedIps: [`${A_TUNNEL}/32`] });
    a.device.addPeer({
      publicKey: b.device.publicKey,
      allowedIps: [`${B_TUNNEL}/32`],
      endpoint: bindB.endpoint,
      persistentKeepaliveSeconds: 25,
    });
    const event = await done;
    expect(event).toMatchObject({ type: 'handshake-completed', role: 'initiator', endpoint: bindB.endpoint });
  });

  /** A node (fake time) with 200 peers nobody answers; each has sent its first initiation. */
  async function nodeWithUnansweredPeers() {
    vi.useFakeTimers();
    const network = new MemoryNetwork();
    network.filter = () => 'drop'; // nobody answers
    const counts = { initiations: 0 };
    const node = await startWireGuardNode({
      privateKey: generatePrivateKey(),
      bind: network.bind({ address: '192.0.2.1', port: 1 }),
      clock: () => Date.now(),
      onPacket: () => {},
      onEvent: (e) => e.type === 'handshake-initiated' && counts.initiations++,
    });
    opened.push(node);
    for (let i = 0; i < 200; i++) {
      node.device.addPeer({
        publicKey: generatePrivateKey().map((x, j) => (j === 0 ? i : x)), // any 32 bytes form a key
        allowedIps: [`10.1.${i >> 8}.${i & 0xff}/32`],
        endpoint: { address: '192.0.2.9', port: 1000 + i },
        persistentKeepaliveSeconds: 25,
      });
    }
    await vi.advanceTimersByTimeAsync(0);
    expect(counts.initiations).toBe(200); // every keepalive started a handshake
    return { node, counts };
  }

  it('keeps one timer for many peers and retransmits on schedule (fake time)', async () => {
    const { counts } = await nodeWithUnansweredPeers();
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(30_000);
    // Each peer retries every 5 s + jitter: 5 more attempts in 30 s.
    expect(counts.initiations).toBe(200 * 6);
    expect(vi.getTimerCount()).toBe(1);
  });

  it('wakes once for the peers whose timers fall due close together, not once for each (fake time)', async () => {
    const { node, counts } = await nodeWithUnansweredPeers();
    // Each peer retries 5 s later plus a jitter of its own (0–333 ms): ~200 different milliseconds.
    const ticks = vi.spyOn(node.device, 'tick');
    await vi.advanceTimersByTimeAsync(6_000);
    expect(counts.initiations).toBe(400); // every retry went out
    // One wake-up per grid slot the retries fell in (7 or 8 of TIMER_GRID_MS = 50 ms), not one per
    // peer: timed to the millisecond it was ~160.
    expect(ticks.mock.calls.length).toBeGreaterThan(0);
    expect(ticks.mock.calls.length).toBeLessThanOrEqual(8);
  });

  it('drains queued handshakes within a time budget per event-loop turn, so data is not held behind them', async () => {
    const network = new MemoryNetwork();
    const bindA = network.bind({ address: '192.0.2.1', port: 1 });
    const bindB = network.bind({ address: '192.0.2.2', port: 2 });
    const flooder = network.bind({ address: '192.0.2.66', port: 3 });
    // A clock that moves 1 ms per reading: a 2 ms budget fits one handshake per turn.
    let ms = 0;
    const pendingWhenDataArrived: number[] = [];
    const b = await startWireGuardNode({
      privateKey: generatePrivateKey(),
      bind: bindB,
      clock: () => ++ms,
      handshakeBudgetMs: 2,
      onPacket: () => pendingWhenDataArrived.push(b.device.pendingHandshakes),
    });
    const a = await startWireGuardNode({ privateKey: generatePrivateKey(), bind: bindA, onPacket: () => {} });
    opened.push(a, b);
    b.device.addPeer({ publicKey: a.device.publicKey, allowedIps: [`${A_TUNNEL}/32`] });
    a.device.addPeer({ publicKey: b.device.publicKey, allowedIps: [`${B_TUNNEL}/32`], endpoint: bindB.endpoint });
    a.send(ipv4Packet(A_TUNNEL, B_TUNNEL));
    while (pendingWhenDataArrived.length === 0) await new Promise((r) => setImmediate(r));

    for (const init of bogusInitiations(b.device.publicKey, 40)) flooder.send(init, bindB.endpoint);
    const turn = () => new Promise((r) => setImmediate(r));
    await turn(); // delivered and queued
    await turn();
    const queued = b.device.pendingHandshakes;
    expect(queued).toBeGreaterThan(30);
    a.send(ipv4Packet(A_TUNNEL, B_TUNNEL, 8, 0x42));
    const seen: number[] = [];
    while (b.device.pendingHandshakes > 0) {
      seen.push(b.device.pendingHandshakes);
      await turn();
    }
    // The queue shrank a little per turn (not in one go), and the data packet got through meanwhile.
    expect(seen.length).toBeGreaterThan(queued / 3);
    expect(pendingWhenDataArrived).toHaveLength(2);
    expect(pendingWhenDataArrived[1]).toBeGreaterThan(0);
    expect(b.device.drops['unknown-peer']).toBe(40);
  });
});
