// X25519 Diffie-Hellman (RFC 7748), WireGuard's DH and DH-Generate: libsodium through
// sodium-native when it loads (one native call into buffers we own), else node:crypto KeyObjects.
// A shared secret of all zeros (a low-order peer point) counts as failure, as in wireguard-go.
// A responder handshake needs DH-Generate, an import of the initiator's ephemeral and three DHs:
// measured 30 + 6 + 3 x 35 us through node:crypto (OpenSSL 3 builds a key object and a derive
// context per call) against 15 + 0 + 3 x 33 us through libsodium, and no native object per key.
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import { KEY_SIZE } from './constants.js';
import { pooledRandomBytes } from './random-pool.js';
import { requireSodiumNative } from './sodium-native.js';

// PKCS#8 prefix for a raw X25519 private key. DER import is slow (~2k/s) but only used for static
// keys; ephemerals and public keys come in through JWK (~10k/s and ~100k/s), the hot path.
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** A private key in the form the loaded implementation uses (raw bytes for libsodium, a KeyObject for node). */
export type X25519PrivateKey = { readonly __x25519Private: unique symbol };
/** A public key in the form the loaded implementation uses. */
export type X25519PublicKey = { readonly __x25519Public: unique symbol };

/** libsodium's keys: the raw 32 bytes, tagged so that rawPublicKey can tell a private key. */
interface RawKey {
  readonly private: boolean;
  readonly bytes: Buffer;
}

/** The two functions of sodium-native used here (output first; both throw on failure). */
interface SodiumX25519 {
  crypto_scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array): void;
  crypto_scalarmult_base(q: Uint8Array, n: Uint8Array): void;
}

/** sodium-native when it loads and gives RFC 7748 §6.1's answers; undefined: node:crypto does it all. */
function loadSodium(): SodiumX25519 | undefined {
  const sodium = requireSodiumNative<SodiumX25519>();
  if (!sodium) return undefined;
  try {
    const alice = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
    const bobPublic = Buffer.from('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f', 'hex');
    const alicePublic = Buffer.alloc(KEY_SIZE);
    const shared = Buffer.alloc(KEY_SIZE);
    sodium.crypto_scalarmult_base(alicePublic, alice);
    sodium.crypto_scalarmult(shared, alice, bobPublic);
    const agrees =
      alicePublic.toString('hex') === '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a' &&
      shared.toString('hex') === '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    return agrees ? sodium : undefined;
  } catch {
    return undefined; // a sodium-native whose functions throw where they should answer
  }
}

const sodium = loadSodium();

/** Which implementation computes X25519 in this process. */
export const x25519Implementation: 'libsodium' | 'node:crypto' = sodium ? 'libsodium' : 'node:crypto';

const rawKey = (isPrivate: boolean, bytes: Uint8Array) => ({ private: isPrivate, bytes: Buffer.from(bytes) }) as RawKey;

/** Imports a raw 32-byte private scalar (clamped or not: X25519 clamps internally). */
export function importPrivateKey(raw: Uint8Array): X25519PrivateKey {
  if (raw.length !== KEY_SIZE) throw new Error(`x25519: private key must be ${KEY_SIZE} bytes, got ${raw.length}`);
  if (sodium) return rawKey(true, raw) as unknown as X25519PrivateKey;
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, raw]), format: 'der', type: 'pkcs8' }) as unknown as X25519PrivateKey;
}

/** Imports a raw 32-byte public key; undefined when it is not 32 bytes. Never throws. */
export function importPublicKey(raw: Uint8Array): X25519PublicKey | undefined {
  if (raw.length !== KEY_SIZE) return undefined;
  // A copy: the caller's bytes are often a datagram's, reused for the next one.
  if (sodium) return rawKey(false, raw) as unknown as X25519PublicKey;
  try {
    const x = Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('base64url');
    return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' }) as unknown as X25519PublicKey;
  } catch {
    return undefined;
  }
}

/** Raw 32 bytes of a public KeyObject, or of the public half of a private one. */
export function rawPublicKey(key: X25519PrivateKey | X25519PublicKey): Buffer {
  if (sodium) {
    const raw = key as unknown as RawKey;
    if (!raw.private) return Buffer.from(raw.bytes);
    const pub = Buffer.alloc(KEY_SIZE);
    sodium.crypto_scalarmult_base(pub, raw.bytes);
    return pub;
  }
  const object = key as unknown as KeyObject;
  const pub = object.type === 'private' ? createPublicKey(object) : object;
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
    if (sodium) {
      // libsodium refuses an all-zero result itself (it throws here); the check below stays the rule.
      shared = Buffer.allocUnsafe(KEY_SIZE);
      sodium.crypto_scalarmult(shared, (privateKey as unknown as RawKey).bytes, (publicKey as unknown as RawKey).bytes);
    } else {
      shared = diffieHellman({ privateKey: privateKey as unknown as KeyObject, publicKey: publicKey as unknown as KeyObject });
    }
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
 * DH-Generate for ephemeral keys: 32 bytes from the CSPRNG, the public half from libsodium's
 * fixed-base multiplication, or (node:crypto) imported as a JWK (~0.1 ms). Not
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
  if (sodium) {
    const privateKey = rawKey(true, raw);
    const publicKey = Buffer.allocUnsafe(KEY_SIZE);
    sodium.crypto_scalarmult_base(publicKey, privateKey.bytes);
    return { privateKey: privateKey as unknown as X25519PrivateKey, publicKey };
  }
  const d = Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('base64url');
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d, x: JWK_X_PLACEHOLDER }, format: 'jwk' });
  // The private JWK carries the derived public half: no second KeyObject for it.
  return { privateKey: privateKey as unknown as X25519PrivateKey, publicKey: Buffer.from(privateKey.export({ format: 'jwk' }).x!, 'base64url') };
}
