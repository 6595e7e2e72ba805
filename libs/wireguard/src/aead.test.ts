import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { describe, expect, it } from 'vitest';
import { defaultTransportAead, libsodium, nodeAead, type TransportAead } from './aead.js';
import { A_TUNNEL, B_TUNNEL, TestPair, ipv4Packet } from './testing/index.js';
import { seededBytes, seededRandom, testSeed } from './testing/seeded.js';

const implementations: TransportAead[] = [nodeAead, ...(libsodium ? [libsodium] : [])];

describe('transport AEAD', () => {
  it('uses libsodium where sodium-native ships a prebuild (Linux x64 and arm64)', () => {
    if (process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64')) {
      expect(libsodium?.name).toBe('libsodium');
      expect(defaultTransportAead).toBe(libsodium);
    } else {
      expect(defaultTransportAead.name).toMatch(/^(libsodium|node:crypto)$/);
    }
  });

  for (const aead of implementations) {
    it(`${aead.name}: seals and opens exactly as an independent ChaCha20-Poly1305 (@noble/ciphers), any size and padding`, () => {
      const rand = seededRandom(testSeed(`${aead.name} vs noble`));
      const bytes = seededBytes(rand);
      for (let i = 0; i < 120; i++) {
        const raw = bytes(32);
        const nonce = bytes(12);
        const packet = bytes(i < 20 ? i : Math.floor(rand() * 1500));
        const padding = Math.floor(rand() * 16);
        const at = Math.floor(rand() * 20);
        const out = Buffer.alloc(at + packet.length + padding + 16, 0xee);
        const before = Uint8Array.from(packet);
        aead.seal(aead.importKey(raw), nonce, packet, padding, out, at);
        const plain = new Uint8Array(packet.length + padding);
        plain.set(packet);
        expect(Buffer.from(out.subarray(at))).toEqual(Buffer.from(chacha20poly1305(raw, nonce).encrypt(plain)));
        expect(out.subarray(0, at).every((b) => b === 0xee)).toBe(true);
        expect(packet).toEqual(before);
        const opened = aead.open(aead.importKey(raw), nonce, out.subarray(at));
        expect(opened && Buffer.from(opened)).toEqual(Buffer.from(plain));
      }
    });

    it(`${aead.name}: refuses a flipped bit anywhere, a wrong nonce or key, and input shorter than a tag`, () => {
      const raw = new Uint8Array(32).fill(7);
      const key = aead.importKey(raw);
      const nonce = new Uint8Array(12).fill(1);
      const sealed = Buffer.alloc(64 + 16);
      aead.seal(key, nonce, new Uint8Array(64).fill(9), 0, sealed, 0);
      for (const at of [0, 31, 63, 64, 79]) {
        const forged = Buffer.from(sealed);
        forged[at]! ^= 0x01;
        expect(aead.open(key, nonce, forged)).toBeUndefined();
      }
      expect(aead.open(key, new Uint8Array(12).fill(2), sealed)).toBeUndefined();
      expect(aead.open(aead.importKey(new Uint8Array(32).fill(8)), nonce, sealed)).toBeUndefined();
      expect(aead.open(key, nonce, sealed.subarray(0, 15))).toBeUndefined();
      expect(aead.open(key, nonce, sealed)).toEqual(Buffer.alloc(64, 9));
    });
  }

  it('devices on different AEADs talk to each other (the wire format is the same)', () => {
    const other = libsodium ?? nodeAead;
    const pair = new TestPair({ a: { transportAead: nodeAead }, b: { transportAead: other } });
    for (const payload of [0, 80, 1400]) {
      expect(pair.a.send(ipv4Packet(A_TUNNEL, B_TUNNEL, payload, 0x11), pair.now)).toBe(true);
      pair.flush();
      expect(pair.b.send(ipv4Packet(B_TUNNEL, A_TUNNEL, payload, 0x22), pair.now)).toBe(true);
      pair.flush();
    }
    const hexes = (packets: Uint8Array[]) => packets.map((p) => Buffer.from(p).toString('hex'));
    expect(hexes(pair.delivered.b)).toEqual(hexes([0, 80, 1400].map((n) => ipv4Packet(A_TUNNEL, B_TUNNEL, n, 0x11))));
    expect(hexes(pair.delivered.a)).toEqual(hexes([0, 80, 1400].map((n) => ipv4Packet(B_TUNNEL, A_TUNNEL, n, 0x22))));
    expect(pair.a.drops['decrypt-failed'] + pair.b.drops['decrypt-failed']).toBe(0);
  });
});
