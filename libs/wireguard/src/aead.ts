// The ChaCha20-Poly1305 (RFC 8439) of transport data. libsodium through sodium-native (prebuilt for
// Linux x64/arm64, macOS and Windows; npm runs no build) seals and opens with one native call into
// buffers we own. node:crypto needs a cipher object per packet (createCipheriv, update, final, tag),
// which costs 3.5–6 µs per packet of 0–1424 bytes against libsodium's 0.4–1.6 µs, and leaves a
// native object per packet for the garbage collector (bench/wireguard.bench.ts, "transport AEAD").
// Where sodium-native cannot load (32-bit ARM Linux has no prebuild; a bundle shipped without
// node_modules) node:crypto does the same job. Both are checked against each other on load.
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { AEAD_TAG_SIZE } from './constants.js';
import { requireSodiumNative } from './sodium-native.js';

/** A session key in the form one implementation uses (raw bytes for libsodium, a KeyObject for node). */
export type AeadKey = { readonly __aeadKey: unique symbol };

export interface TransportAead {
  readonly name: 'libsodium' | 'node:crypto';
  importKey(key: Uint8Array): AeadKey;
  /**
   * Writes the ciphertext of `packet` followed by `padding` zero bytes, then the 16-byte tag, to
   * `out` from `at` (packet.length + padding + 16 bytes). `packet` is not modified.
   */
  seal(key: AeadKey, nonce: Uint8Array, packet: Uint8Array, padding: number, out: Buffer, at: number): void;
  /** The plaintext of `sealed` (ciphertext ‖ tag) in a new buffer, or undefined if the tag does not verify. Never throws. */
  open(key: AeadKey, nonce: Uint8Array, sealed: Uint8Array): Buffer | undefined;
}

const ZERO_PADDING = Buffer.alloc(16);

export const nodeAead: TransportAead = {
  name: 'node:crypto',
  importKey: (key) => createSecretKey(key) as unknown as AeadKey,
  seal(key, nonce, packet, padding, out, at) {
    // createCipheriv copies the nonce, so callers may reuse one buffer for every call.
    const cipher = createCipheriv('chacha20-poly1305', key as unknown as KeyObject, nonce, { authTagLength: AEAD_TAG_SIZE });
    // Two updates instead of copying the packet into a padded buffer first.
    at += cipher.update(packet).copy(out, at);
    if (padding > 0) at += cipher.update(ZERO_PADDING.subarray(0, padding)).copy(out, at);
    at += cipher.final().copy(out, at);
    cipher.getAuthTag().copy(out, at);
  },
  open(key, nonce, sealed) {
    if (sealed.length < AEAD_TAG_SIZE) return undefined;
    const tagAt = sealed.length - AEAD_TAG_SIZE;
    try {
      const decipher = createDecipheriv('chacha20-poly1305', key as unknown as KeyObject, nonce, { authTagLength: AEAD_TAG_SIZE });
      decipher.setAuthTag(sealed.subarray(tagAt));
      const plain = decipher.update(sealed.subarray(0, tagAt));
      decipher.final();
      return plain;
    } catch {
      return undefined;
    }
  },
};

/** The two functions of sodium-native used here (its own argument order: output first). */
interface Sodium {
  crypto_aead_chacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array): number;
  crypto_aead_chacha20poly1305_ietf_decrypt(m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array): number;
}

function libsodiumAead(sodium: Sodium): TransportAead {
  return {
    name: 'libsodium',
    importKey: (key) => Buffer.from(key) as unknown as AeadKey,
    seal(key, nonce, packet, padding, out, at) {
      // In place: libsodium encrypts a buffer onto itself and appends the tag.
      const length = packet.length + padding;
      out.set(packet, at);
      if (padding > 0) out.fill(0, at + packet.length, at + length);
      sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out.subarray(at, at + length + AEAD_TAG_SIZE), out.subarray(at, at + length), null, null, nonce, key as unknown as Buffer);
    },
    open(key, nonce, sealed) {
      if (sealed.length < AEAD_TAG_SIZE) return undefined;
      // A fresh buffer: the caller hands the packet on and may keep it.
      const plain = Buffer.allocUnsafe(sealed.length - AEAD_TAG_SIZE);
      try {
        sodium.crypto_aead_chacha20poly1305_ietf_decrypt(plain, null, sealed, null, nonce, key as unknown as Buffer);
        return plain;
      } catch {
        return undefined; // the tag did not verify (libsodium has zeroed `plain`)
      }
    },
  };
}

