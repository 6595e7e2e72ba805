// Random and mutated packets into the receive path (seeded): every one is dropped, answered or
// processed without an exception escaping, no internal error is counted, and no socket is left
// stuck: connections under attack still finish (or fail cleanly) and the tables drain.
import { describe, expect, it } from 'vitest';
import { Prng } from '../testing/prng.js';
import { SimNetwork } from '../testing/sim-network.js';
import { StreamEndpoint } from '../testing/stream-endpoint.js';
import { buildSegment } from '../testing/packets.js';
import { internetChecksum, pseudoHeaderSum, sumWords, finishChecksum } from '../wire/checksum.js';
import { readAddress } from '../wire/ipv4-address.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../wire/tcp.js';
import { NetStack } from './net-stack.js';
import { totalDrops } from './stats.js';

/** Flips, overwrites, truncates or extends a packet. */
function mutate(prng: Prng, packet: Uint8Array): Buffer {
  const out = Buffer.from(packet);
  const kind = prng.int(6);
  if (kind === 0) return out.subarray(0, prng.int(out.length + 1));
  if (kind === 1) return Buffer.concat([out, Buffer.from(prng.bytes(prng.int(64)))]);
  const flips = 1 + prng.int(4);
  for (let i = 0; i < flips; i++) {
    // Bias towards headers, where the interesting fields are.
    const at = prng.next() < 0.8 ? prng.int(Math.min(out.length, 60)) : prng.int(out.length);
    if (kind === 2) out[at] ^= 1 << prng.int(8);
    else out[at] = prng.int(256);
  }
  return out;
}

/** Recomputes IPv4 and TCP checksums so a mutated packet reaches the TCP state machine. */
function fixChecksums(p: Buffer): Buffer {
  if (p.length < 20) return p;
  const ihl = (p[0]! & 0x0f) * 4;
  if (ihl < 20 || ihl > p.length) return p;
  p.writeUInt16BE(0, 10);
  p.writeUInt16BE(internetChecksum(p, 0, ihl), 10);
  const total = p.readUInt16BE(2);
  if (p[9] === 6 && total <= p.length && total >= ihl + 20) {
    const seg = p.subarray(ihl, total);
    seg.writeUInt16BE(0, 16);
    const sum = sumWords(seg, 0, seg.length, pseudoHeaderSum(readAddress(p, 12), readAddress(p, 16), 6, seg.length));
    seg.writeUInt16BE(finishChecksum(sum), 16);
  }
  return p;
}

