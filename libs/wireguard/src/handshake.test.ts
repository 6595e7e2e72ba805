// The WireGuard handshake messages between two in-memory identities: key agreement, exact message
// sizes and layout, the TAI64N replay and flood rules, psk mismatch, and state checks.
import { describe, expect, it } from 'vitest';
import { CookieChecker, CookieGenerator } from './cookie.js';
import {
  Handshake,
  HandshakeState,
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  deriveSessionKeys,
  type LocalIdentity,
} from './handshake.js';
import { generatePrivateKey } from './keys.js';
import { INITIATION, readU32LE } from './messages.js';
import { tai64nFromUnixMs } from './tai64n.js';
import { importPrivateKey, importPublicKey, rawPublicKey } from './x25519.js';
import { hex } from './testing/seeded.js';

function identity(): LocalIdentity {
  const privateKey = importPrivateKey(generatePrivateKey());
  return { privateKey, publicKey: rawPublicKey(privateKey) };
}

function handshakeFor(remote: LocalIdentity, psk?: Uint8Array): Handshake {
  return new Handshake(remote.publicKey, importPublicKey(remote.publicKey)!, psk);
}

function setup(pskI?: Uint8Array, pskR?: Uint8Array) {
  const alice = identity();
  const bob = identity();
  const aliceHs = handshakeFor(bob, pskI); // Alice's view of Bob
  const bobHs = handshakeFor(alice, pskR); // Bob's view of Alice
  const bobLookup = (pub: Buffer) => (pub.equals(alice.publicKey) ? { peer: 'alice', handshake: bobHs } : undefined);
  return { alice, bob, aliceHs, bobHs, bobLookup };
}

describe('handshake messages', () => {
  it('agree on transport keys (initiator send = responder receive) with fixed sizes and indices', () => {
    const { alice, aliceHs, bob, bobHs, bobLookup } = setup();
    const init = createInitiation(alice, aliceHs, 0x11223344, tai64nFromUnixMs(1_700_000_000_000))!;
    expect(init.length).toBe(148);
    expect(hex(init.subarray(0, 4))).toBe('01000000');
    expect(readU32LE(init, INITIATION.sender)).toBe(0x11223344);
    expect(aliceHs.state).toBe(HandshakeState.InitiationCreated);

    const consumed = consumeInitiation(bob, init, 1000, bobLookup);
    expect(consumed).toEqual({ ok: true, peer: 'alice' });
    expect(bobHs.remoteIndex).toBe(0x11223344);

    const resp = createResponse(bobHs, 0x55667788)!;
    expect(resp.length).toBe(92);
    expect(hex(resp.subarray(0, 12))).toBe('02000000' + '88776655' + '44332211');
    const result = consumeResponse(alice, resp, (idx) => (idx === 0x11223344 ? { peer: 'bob', handshake: aliceHs } : undefined));
    expect(result).toEqual({ ok: true, peer: 'bob' });

    const a = deriveSessionKeys(aliceHs)!;
    const b = deriveSessionKeys(bobHs)!;
    expect(a.isInitiator).toBe(true);
    expect(b.isInitiator).toBe(false);
    expect(hex(a.sendKey)).toBe(hex(b.receiveKey));
    expect(hex(a.receiveKey)).toBe(hex(b.sendKey));
    expect(hex(a.sendKey)).not.toBe(hex(a.receiveKey));
    expect([a.localIndex, a.remoteIndex, b.localIndex, b.remoteIndex]).toEqual([0x11223344, 0x55667788, 0x55667788, 0x11223344]);
    expect(aliceHs.state).toBe(HandshakeState.Zeroed);
    expect(aliceHs.symmetric).toBeUndefined();
  });

  it('rejects a replayed initiation (timestamp not newer) and one within 20 ms of the last', () => {
    const { alice, aliceHs, bob, bobLookup } = setup();
    const t0 = 1_700_000_000_000;
    const first = createInitiation(alice, aliceHs, 1, tai64nFromUnixMs(t0))!;
    expect(consumeInitiation(bob, first, 5_000, bobLookup).ok).toBe(true);
    expect(consumeInitiation(bob, first, 6_000, bobLookup)).toEqual({ ok: false, reason: 'replayed-timestamp' });
    // Same 2^24 ns whitening bucket: not strictly newer either.
    const sameBucket = createInitiation(alice, aliceHs, 2, tai64nFromUnixMs(t0 + 1))!;
    expect(consumeInitiation(bob, sameBucket, 6_000, bobLookup)).toEqual({ ok: false, reason: 'replayed-timestamp' });
    const newer = createInitiation(alice, aliceHs, 3, tai64nFromUnixMs(t0 + 1000))!;
    expect(consumeInitiation(bob, newer, 5_020, bobLookup)).toEqual({ ok: false, reason: 'initiation-flood' });
    expect(consumeInitiation(bob, newer, 5_021, bobLookup).ok).toBe(true);
  });

  it('drops initiations from unknown keys and bit-flipped ones without touching state', () => {
    const { alice, aliceHs, bob, bobHs } = setup();
    const init = createInitiation(alice, aliceHs, 7, tai64nFromUnixMs(1_700_000_000_000))!;
    expect(consumeInitiation(bob, init, 0, () => undefined)).toEqual({ ok: false, reason: 'unknown-peer' });
    for (const at of [8, 40, 70, 100]) {
      const bad = Buffer.from(init);
      bad[at]! ^= 0x01;
      const r = consumeInitiation(bob, bad, 0, () => ({ peer: 'alice', handshake: bobHs }));
      expect(r.ok).toBe(false);
    }
    expect(bobHs.state).toBe(HandshakeState.Zeroed);
  });

  it('fails the response when the preshared keys differ, leaving the initiator waiting', () => {
    const psk = new Uint8Array(32).fill(7);
    const { alice, aliceHs, bob, bobHs, bobLookup } = setup(psk, new Uint8Array(32));
    const init = createInitiation(alice, aliceHs, 9, tai64nFromUnixMs(1_700_000_000_000))!;
    expect(consumeInitiation(bob, init, 0, bobLookup).ok).toBe(true);
    const resp = createResponse(bobHs, 10)!;
    const lookup = () => ({ peer: 'bob', handshake: aliceHs });
    expect(consumeResponse(alice, resp, lookup)).toEqual({ ok: false, reason: 'handshake-failed' });
    expect(aliceHs.state).toBe(HandshakeState.InitiationCreated);
    expect(consumeResponse(alice, resp, () => undefined)).toEqual({ ok: false, reason: 'unknown-index' });
  });

  it('refuses a response when no initiation is pending, and a response without a consumed initiation', () => {
    const { alice, aliceHs, bob, bobHs, bobLookup } = setup();
    expect(createResponse(bobHs, 1)).toBeUndefined();
    const init = createInitiation(alice, aliceHs, 9, tai64nFromUnixMs(1_700_000_000_000))!;
    consumeInitiation(bob, init, 0, bobLookup);
    const resp = createResponse(bobHs, 10)!;
    const lookup = () => ({ peer: 'bob', handshake: aliceHs });
    expect(consumeResponse(alice, resp, lookup).ok).toBe(true);
    expect(consumeResponse(alice, resp, lookup)).toEqual({ ok: false, reason: 'unexpected-response' });
  });

  it('refuses to handshake with a low-order peer key (all-zero static-static DH)', () => {
    const alice = identity();
    const zeroPeer = new Handshake(Buffer.alloc(32), importPublicKey(Buffer.alloc(32))!, undefined);
    expect(createInitiation(alice, zeroPeer, 1, tai64nFromUnixMs(0))).toBeUndefined();
  });
});