/** True when `candidate` seals and opens exactly like node:crypto (a few sizes, one forged tag). */
function agreesWithNode(candidate: TransportAead): boolean {
  const raw = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) raw[i] = (i * 7 + 3) & 0xff;
  const nonce = Buffer.from('000000000102030405060708', 'hex');
  const ours = candidate.importKey(raw);
  const theirs = nodeAead.importKey(raw);
  for (const [size, padding] of [[0, 0], [20, 12], [1420, 0]] as const) {
    const packet = Buffer.alloc(size, 0x5a);
    const a = Buffer.alloc(4 + size + padding + AEAD_TAG_SIZE);
    const b = Buffer.alloc(a.length);
    candidate.seal(ours, nonce, packet, padding, a, 4);
    nodeAead.seal(theirs, nonce, packet, padding, b, 4);
    if (!a.equals(b)) return false;
    const plain = candidate.open(ours, nonce, a.subarray(4));
    if (!plain || !plain.equals(Buffer.concat([packet, Buffer.alloc(padding)]))) return false;
    a[a.length - 1]! ^= 1;
    if (candidate.open(ours, nonce, a.subarray(4)) !== undefined) return false;
  }
  return true;
}

function loadSodium(): Sodium | undefined {
  const sodium = requireSodiumNative<Sodium>();
  if (!sodium) return undefined;
  try {
    return agreesWithNode(libsodiumAead(sodium)) && handshakeAeadAgrees(sodium) ? sodium : undefined;
  } catch {
    return undefined; // a sodium-native whose functions throw where they should answer
  }
}

// The handshake's AEAD (whitepaper §5.4: AEAD(key, 0, plaintext, hash)) carries associated data,
// three seals or opens per handshake. node:crypto's cipher object per call cost ~7 µs each
// against ~1.5 µs for libsodium's one call (bench/wireguard.bench.ts, "handshake responder").

function nodeSealWithAd(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_SIZE });
  if (ad.length > 0) c.setAAD(ad, { plaintextLength: plaintext.length });
  const body = c.update(plaintext);
  c.final();
  return Buffer.concat([body, c.getAuthTag()]);
}

function nodeOpenWithAd(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Buffer | undefined {
  const split = sealed.length - AEAD_TAG_SIZE;
  try {
    const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_SIZE });
    if (ad.length > 0) d.setAAD(ad, { plaintextLength: split });
    d.setAuthTag(sealed.subarray(split));
    const plain = d.update(sealed.subarray(0, split));
    d.final(); // throws when the tag is wrong; the plaintext above is then discarded
    return plain;
  } catch {
    return undefined;
  }
}

/** True when libsodium's seal and open with associated data match node:crypto's (one forged tag). */
function handshakeAeadAgrees(sodium: Sodium): boolean {
  const key = Buffer.alloc(32, 0x42);
  const nonce = Buffer.alloc(12);
  const ad = Buffer.alloc(32, 0x17);
  for (const size of [0, 32, 48]) {
    const plain = Buffer.alloc(size, 0x5a);
    const ours = Buffer.alloc(size + AEAD_TAG_SIZE);
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(ours, plain, ad, null, nonce, key);
    if (!ours.equals(nodeSealWithAd(key, nonce, plain, ad))) return false;
    const opened = Buffer.alloc(size);
    sodium.crypto_aead_chacha20poly1305_ietf_decrypt(opened, null, ours, ad, nonce, key);
    if (!opened.equals(plain)) return false;
    ours[ours.length - 1]! ^= 1;
    try {
      sodium.crypto_aead_chacha20poly1305_ietf_decrypt(opened, null, ours, ad, nonce, key);
      return false; // a forged tag opened
    } catch {
      // refused, as it must be
    }
  }
  return true;
}

const sodium = loadSodium();

/** libsodium's when it loaded and agrees with node:crypto, else undefined. */
export const libsodium: TransportAead | undefined = sodium && libsodiumAead(sodium);

/** ChaCha20-Poly1305 seal with associated data: ciphertext ‖ 16-byte tag in a new buffer. */
export function sealWithAd(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Buffer {
  if (!sodium) return nodeSealWithAd(key, nonce, plaintext, ad);
  const out = Buffer.allocUnsafe(plaintext.length + AEAD_TAG_SIZE);
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, plaintext, ad.length > 0 ? ad : null, null, nonce, key);
  return out;
}

/** Open of ciphertext ‖ tag with associated data; undefined when the tag does not verify. Never throws. */
export function openWithAd(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Buffer | undefined {
  if (sealed.length < AEAD_TAG_SIZE || key.length !== 32 || nonce.length !== 12) return undefined;
  if (!sodium) return nodeOpenWithAd(key, nonce, sealed, ad);
  const plain = Buffer.allocUnsafe(sealed.length - AEAD_TAG_SIZE);
  try {
    sodium.crypto_aead_chacha20poly1305_ietf_decrypt(plain, null, sealed, ad.length > 0 ? ad : null, nonce, key);
    return plain;
  } catch {
    return undefined; // the tag did not verify
  }
}

/** What devices use unless told otherwise. */
export const defaultTransportAead: TransportAead = libsodium ?? nodeAead;
