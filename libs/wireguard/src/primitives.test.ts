// Known-answer tests for the symmetric primitives: BLAKE2s (RFC 7693 Appendix E self-test and
// "abc"), keyed BLAKE2s-128, HMAC-BLAKE2s/KDF (wireguard-go device/kdf_test.go, wireguard-rs),
// ChaCha20-Poly1305 (RFC 8439 §2.8.2) and XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha §A.3.1).
import { blake2s as blake2sReference } from '@noble/hashes/blake2.js';
import { describe, expect, it } from 'vitest';
import { LABEL_COOKIE, LABEL_MAC1 } from './constants.js';
import { blake2s } from './blake2s.js';
import { aeadOpen, aeadSeal, counterNonce, hash, hmac, kdf1, kdf2, kdf3, mac, macWith, prepareMacKey, xaeadOpen, xaeadSeal } from './primitives.js';
import { hex, seededBytes, seededRandom, testSeed, unhex } from './testing/seeded.js';

const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

describe('BLAKE2s', () => {
  it('hashes "abc" to the RFC 7693 Appendix B digest', () => {
    expect(hex(hash(ascii('abc')))).toBe('508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982');
  });

  it('reproduces the RFC 7693 Appendix E grand hash (unkeyed and keyed, digest lengths 16–32)', () => {
    // The self-test of RFC 7693 Appendix E, run on this package's BLAKE2s: inputs and keys from a
    // Fibonacci byte generator, every digest fed into one BLAKE2s-256 "grand hash".
    const seq = (len: number, seed: number) => {
      const out = new Uint8Array(len);
      let a = Math.imul(0xdead4bad, seed) >>> 0;
      let b = 1;
      for (let i = 0; i < len; i++) {
        const t = (a + b) >>> 0;
        a = b;
        b = t;
        out[i] = (t >>> 24) & 0xff;
      }
      return out;
    };
    const digests: Uint8Array[] = [];
    for (const outLen of [16, 20, 28, 32]) {
      for (const inLen of [0, 3, 64, 65, 255, 1024]) {
        const input = seq(inLen, inLen);
        digests.push(blake2s(input, outLen));
        digests.push(blake2s(input, outLen, seq(outLen, outLen)));
      }
    }
    expect(hex(blake2s(Buffer.concat(digests), 32))).toBe('6a411f08ce25adcdfb02aba641451cec53c598b24f4fc787fbdc88797f4c1dfe');
  });

  it('prepared MAC keys give the same bytes as one-shot keyed BLAKE2s-128 (random keys and lengths vs @noble/hashes)', () => {
    const rand = seededRandom(testSeed('prepared MAC keys'));
    const bytes = seededBytes(rand);
    for (let i = 0; i < 300; i++) {
      const key = bytes(1 + Math.floor(rand() * 32));
      const data = bytes(1 + Math.floor(rand() * 300));
      const expected = hex(blake2sReference(data, { key, dkLen: 16 }));
      expect(hex(mac(key, data))).toBe(expected);
      expect(hex(macWith(prepareMacKey(key), data))).toBe(expected);
    }
  });

  it('MAC is keyed BLAKE2s-128, not truncated BLAKE2s-256 (mac1 of a zero message for a known responder key)', () => {
    // Responder public key = RFC 7748 Bob; values recomputed independently with CPython hashlib.
    const bob = unhex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const mac1Key = hash(ascii(LABEL_MAC1), bob);
    expect(hex(mac1Key)).toBe('52c0a95717f46ba7941f80cec1ead35984c9f023a996170d9e47e314d260dc96');
    expect(hex(hash(ascii(LABEL_COOKIE), bob))).toBe('da2c25a7f8182d2a7a58b0978d9dcd7e5f76c3fcf138fd6e5754404304cacba0');
    expect(hex(mac(mac1Key, new Uint8Array(116)))).toBe('4cce0134d103fb045a740de624b835d0');
    expect(hex(mac(mac1Key, new Uint8Array(60)))).toBe('d3d9d1594fb51d8678684e54c6470de8');
    const truncated = blake2s(new Uint8Array(116), 32, mac1Key).subarray(0, 16);
    expect(hex(truncated)).not.toBe('4cce0134d103fb045a740de624b835d0');
  });
});

