// WireGuard's symmetric primitives (whitepaper §5.4): HASH = BLAKE2s-256, HMAC-BLAKE2s and the
// HKDF-style KDF1..3, MAC = keyed BLAKE2s-128, AEAD = ChaCha20-Poly1305 (RFC 8439) with the
// 4-zero-bytes ‖ LE64 counter nonce, XAEAD = XChaCha20-Poly1305 (cookie replies only).
import { timingSafeEqual } from 'node:crypto';
import { hchacha } from '@noble/ciphers/chacha.js';
import { absorbBlockInto, blake2s, blake2sFrom, prepareKey, scratchState, type Blake2sKeyState } from './blake2s.js';
import { openWithAd, sealWithAd } from './aead.js';
import { AEAD_TAG_SIZE } from './constants.js';

const EMPTY = new Uint8Array(0);
const BYTE_1 = Uint8Array.of(1);

const UNKEYED_256 = prepareKey(undefined, 32);
const HMAC_BLOCK = 64;
/** Where hash()/hmac() lay out their input: handshake inputs are a few hundred bytes at most. */
let scratch = new Uint8Array(1024);

/** Lays `parts` out one after another at the start of `scratch`; returns their total length. */
function gather(parts: readonly Uint8Array[]): number {
  let length = 0;
  for (const p of parts) length += p.length;
  if (length > scratch.length) scratch = new Uint8Array(length * 2);
  let at = 0;
  for (const p of parts) {
    scratch.set(p, at);
    at += p.length;
  }
  return length;
}

/**
 * BLAKE2s-256 of the concatenation of `parts`. In JavaScript (blake2s.ts) rather than
 * node:crypto: a handshake hashes a few dozen short inputs, and creating a native hash object
 * per input cost more than the compression itself (measured: 1.7 us vs 0.5 us).
 */
export function hash(...parts: Uint8Array[]): Buffer {
  const length = gather(parts);
  return blake2sFrom(UNKEYED_256, scratch, Buffer.allocUnsafe(32), length) as Buffer;
}

const ipad = new Uint8Array(HMAC_BLOCK);
const opad = new Uint8Array(HMAC_BLOCK);
const innerDigest = new Uint8Array(32);

/** HMAC-BLAKE2s with its key blocks compressed once, for several HMACs under one key (the KDF). */
interface HmacKey {
  inner: Blake2sKeyState;
  outer: Blake2sKeyState;
}

/**
 * The one prepared HMAC key: valid until the next prepareHmac(). Every use below finishes with a
 * key before preparing the next (hmac() inside kdf2/kdf3 completes before their own key is
 * prepared), and nothing re-enters, so one set of states serves every HMAC without allocating.
 */
const preparedInner = scratchState();
const preparedOuter = scratchState();
const preparedKey: HmacKey = { inner: preparedInner, outer: preparedOuter };

function prepareHmac(key: Uint8Array): HmacKey {
  const k = key.length > HMAC_BLOCK ? hash(key) : key;
  ipad.fill(0x36);
  opad.fill(0x5c);
  for (let i = 0; i < k.length; i++) {
    ipad[i]! ^= k[i]!;
    opad[i]! ^= k[i]!;
  }
  absorbBlockInto(UNKEYED_256, ipad, preparedInner);
  absorbBlockInto(UNKEYED_256, opad, preparedOuter);
  return preparedKey;
}

function hmacWith(key: HmacKey, parts: readonly Uint8Array[]): Buffer {
  const length = gather(parts);
  blake2sFrom(key.inner, scratch, innerDigest, length);
  return blake2sFrom(key.outer, innerDigest, Buffer.allocUnsafe(32)) as Buffer;
}

/** HMAC-BLAKE2s (RFC 2104, 64-byte block, 32-byte output). */
export function hmac(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const prepared = prepareHmac(key);
  if (parts.some((p) => p.length > 0)) return hmacWith(prepared, parts);
  // An empty message leaves the ipad block as the last one: it must be compressed as final.
  blake2sFrom(UNKEYED_256, ipad, innerDigest);
  return blake2sFrom(prepared.outer, innerDigest, Buffer.allocUnsafe(32)) as Buffer;
}

/** KDF1: τ1 = HMAC(HMAC(key, input), 0x1). */
export function kdf1(key: Uint8Array, input: Uint8Array = EMPTY): Buffer {
  const t0 = hmac(key, input);
  return hmac(t0, BYTE_1);
}

const BYTE_2 = Uint8Array.of(2);
const BYTE_3 = Uint8Array.of(3);

