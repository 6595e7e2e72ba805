// X25519 key handling for the agent (WireGuard keys: 32 raw bytes, standard base64). The private key
// is generated on the device and never leaves it; only the public key is sent to the hub.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';

const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** 32 random bytes clamped as `wg genkey` does (X25519 clamps anyway; this keeps files identical). */
export function generatePrivateKey(): Uint8Array {
  const k = randomBytes(32);
  k[0]! &= 248;
  k[31] = (k[31]! & 127) | 64;
  return new Uint8Array(k);
}

export function publicKeyFromPrivate(privateKey: Uint8Array): Uint8Array {
  if (privateKey.length !== 32) throw new Error('private key must be 32 bytes');
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, privateKey]), format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(key).export({ format: 'jwk' }) as { x: string };
  return new Uint8Array(Buffer.from(jwk.x, 'base64url'));
}

export function encodeKey(key: Uint8Array): string {
  return Buffer.from(key).toString('base64');
}

export function decodeKey(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== 32 || encodeKey(bytes) !== text) throw new Error('not a base64 32-byte key');
  return new Uint8Array(bytes);
}

/** Log-safe short form of a public key, e.g. "peer(AbCd…wXyZ)". Never use on a private key. */
export function keyTag(publicKeyBase64: string): string {
  return `peer(${publicKeyBase64.slice(0, 4)}…${publicKeyBase64.slice(-5, -1)})`;
}
