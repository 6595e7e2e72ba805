// X25519 Diffie-Hellman (RFC 7748) on node:crypto KeyObjects, WireGuard's DH and DH-Generate.
// A shared secret of all zeros (a low-order peer point) counts as failure, as in wireguard-go.
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import { KEY_SIZE } from './constants.js';
import { pooledRandomBytes } from './random-pool.js';

// PKCS#8 prefix for a raw X25519 private key. DER import is slow (~2k/s) but only used for static
// keys; ephemerals and public keys come in through JWK (~10k/s and ~100k/s), the hot path.
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export type X25519PrivateKey = KeyObject;
export type X25519PublicKey = KeyObject;

/** Imports a raw 32-byte private scalar (clamped or not: X25519 clamps internally). */
export function importPrivateKey(raw: Uint8Array): X25519PrivateKey {
  if (raw.length !== KEY_SIZE) throw new Error(`x25519: private key must be ${KEY_SIZE} bytes, got ${raw.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

/** Imports a raw 32-byte public key; undefined when it is not 32 bytes. Never throws. */
export function importPublicKey(raw: Uint8Array): X25519PublicKey | undefined {
  if (raw.length !== KEY_SIZE) return undefined;
  try {
    const x = Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('base64url');
    return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
  } catch {
    return undefined;
  }
}

/** Raw 32 bytes of a public KeyObject, or of the public half of a private one. */
export function rawPublicKey(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' });
  return Buffer.from(jwk.x as string, 'base64url');
}

/**
 * DH(priv, pub): the 32-byte shared secret, or undefined for an all-zero result. OpenSSL refuses
 * such a derivation with an exception; the explicit check keeps the rule if that ever changes.
 */
export function dh(privateKey: X25519PrivateKey, publicKey: X25519PublicKey): Buffer | undefined {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey });
  } catch {
    return undefined;
  }
  let acc = 0;
  for (let i = 0; i < shared.length; i++) acc |= shared[i]!;
  return acc === 0 ? undefined : shared;
}

export interface EphemeralKeyPair {
  privateKey: X25519PrivateKey;
  publicKey: Buffer;
}

/** Any 32 bytes: for a private JWK, Node derives the public half from `d` and only length-checks `x`. */
const JWK_X_PLACEHOLDER = Buffer.alloc(KEY_SIZE).toString('base64url');

/**
 * DH-Generate for ephemeral keys: 32 bytes from the CSPRNG, imported as a JWK (~0.1 ms). Not
 * generateKeyPairSync: on Node 20 the key-generation job is freed by a later GC, and when that GC
 * runs while a call holds the generated key's lock (diffieHellman, export) the process deadlocks
 * (~KeyGenJob waiting on that mutex: a handshake loop froze after ~300k keys, the hub benchmark's
 * device simulator after a few hundred).
 */
export function generateEphemeral(): EphemeralKeyPair {
  return ephemeralFromPrivate(pooledRandomBytes(KEY_SIZE));
}

/** An ephemeral key pair from given private bytes (test vectors inject their ephemerals). */
export function ephemeralFromPrivate(raw: Uint8Array): EphemeralKeyPair {
  if (raw.length !== KEY_SIZE) throw new Error(`x25519: private key must be ${KEY_SIZE} bytes, got ${raw.length}`);
  const d = Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('base64url');
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d, x: JWK_X_PLACEHOLDER }, format: 'jwk' });
  // The private JWK carries the derived public half: no second KeyObject for it.
  return { privateKey, publicKey: Buffer.from(privateKey.export({ format: 'jwk' }).x!, 'base64url') };
}