describe('fuzzing the receive path (seeded)', () => {
  it('random bytes and random segments are dropped or answered, never thrown', () => {
    const seed = 301;
    console.log(`seed ${seed}`);
    const prng = new Prng(seed);
    let sent = 0;
    const stack = new NetStack({ address: '100.64.0.1', onTransmit: () => sent++, random: (n) => prng.bytes(n) });
    stack.listen(80, () => {});
    let now = 0;
    for (let i = 0; i < 20_000; i++) {
      now += 1;
      if (i % 2 === 0) {
        stack.receive(prng.bytes(prng.int(120)), now);
      } else {
        // Well-formed but random TCP: random flags, numbers, options and data to a listening port.
        const flags = [TCP_SYN, TCP_ACK, TCP_RST, TCP_FIN | TCP_ACK, TCP_SYN | TCP_ACK, prng.int(256)][prng.int(6)]!;
        const seg = buildSegment({
          src: `100.64.${prng.int(4)}.${2 + prng.int(3)}`,
          dst: '100.64.0.1',
          srcPort: 1 + prng.int(5),
          dstPort: prng.next() < 0.8 ? 80 : 1 + prng.int(65535),
          seq: prng.nextU32(),
          ack: prng.nextU32(),
          flags,
          window: prng.int(65536),
          mss: prng.next() < 0.3 ? prng.int(65536) : undefined,
          windowScale: prng.next() < 0.3 ? prng.int(15) : undefined,
          sackPermitted: prng.next() < 0.3,
          tsVal: prng.next() < 0.5 ? prng.nextU32() : undefined,
          tsEcr: prng.nextU32(),
          sackBlocks: prng.next() < 0.2 ? [prng.nextU32(), prng.nextU32()] : undefined,
          payload: prng.bytes(prng.int(100)),
        });
        stack.receive(seg, now);
      }
      if (i % 100 === 0) stack.tick(now);
    }
    expect(stack.stats.internalErrors).toBe(0);
    expect(totalDrops(stack.stats)).toBeGreaterThan(10_000);
    expect(sent).toBeGreaterThan(0);
    // Half-open connections from the random SYNs time out and the table drains.
    for (let t = 0; t < 400 && stack.nextDeadline() !== undefined; t++) {
      now = Math.max(now, stack.nextDeadline()!);
      stack.tick(now);
    }
    expect(stack.connectionCount).toBe(0);
    expect(stack.stats.internalErrors).toBe(0);
  });

  it('mutated copies of live traffic (checksums verified) cannot corrupt a transfer', () => {
    const seed = 302;
    console.log(`seed ${seed}`);
    const net = new SimNetwork(seed, { delayMs: 2, bytesPerMs: 125_000, queueBytes: 1_000_000 });
    const prng = new Prng(seed + 1);
    const a = net.addStack({ address: '100.64.0.1' });
    const b = net.addStack({ address: '100.64.0.2' });
    let server: StreamEndpoint | undefined;
    b.listen(80, (conn) => (server = new StreamEndpoint(b, conn, () => net.now, { sendBytes: 2_000_000, seed: 5 })));
    const client = new StreamEndpoint(a, a.connect('100.64.0.2', 80, net.now), () => net.now, { sendBytes: 2_000_000, seed: 6 });
    let injected = 0;
    // Mutated duplicates are delivered between simulation steps, alongside the real packets.
    const setImmediateLike: Array<() => void> = [];
    net.tap = (packet, from) => {
      if (prng.next() < 0.3) {
        const target = from === a ? b : a;
        const copy = mutate(prng, packet);
        injected++;
        setImmediateLike.push(() => target.receive(copy, net.now));
      }
      return packet;
    };
    const done = () => {
      while (setImmediateLike.length > 0) setImmediateLike.shift()!();
      return a.connectionCount === 0 && b.connectionCount === 0;
    };
    expect(net.run(done)).toBe(true);
    expect(injected).toBeGreaterThan(100);
    expect(server!.receivedDigest).toBe(client.sentDigest);
    expect(client.receivedDigest).toBe(server!.sentDigest);
    expect(a.stats.internalErrors + b.stats.internalErrors).toBe(0);
    expect(totalDrops(a.stats) + totalDrops(b.stats)).toBeGreaterThan(0);
  });

  it('mutated live traffic with valid checksums reaches the state machine without crashes or stuck sockets', () => {
    for (const seed of [303, 304, 305]) {
      console.log(`seed ${seed}`);
      const net = new SimNetwork(seed, { delayMs: 2, bytesPerMs: 125_000, queueBytes: 1_000_000 });
      const prng = new Prng(seed + 1);
      const a = net.addStack({ address: '100.64.0.1' });
      const b = net.addStack({ address: '100.64.0.2' });
      const servers: StreamEndpoint[] = [];
      b.listen(80, (conn) => servers.push(new StreamEndpoint(b, conn, () => net.now, { sendBytes: 300_000, seed: 5 })));
      const clients: StreamEndpoint[] = [];
      for (let i = 0; i < 5; i++) {
        clients.push(new StreamEndpoint(a, a.connect('100.64.0.2', 80, net.now), () => net.now, { sendBytes: 300_000, seed: i }));
      }
      const pending: Array<() => void> = [];
      net.tap = (packet, from) => {
        if (prng.next() < 0.2) {
          const target = from === a ? b : a;
          const copy = fixChecksums(mutate(prng, packet));
          pending.push(() => target.receive(copy, net.now));
        }
        return packet;
      };
      const idle = () => {
        while (pending.length > 0) pending.shift()!();
        return a.connectionCount === 0 && b.connectionCount === 0;
      };
      // Whatever the mutations did (resets, bogus data), every connection ends within the
      // protocol's own timeouts and both tables drain: nothing is stuck.
      expect(net.run(idle, 3_600_000)).toBe(true);
      for (const c of clients) expect(c.closed || c.ended || c.conn.isClosed).toBe(true);
      console.log("outcomes", clients.map((c) => c.error?.code ?? (c.ended ? "ended" : "?")).join(","), "rst in", a.stats.tcp.resetsReceived + b.stats.tcp.resetsReceived, "challenge", a.stats.tcp.challengeAcks + b.stats.tcp.challengeAcks, "drops", totalDrops(a.stats) + totalDrops(b.stats));
      expect(a.stats.internalErrors + b.stats.internalErrors).toBe(0);
      // The stacks still work afterwards.
      net.tap = undefined;
      let late: StreamEndpoint | undefined;
      b.listen(8080, (conn) => (late = new StreamEndpoint(b, conn, () => net.now, {})));
      const probe = new StreamEndpoint(a, a.connect('100.64.0.2', 8080, net.now), () => net.now, { sendBytes: 100_000, seed: 9 });
      expect(net.run(() => late?.ended === true)).toBe(true);
      expect(late!.receivedDigest).toBe(probe.sentDigest);
    }
  });
});
