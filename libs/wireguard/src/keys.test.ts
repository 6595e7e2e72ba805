// Key text form and generation: 44-character standard base64 like `wg genkey`/`wg pubkey`,
// clamping, clear errors for bad input, and short log tags that never reveal a whole key.
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { clampPrivateKey, decodeKey, encodeKey, generatePrivateKey, keyTag, publicKeyFromPrivate } from './keys.js';
import { hex, unhex } from './testing/seeded.js';

describe('keys', () => {
  it('generates clamped private keys whose public key matches tweetnacl', () => {
    for (let i = 0; i < 10; i++) {
      const priv = generatePrivateKey();
      expect(priv[0]! & 7).toBe(0);
      expect(priv[31]! & 0x80).toBe(0);
      expect(priv[31]! & 0x40).toBe(0x40);
      expect(hex(publicKeyFromPrivate(priv))).toBe(hex(nacl.box.keyPair.fromSecretKey(priv).publicKey));
    }
  });

  it('clamps exactly the three bit groups of RFC 7748 §5', () => {
    expect(hex(clampPrivateKey(new Uint8Array(32).fill(0xff)))).toBe('f8' + 'ff'.repeat(30) + '7f');
    expect(hex(clampPrivateKey(new Uint8Array(32)))).toBe('00'.repeat(31) + '40');
  });

  it('encodes and decodes the RFC 7748 keys in wg base64', () => {
    const alicePub = unhex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    const text = encodeKey(alicePub);
    expect(text).toBe('hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=');
    expect(text).toHaveLength(44);
    expect(hex(decodeKey(text))).toBe(hex(alicePub));
    expect(hex(decodeKey(` ${text}\n`))).toBe(hex(alicePub)); // as read from `wg genkey` output
  });

  it('throws errors that say what is wrong, without echoing the key', () => {
    expect(() => decodeKey('abc')).toThrow(/44 base64 characters.*got 3/);
    expect(() => decodeKey('hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo')).toThrow(/got 43/);
    expect(() => decodeKey('hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066Sp*qqbTmo=')).toThrow(/not valid base64/);
    expect(() => decodeKey('hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp=')).toThrow(/not valid base64/);
    expect(() => decodeKey('hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm==')).toThrow(/not valid base64/);
    try {
      decodeKey('hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066Sp*qqbTmo=');
    } catch (err) {
      expect((err as Error).message).not.toContain('hSDw');
    }
    expect(() => encodeKey(new Uint8Array(31))).toThrow(/32 bytes, got 31/);
  });

  it('tags keys for logs by their first and last characters only', () => {
    const tag = keyTag('hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=');
    expect(tag).toBe('peer(hSDw…bTmo)');
    expect(keyTag(unhex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'))).toBe(tag);
  });
});