describe('mac1, mac2 and cookie replies', () => {
  const random = (n: number) => new Uint8Array(n).map((_, i) => (i * 37 + 11) & 0xff);
  const source = new Uint8Array([192, 0, 2, 1, 0xca, 0x6c]);

  it('mac1 is keyed by the receiver; any flipped byte before mac1 fails it', () => {
    const { alice, aliceHs, bob } = setup();
    const msg = createInitiation(alice, aliceHs, 1, tai64nFromUnixMs(0))!;
    new CookieGenerator(bob.publicKey).addMacs(msg, 0);
    const checker = new CookieChecker(bob.publicKey, random);
    expect(checker.checkMac1(msg)).toBe(true);
    expect(new CookieChecker(alice.publicKey, random).checkMac1(msg)).toBe(false);
    for (let i = 0; i < 132; i += 13) {
      const bad = Buffer.from(msg);
      bad[i]! ^= 0x80;
      expect(checker.checkMac1(bad)).toBe(false);
    }
    expect(hex(msg.subarray(132))).toBe('00'.repeat(16)); // no cookie yet → zero mac2
  });

  it('a cookie reply lets the next message carry a mac2 valid only for the same source, for 120 s', () => {
    const { alice, aliceHs, bob } = setup();
    const generator = new CookieGenerator(bob.publicKey);
    const checker = new CookieChecker(bob.publicKey, random);
    const first = createInitiation(alice, aliceHs, 1, tai64nFromUnixMs(0))!;
    generator.addMacs(first, 0);
    expect(checker.checkMac2(first, source, 0)).toBe(false);
    const reply = checker.createReply(first, 1, source, 0);
    expect(reply.length).toBe(64);
    expect(hex(reply.subarray(0, 8))).toBe('03000000' + '01000000');
    expect(generator.consumeReply(reply, 10)).toBe(true);
    expect(generator.consumeReply(reply, 10)).toBe(false); // one reply per message sent

    const second = createInitiation(alice, aliceHs, 2, tai64nFromUnixMs(5000))!;
    generator.addMacs(second, 5_000);
    expect(checker.checkMac1(second)).toBe(true);
    expect(checker.checkMac2(second, source, 5_000)).toBe(true);
    const otherPort = source.slice();
    otherPort[5] = 0x6d;
    expect(checker.checkMac2(second, otherPort, 5_000)).toBe(false);
    expect(checker.checkMac2(second, new Uint8Array([192, 0, 2, 2, 0xca, 0x6c]), 5_000)).toBe(false);
    // The responder's secret is stale after 120 s; the initiator stops using the cookie as well.
    expect(checker.checkMac2(second, source, 120_001)).toBe(false);
    const late = createInitiation(alice, aliceHs, 3, tai64nFromUnixMs(200_000))!;
    generator.addMacs(late, 130_011);
    expect(hex(late.subarray(132))).toBe('00'.repeat(16));
  });

  it('ignores a cookie reply that was not made for our last mac1', () => {
    const { alice, aliceHs, bob } = setup();
    const generator = new CookieGenerator(bob.publicKey);
    const checker = new CookieChecker(bob.publicKey, random);
    const msg = createInitiation(alice, aliceHs, 1, tai64nFromUnixMs(0))!;
    const reply = checker.createReply(msg, 1, source, 0); // made before macs were added
    generator.addMacs(msg, 0);
    expect(generator.consumeReply(reply, 0)).toBe(false);
    expect(new CookieGenerator(bob.publicKey).consumeReply(checker.createReply(msg, 1, source, 0), 0)).toBe(false);
  });
});