/** KDF2: (τ1, τ2) with τ2 = HMAC(τ0, τ1 ‖ 0x2). */
export function kdf2(key: Uint8Array, input: Uint8Array = EMPTY): [Buffer, Buffer] {
  const t0 = prepareHmac(hmac(key, input));
  const t1 = hmacWith(t0, [BYTE_1]);
  const t2 = hmacWith(t0, [t1, BYTE_2]);
  return [t1, t2];
}

/** KDF3: (τ1, τ2, τ3) with τ3 = HMAC(τ0, τ2 ‖ 0x3). */
export function kdf3(key: Uint8Array, input: Uint8Array = EMPTY): [Buffer, Buffer, Buffer] {
  const t0 = prepareHmac(hmac(key, input));
  const t1 = hmacWith(t0, [BYTE_1]);
  const t2 = hmacWith(t0, [t1, BYTE_2]);
  const t3 = hmacWith(t0, [t2, BYTE_3]);
  return [t1, t2, t3];
}

/**
 * MAC = keyed BLAKE2s with a 16-byte digest. Not a truncated BLAKE2s-256: the digest length is
 * part of BLAKE2's parameter block, and node:crypto offers neither keys nor short digests.
 */
export function mac(key: Uint8Array, data: Uint8Array): Uint8Array {
  return blake2s(data, 16, key);
}

/** A MAC key whose key block is compressed once (mac1 keys, the cookie secret): see blake2s.ts. */
export type MacKey = Blake2sKeyState;

export function prepareMacKey(key: Uint8Array): MacKey {
  return prepareKey(key, 16);
}

/** MAC with a prepared key, into `out` when given (the same bytes as `mac(key, data)`). */
export function macWith(key: MacKey, data: Uint8Array, out?: Uint8Array): Uint8Array {
  return blake2sFrom(key, data, out);
}

/** Constant-time comparison of two equally long byte strings (false when lengths differ). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The 12-byte ChaCha20-Poly1305 nonce: 4 zero bytes, then the counter as 64-bit little-endian. */
export function counterNonce(counter: number, into: Buffer = Buffer.alloc(12)): Buffer {
  into.writeUInt32LE(0, 0);
  into.writeUInt32LE(counter >>> 0, 4);
  into.writeUInt32LE(Math.floor(counter / 0x1_0000_0000), 8);
  return into;
}

/** AEAD seal: returns ciphertext ‖ 16-byte tag (libsodium where it loaded, see aead.ts). */
export const aeadSeal: (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array) => Buffer = sealWithAd;

/** AEAD open of ciphertext ‖ tag; undefined when the tag does not verify (never throws). */
export const aeadOpen: (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array) => Buffer | undefined = openWithAd;

// XChaCha20-Poly1305 = ChaCha20-Poly1305 under the HChaCha20 subkey of (key, nonce[0..16]) with
// nonce 0⁴ ‖ nonce[16..24] (draft-irtf-cfrg-xchacha §2.3). HChaCha20 from @noble/ciphers, the AEAD
// from node:crypto: a cookie reply (one per flood datagram under load) costs ~4 us instead of ~10.
const SIGMA_WORDS = Uint32Array.of(0x61707865, 0x3320646e, 0x79622d32, 0x6b206574); // "expand 32-byte k"
const keyWords = new Uint32Array(8);
const nonceWords = new Uint32Array(4);
const subkeyWords = new Uint32Array(8);
const xNonce = Buffer.alloc(12);

function readWordsLE(into: Uint32Array, bytes: Uint8Array, offset: number): void {
  for (let i = 0, o = offset; i < into.length; i++, o += 4) {
    into[i] = bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24);
  }
}

function xSubkey(key: Uint8Array, nonce24: Uint8Array): Buffer {
  readWordsLE(keyWords, key, 0);
  readWordsLE(nonceWords, nonce24, 0);
  hchacha(SIGMA_WORDS, keyWords, nonceWords, subkeyWords);
  const subkey = Buffer.allocUnsafe(32);
  for (let i = 0; i < 8; i++) subkey.writeUInt32LE(subkeyWords[i]!, i * 4);
  xNonce.fill(0, 0, 4);
  xNonce.set(nonce24.subarray(16, 24), 4);
  return subkey;
}

/** XAEAD seal (XChaCha20-Poly1305, 24-byte nonce): ciphertext ‖ tag. */
export function xaeadSeal(key: Uint8Array, nonce24: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  return aeadSeal(xSubkey(key, nonce24), xNonce, plaintext, ad);
}

/** XAEAD open; undefined when the tag does not verify. */
export function xaeadOpen(
  key: Uint8Array,
  nonce24: Uint8Array,
  sealed: Uint8Array,
  ad: Uint8Array,
): Uint8Array | undefined {
  if (sealed.length < AEAD_TAG_SIZE) return undefined;
  return aeadOpen(xSubkey(key, nonce24), xNonce, sealed, ad);
}