describe('HMAC-BLAKE2s and KDF (wireguard-go kdf_test.go, wireguard-rs noise.rs)', () => {
  const vectors = [
    {
      key: ascii('test-key'),
      input: ascii('test-input'),
      t: [
        '6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633',
        'df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a',
        'fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24',
      ],
    },
    {
      key: ascii('wireguard'),
      input: ascii('wireguard'),
      t: [
        '491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8',
        '1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f',
        '31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160',
      ],
    },
    {
      key: new Uint8Array(0),
      input: new Uint8Array(0),
      t: [
        '8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0',
        '58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e',
        '0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e',
      ],
    },
    {
      key: unhex('deadbeef'),
      input: new Uint8Array(0),
      t: [
        '55329dc80e690fd86bd9661f0851c9b3686df2b1fda0347bc3d27958254b32c6',
        '8dfc6d33a8118ffe408b31ddac25f72aee9115a45b69ba176ad012b243834fee',
        'd69e852a2896569ea54a67969aa1800287921dac53ce6db4b4e12192f263c4c4',
      ],
    },
  ];

  it.each(vectors.map((v, i) => [i, v] as const))('vector %i: KDF1, KDF2 and KDF3 outputs', (_i, v) => {
    expect(hex(kdf1(v.key, v.input))).toBe(v.t[0]);
    expect(kdf2(v.key, v.input).map(hex)).toEqual(v.t.slice(0, 2));
    expect(kdf3(v.key, v.input).map(hex)).toEqual(v.t);
  });

  it('HMAC is the RFC 2104 construction over BLAKE2s (τ1 = HMAC(HMAC(key, input), 0x01))', () => {
    const v = vectors[0]!;
    expect(hex(hmac(hmac(v.key, v.input), Uint8Array.of(1)))).toBe(v.t[0]);
  });
});

const SUNSCREEN = ascii(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
);
const KEY_80_9F = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
const AAD = unhex('50515253c0c1c2c3c4c5c6c7');

describe('ChaCha20-Poly1305 (RFC 8439 §2.8.2)', () => {
  const nonce = unhex('070000004041424344454647');
  const ciphertext =
    'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b' +
    '1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc' +
    '3ff4def08e4b7a9de576d26586cec64b6116';
  const tag = '1ae10b594f09e26a7e902ecbd0600691';

  it('seals to the published ciphertext and tag', () => {
    expect(hex(aeadSeal(KEY_80_9F, nonce, SUNSCREEN, AAD))).toBe(ciphertext + tag);
  });

  it('opens the published ciphertext and rejects any flipped bit or wrong AD', () => {
    const sealed = unhex(ciphertext + tag);
    expect(Buffer.from(aeadOpen(KEY_80_9F, nonce, sealed, AAD)!).equals(Buffer.from(SUNSCREEN))).toBe(true);
    for (const bit of [0, 7, 8 * 50 + 3, 8 * (sealed.length - 1)]) {
      const bad = sealed.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(aeadOpen(KEY_80_9F, nonce, bad, AAD)).toBeUndefined();
    }
    expect(aeadOpen(KEY_80_9F, nonce, sealed, AAD.subarray(1))).toBeUndefined();
    expect(aeadOpen(KEY_80_9F, nonce, sealed.subarray(0, 10), AAD)).toBeUndefined();
  });

  it('builds WireGuard nonces as 4 zero bytes and the little-endian 64-bit counter', () => {
    expect(hex(counterNonce(0))).toBe('000000000000000000000000');
    expect(hex(counterNonce(0x0102_0304_0506))).toBe('000000000605040302010000');
    expect(hex(counterNonce(Number.MAX_SAFE_INTEGER))).toBe('00000000ffffffffffff1f00');
  });
});

describe('XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha §A.3.1)', () => {
  const nonce = unhex('404142434445464748494a4b4c4d4e4f5051525354555657');
  const expected =
    'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39' +
    'ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9' +
    '21f9664c97637da9768812f615c68b13b52e' +
    'c0875924c1c7987947deafd8780acf49';

  it('seals to the published ciphertext and tag, opens it, and rejects tampering', () => {
    expect(hex(xaeadSeal(KEY_80_9F, nonce, SUNSCREEN, AAD))).toBe(expected);
    const sealed = unhex(expected);
    expect(hex(xaeadOpen(KEY_80_9F, nonce, sealed, AAD)!)).toBe(hex(SUNSCREEN));
    sealed[3]! ^= 0x10;
    expect(xaeadOpen(KEY_80_9F, nonce, sealed, AAD)).toBeUndefined();
    expect(xaeadOpen(KEY_80_9F, nonce, sealed.subarray(0, 5), AAD)).toBeUndefined();
  });
});
