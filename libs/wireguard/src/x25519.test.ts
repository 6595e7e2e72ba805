// X25519 known answers (RFC 7748 §5.2 and §6.1), agreement with tweetnacl as the reference
// implementation, and the rejection of all-zero shared secrets from low-order points; for both
// implementations: libsodium (when sodium-native loads) and node:crypto (sodium-native hidden).
import nacl from 'tweetnacl';
import { describe, expect, it, vi } from 'vitest';
import { hex, seededBytes, seededRandom, testSeed, unhex } from './testing/seeded.js';

const loaded = await import('./x25519.js');
vi.resetModules();
vi.doMock('node:module', async (importOriginal) => ({
  ...(await importOriginal<typeof import('node:module')>()),
  createRequire: () => () => {
    throw new Error('sodium-native hidden by the test');
  },
}));
const nodeOnly = await import('./x25519.js');
vi.doUnmock('node:module');

it('hiding sodium-native leaves node:crypto to compute X25519', () => {
  expect(nodeOnly.x25519Implementation).toBe('node:crypto');
});

describe.each([
  [loaded.x25519Implementation, loaded],
  ['node:crypto (forced)', nodeOnly],
])('X25519 through %s', (_name, x) => {
  const { dh, ephemeralFromPrivate, generateEphemeral, importPrivateKey, importPublicKey, rawPublicKey } = x;
  function scalarMult(scalar: Uint8Array, u: Uint8Array): string | undefined {
    const pub = importPublicKey(u);
    if (!pub) throw new Error('import failed');
    const out = dh(importPrivateKey(scalar), pub);
    return out && hex(out);
  }

  it('RFC 7748 §5.2 scalar multiplication vectors (including a u-coordinate with the top bit set)', () => {
    expect(
      scalarMult(
        unhex('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4'),
        unhex('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c'),
      ),
    ).toBe('c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552');
    expect(
      scalarMult(
        unhex('4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d'),
        unhex('e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493'),
      ),
    ).toBe('95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957');
  });

  it('RFC 7748 §5.2 iterated ladder after 1 and 1000 iterations', () => {
    let k: Uint8Array = unhex('09'.padEnd(64, '0'));
    let u: Uint8Array = k;
    const after: Record<number, string> = {};
    for (let i = 1; i <= 1000; i++) {
      const next = unhex(scalarMult(k, u)!);
      u = k;
      k = next;
      if (i === 1 || i === 1000) after[i] = hex(k);
    }
    expect(after[1]).toBe('422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079');
    expect(after[1000]).toBe('684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51');
  });

  it('RFC 7748 §6.1 Diffie-Hellman: both public keys and the shared secret', () => {
    const alice = unhex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bob = unhex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    const alicePub = ephemeralFromPrivate(alice).publicKey;
    const bobPub = ephemeralFromPrivate(bob).publicKey;
    expect(hex(alicePub)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(hex(bobPub)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(scalarMult(alice, bobPub)).toBe(shared);
    expect(scalarMult(bob, alicePub)).toBe(shared);
  });

  it('agrees with tweetnacl on seeded random keys (the fast path vs the portable reference)', () => {
    const bytes = seededBytes(seededRandom(testSeed('x25519 vs tweetnacl')));
    for (let i = 0; i < 20; i++) {
      const a = bytes(32);
      const b = bytes(32);
      const bPub = nacl.scalarMult.base(b);
      expect(hex(ephemeralFromPrivate(a).publicKey)).toBe(hex(nacl.scalarMult.base(a)));
      expect(scalarMult(a, bPub)).toBe(hex(nacl.scalarMult(a, bPub)));
    }
  });

  it('rejects low-order points: the all-zero shared secret is a failure, never a key', () => {
    const priv = importPrivateKey(unhex('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4'));
    const lowOrder = [
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000000',
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ];
    for (const point of lowOrder) {
      const pub = importPublicKey(unhex(point));
      expect(pub).toBeDefined();
      expect(dh(priv, pub!)).toBeUndefined();
    }
  });

  it('imports only 32-byte public keys and generates distinct ephemerals', () => {
    expect(importPublicKey(new Uint8Array(31))).toBeUndefined();
    expect(importPublicKey(new Uint8Array(33))).toBeUndefined();
    const e1 = generateEphemeral();
    const e2 = generateEphemeral();
    expect(e1.publicKey.length).toBe(32);
    expect(hex(e1.publicKey)).not.toBe(hex(e2.publicKey));
    expect(hex(rawPublicKey(e1.privateKey))).toBe(hex(e1.publicKey));
    expect(dh(e1.privateKey, importPublicKey(e2.publicKey)!)!.equals(dh(e2.privateKey, importPublicKey(e1.publicKey)!)!)).toBe(true);
  });
});
