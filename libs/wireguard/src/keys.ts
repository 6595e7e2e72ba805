// WireGuard key handling: generation (clamped, like `wg genkey`), public-key derivation, and the
// standard base64 text form (44 characters, wireguard-tools src/encoding.c) used by `wg` and configs.
import nacl from 'tweetnacl';
import { KEY_SIZE } from './constants.js';

const BASE64_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** Clamps a Curve25519 scalar in place (RFC 7748 §5) and returns it. */
export function clampPrivateKey(key: Uint8Array): Uint8Array {
  key[0]! &= 248;
  key[31]! &= 127;
  key[31]! |= 64;
  return key;
}

/** A new random private key, clamped as `wg genkey` does. */
export function generatePrivateKey(): Uint8Array {
  return clampPrivateKey(nacl.randomBytes(KEY_SIZE));
}

/** The public key for a private key (X25519 base-point multiplication, tweetnacl). */
export function publicKeyFromPrivate(privateKey: Uint8Array): Uint8Array {
  if (privateKey.length !== KEY_SIZE) {
    throw new Error(`private key must be ${KEY_SIZE} bytes, got ${privateKey.length}`);
  }
  return nacl.scalarMult.base(privateKey);
}

/** A fresh 32-byte preshared key (`wg genpsk`). */
export function generatePresharedKey(): Uint8Array {
  return nacl.randomBytes(KEY_SIZE);
}

/** Standard base64 with padding: 44 characters, interchangeable with `wg`. */
export function encodeKey(key: Uint8Array): string {
  if (key.length !== KEY_SIZE) throw new Error(`a WireGuard key is ${KEY_SIZE} bytes, got ${key.length}`);
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString('base64');
}

/**
 * Parses a key in `wg`'s base64 form. Throws an Error naming the problem (wrong length, not
 * base64) without echoing the text, which may be a private key.
 */
export function decodeKey(text: string): Uint8Array {
  if (typeof text !== 'string') throw new Error('key: expected a base64 string');
  const trimmed = text.trim();
  if (trimmed.length !== 44) {
    throw new Error(`key: expected 44 base64 characters (32 bytes), got ${trimmed.length} characters`);
  }
  if (!BASE64_KEY.test(trimmed)) {
    throw new Error('key: not valid base64 for a 32-byte key (allowed: A-Z a-z 0-9 + /, one trailing =)');
  }
  return new Uint8Array(Buffer.from(trimmed, 'base64'));
}

/** A short tag for logs, e.g. `peer(AbCd…WxYz)`: enough to tell keys apart, never the whole key. */
export function keyTag(publicKey: Uint8Array | string): string {
  const b64 = typeof publicKey === 'string' ? publicKey : encodeKey(publicKey);
  return `peer(${b64.slice(0, 4)}…${b64.slice(39, 43)})`;
}
