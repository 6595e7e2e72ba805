// Every entry point for network bytes fed seeded random and bit-flipped input: the message
// classifier, the inner-packet trimmer, the handshake consumers, cookie replies and the device's
// receive(). All of them must drop (and count) without throwing; the device must keep working.
import { describe, expect, it } from 'vitest';
import { CookieGenerator } from './cookie.js';
import { Handshake, consumeInitiation, consumeResponse } from './handshake.js';
import { generatePrivateKey } from './keys.js';
import { classifyMessage } from './messages.js';
import { A_ENDPOINT, A_TUNNEL, B_ENDPOINT, B_TUNNEL, TestPair, ipv4Packet } from './testing/device-pair.js';
import { seededBytes, seededRandom, testSeed } from './testing/seeded.js';
import { readCounter, trimInnerPacket } from './transport.js';
import { importPrivateKey, importPublicKey, rawPublicKey } from './x25519.js';

function randomDatagram(rand: () => number, bytes: (n: number) => Uint8Array): Uint8Array {
  const sizes = [0, 1, 4, 31, 32, 33, 63, 64, 65, 91, 92, 93, 147, 148, 149, 1452];
  const len = rand() < 0.6 ? sizes[Math.floor(rand() * sizes.length)]! : Math.floor(rand() * 300);
  const d = bytes(len);
  // Often give it a plausible header so deeper parsers run, not just the type check.
  if (len >= 4 && rand() < 0.7) d.set([1 + Math.floor(rand() * 4), 0, 0, 0], 0);
  return d;
}

describe('parsers under random input', () => {
  it('classifyMessage, trimInnerPacket and readCounter never throw on random bytes', () => {
    const rand = seededRandom(testSeed('parsers random'));
    const bytes = seededBytes(rand);
    const kinds = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const d = randomDatagram(rand, bytes);
      kinds.add(classifyMessage(d).kind);
      const inner = d.length >= 1 ? trimInnerPacket(d) : undefined;
      if (inner && inner.length > d.length) throw new Error('trimmed packet longer than its input');
      const n = d.length >= 16 ? readCounter(d) : undefined;
      if (n !== undefined && !Number.isSafeInteger(n)) throw new Error(`counter ${n} not exact`);
    }
    expect([...kinds].sort()).toEqual(['cookie-reply', 'drop', 'initiation', 'response', 'transport']);
  });

  it('handshake consumers and cookie replies reject random and bit-flipped bytes without throwing', () => {
    const rand = seededRandom(testSeed('handshake consumers random'));
    const bytes = seededBytes(rand);
    const privateKey = importPrivateKey(generatePrivateKey());
    const identity = { privateKey, publicKey: rawPublicKey(privateKey) };
    const other = rawPublicKey(importPrivateKey(generatePrivateKey()));
    const hs = new Handshake(other, importPublicKey(other)!, undefined);
    const generator = new CookieGenerator(other);
    generator.addMacs(new Uint8Array(148), 0);
    for (let i = 0; i < 300; i++) {
      const init = bytes(148);
      init.set([1, 0, 0, 0], 0);
      expect(consumeInitiation(identity, init, 0, () => ({ peer: 1, handshake: hs })).ok).toBe(false);
      const resp = bytes(92);
      expect(consumeResponse(identity, resp, () => ({ peer: 1, handshake: hs })).ok).toBe(false);
      expect(generator.consumeReply(bytes(64), 0)).toBe(false);
    }
  });
});

describe('WireGuardDevice.receive under random and corrupted datagrams', () => {
  it('drops everything, counts it, never reaches an internal error, and still works afterwards', () => {
    const seed = testSeed('device receive fuzz');
    const rand = seededRandom(seed);
    const bytes = seededBytes(rand);
    const pair = new TestPair();
    // Collect one valid message of every kind to corrupt.
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    const [init] = pair.take();
    pair.deliver(init!);
    const [resp] = pair.take();
    pair.deliver(resp!);
    const [data] = pair.take();
    pair.deliver(data!);
    const underLoad = new TestPair({ b: { underLoad: true } });
    underLoad.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), underLoad.now);
    underLoad.deliver(underLoad.take()[0]!);
    const [cookieReply] = underLoad.take();
    expect(cookieReply!.datagram.length).toBe(64);
    const valid = [init!.datagram, resp!.datagram, data!.datagram, cookieReply!.datagram];

    const deliveredBefore = pair.delivered.b.length + pair.delivered.a.length;
    for (let i = 0; i < 5_000; i++) {
      let d: Uint8Array;
      if (rand() < 0.5) {
        d = randomDatagram(rand, bytes);
      } else {
        d = Uint8Array.from(valid[Math.floor(rand() * valid.length)]!);
        const flips = 1 + Math.floor(rand() * 3);
        for (let f = 0; f < flips; f++) d[Math.floor(rand() * d.length)]! ^= 1 << Math.floor(rand() * 8);
      }
      const target = rand() < 0.5 ? pair.a : pair.b;
      target.receive(d, rand() < 0.5 ? A_ENDPOINT : B_ENDPOINT, pair.now);
      pair.take(); // whatever they answer (responses to corrupted-but-valid handshakes) is discarded
    }
    expect(pair.a.drops['internal-error'] + pair.b.drops['internal-error']).toBe(0);
    expect(pair.delivered.b.length + pair.delivered.a.length).toBe(deliveredBefore);
    const drops = (d: typeof pair.a) => Object.values(d.drops).reduce((x, y) => x + y, 0);
    expect(drops(pair.a) + drops(pair.b)).toBeGreaterThan(4_900);

    // The endpoints were never moved by garbage, and the tunnel still carries traffic.
    pair.advance(6_000);
    pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL), pair.now);
    pair.b.send(ipv4Packet(B_TUNNEL, A_TUNNEL), pair.now);
    pair.advance(6_000);
    expect(pair.delivered.b.length).toBeGreaterThan(1);
    expect(pair.delivered.a.length).toBeGreaterThan(0);
    expect(pair.b.getPeer(pair.a.publicKey)!.endpoint).toEqual(A_ENDPOINT);
  });
});
