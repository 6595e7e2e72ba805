// BLAKE2s (RFC 7693) with keys and digest lengths 1..32, for WireGuard's MAC (keyed, 16 bytes).
// node:crypto has unkeyed BLAKE2s-256 only. A keyed hash starts by compressing the padded key as a
// block of its own, so the state after that block is fixed per key: `prepareMacKey` computes it
// once, and mac1 of a handshake message (every datagram of a flood) costs two compressions, not
// three plus the setup a general-purpose library does per call.

const IV = Uint32Array.of(
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
);

// RFC 7693 §2.7 SIGMA, one row of 16 word indices per round (BLAKE2s runs 10 rounds).
const SIGMA = Uint8Array.of(
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3,
  11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4,
  7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8,
  9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13,
  2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9,
  12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11,
  13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10,
  6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5,
  10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0,
);

const BLOCK = 64;
// Scratch shared by every call: JavaScript is single-threaded and nothing here re-enters.
const m = new Uint32Array(16);
const lastBlock = new Uint8Array(BLOCK);

/**
 * F (RFC 7693 §3.2) on `h` with the 64-byte block at `block[offset]`; `t` counts bytes so far.
 * The working vector lives in locals (not an array): V8 keeps them in registers, ~4x faster.
 */
function compress(h: Uint32Array, block: Uint8Array, offset: number, t: number, last: boolean): void {
  for (let i = 0, o = offset; i < 16; i++, o += 4) {
    m[i] = block[o]! | (block[o + 1]! << 8) | (block[o + 2]! << 16) | (block[o + 3]! << 24);
  }
  let v0 = h[0]! | 0, v1 = h[1]! | 0, v2 = h[2]! | 0, v3 = h[3]! | 0;
  let v4 = h[4]! | 0, v5 = h[5]! | 0, v6 = h[6]! | 0, v7 = h[7]! | 0;
  let v8 = IV[0]! | 0, v9 = IV[1]! | 0, v10 = IV[2]! | 0, v11 = IV[3]! | 0;
  let v12 = (IV[4]! ^ t) | 0, v13 = IV[5]! | 0, v14 = (last ? ~IV[6]! : IV[6]!) | 0, v15 = IV[7]! | 0;
  // Messages here stay far below 2^32 bytes: the high word of the counter (v13) stays as is.
  for (let s = 0; s < 160; s += 16) {
    v0 = (v0 + v4 + m[SIGMA[s]!]!) | 0; v12 ^= v0; v12 = (v12 >>> 16) | (v12 << 16);
    v8 = (v8 + v12) | 0; v4 ^= v8; v4 = (v4 >>> 12) | (v4 << 20);
    v0 = (v0 + v4 + m[SIGMA[s + 1]!]!) | 0; v12 ^= v0; v12 = (v12 >>> 8) | (v12 << 24);
    v8 = (v8 + v12) | 0; v4 ^= v8; v4 = (v4 >>> 7) | (v4 << 25);
    v1 = (v1 + v5 + m[SIGMA[s + 2]!]!) | 0; v13 ^= v1; v13 = (v13 >>> 16) | (v13 << 16);
    v9 = (v9 + v13) | 0; v5 ^= v9; v5 = (v5 >>> 12) | (v5 << 20);
    v1 = (v1 + v5 + m[SIGMA[s + 3]!]!) | 0; v13 ^= v1; v13 = (v13 >>> 8) | (v13 << 24);
    v9 = (v9 + v13) | 0; v5 ^= v9; v5 = (v5 >>> 7) | (v5 << 25);
    v2 = (v2 + v6 + m[SIGMA[s + 4]!]!) | 0; v14 ^= v2; v14 = (v14 >>> 16) | (v14 << 16);
    v10 = (v10 + v14) | 0; v6 ^= v10; v6 = (v6 >>> 12) | (v6 << 20);
    v2 = (v2 + v6 + m[SIGMA[s + 5]!]!) | 0; v14 ^= v2; v14 = (v14 >>> 8) | (v14 << 24);
    v10 = (v10 + v14) | 0; v6 ^= v10; v6 = (v6 >>> 7) | (v6 << 25);
    v3 = (v3 + v7 + m[SIGMA[s + 6]!]!) | 0; v15 ^= v3; v15 = (v15 >>> 16) | (v15 << 16);
    v11 = (v11 + v15) | 0; v7 ^= v11; v7 = (v7 >>> 12) | (v7 << 20);
    v3 = (v3 + v7 + m[SIGMA[s + 7]!]!) | 0; v15 ^= v3; v15 = (v15 >>> 8) | (v15 << 24);
    v11 = (v11 + v15) | 0; v7 ^= v11; v7 = (v7 >>> 7) | (v7 << 25);
    v0 = (v0 + v5 + m[SIGMA[s + 8]!]!) | 0; v15 ^= v0; v15 = (v15 >>> 16) | (v15 << 16);
    v10 = (v10 + v15) | 0; v5 ^= v10; v5 = (v5 >>> 12) | (v5 << 20);
    v0 = (v0 + v5 + m[SIGMA[s + 9]!]!) | 0; v15 ^= v0; v15 = (v15 >>> 8) | (v15 << 24);
    v10 = (v10 + v15) | 0; v5 ^= v10; v5 = (v5 >>> 7) | (v5 << 25);
    v1 = (v1 + v6 + m[SIGMA[s + 10]!]!) | 0; v12 ^= v1; v12 = (v12 >>> 16) | (v12 << 16);
    v11 = (v11 + v12) | 0; v6 ^= v11; v6 = (v6 >>> 12) | (v6 << 20);
    v1 = (v1 + v6 + m[SIGMA[s + 11]!]!) | 0; v12 ^= v1; v12 = (v12 >>> 8) | (v12 << 24);
    v11 = (v11 + v12) | 0; v6 ^= v11; v6 = (v6 >>> 7) | (v6 << 25);
    v2 = (v2 + v7 + m[SIGMA[s + 12]!]!) | 0; v13 ^= v2; v13 = (v13 >>> 16) | (v13 << 16);
    v8 = (v8 + v13) | 0; v7 ^= v8; v7 = (v7 >>> 12) | (v7 << 20);
    v2 = (v2 + v7 + m[SIGMA[s + 13]!]!) | 0; v13 ^= v2; v13 = (v13 >>> 8) | (v13 << 24);
    v8 = (v8 + v13) | 0; v7 ^= v8; v7 = (v7 >>> 7) | (v7 << 25);
    v3 = (v3 + v4 + m[SIGMA[s + 14]!]!) | 0; v14 ^= v3; v14 = (v14 >>> 16) | (v14 << 16);
    v9 = (v9 + v14) | 0; v4 ^= v9; v4 = (v4 >>> 12) | (v4 << 20);
    v3 = (v3 + v4 + m[SIGMA[s + 15]!]!) | 0; v14 ^= v3; v14 = (v14 >>> 8) | (v14 << 24);
    v9 = (v9 + v14) | 0; v4 ^= v9; v4 = (v4 >>> 7) | (v4 << 25);
  }
  h[0] = h[0]! ^ v0 ^ v8;
  h[1] = h[1]! ^ v1 ^ v9;
  h[2] = h[2]! ^ v2 ^ v10;
  h[3] = h[3]! ^ v3 ^ v11;
  h[4] = h[4]! ^ v4 ^ v12;
  h[5] = h[5]! ^ v5 ^ v13;
  h[6] = h[6]! ^ v6 ^ v14;
  h[7] = h[7]! ^ v7 ^ v15;
}

/** The chaining state after the parameter block and, for a keyed hash, the key block. */
export interface Blake2sKeyState {
  readonly h: Uint32Array;
  /** Bytes already compressed (64 when keyed, else 0). */
  readonly offset: number;
  readonly outLen: number;
}

/** Prepares BLAKE2s with an optional key (0..32 bytes) and a digest of `outLen` (1..32) bytes. */
export function prepareKey(key: Uint8Array | undefined, outLen: number): Blake2sKeyState {
  const keyLen = key?.length ?? 0;
  if (outLen < 1 || outLen > 32) throw new Error(`blake2s: digest length must be 1..32, got ${outLen}`);
  if (keyLen > 32) throw new Error(`blake2s: key length must be 0..32, got ${keyLen}`);
  const h = IV.slice();
  h[0] = h[0]! ^ 0x01010000 ^ (keyLen << 8) ^ outLen; // parameter block: fanout 1, depth 1
  if (keyLen === 0) return { h, offset: 0, outLen };
  const block = new Uint8Array(BLOCK);
  block.set(key!);
  compress(h, block, 0, BLOCK, false);
  return { h, offset: BLOCK, outLen };
}

/** A state that absorbBlockInto() overwrites: one per use that must not outlive the next. */
export interface Blake2sScratchState {
  h: Uint32Array;
  offset: number;
  outLen: number;
}

export function scratchState(): Blake2sScratchState {
  return { h: new Uint32Array(8), offset: 0, outLen: 32 };
}

/**
 * The state after compressing one more full, non-final 64-byte block (HMAC's ipad/opad block),
 * written into `into`: a handshake prepares ~20 HMAC keys, and a fresh state for each (a typed
 * array and an object) was a quarter of what the hub allocated at 30,000 devices.
 */
export function absorbBlockInto(state: Blake2sKeyState, block: Uint8Array, into: Blake2sScratchState): Blake2sKeyState {
  into.h.set(state.h);
  compress(into.h, block, 0, state.offset + BLOCK, false);
  into.offset = state.offset + BLOCK;
  into.outLen = state.outLen;
  return into;
}

const working = new Uint32Array(8);

/**
 * BLAKE2s of the first `length` bytes of `data` (all of it by default) from a prepared state, into
 * `out` (a fresh array of outLen bytes by default). No view of `data` is made: callers hash a
 * prefix of a shared scratch buffer.
 */
export function blake2sFrom(state: Blake2sKeyState, data: Uint8Array, out: Uint8Array = new Uint8Array(state.outLen), length = data.length): Uint8Array {
  const h = working;
  h.set(state.h);
  let t = state.offset;
  let at = 0;
  // Every block but the last is compressed as is; the last (possibly empty for unkeyed input,
  // padded with zeros) carries the final flag.
  while (length - at > BLOCK) {
    t += BLOCK;
    compress(h, data, at, t, false);
    at += BLOCK;
  }
  const rest = length - at;
  if (rest > 0 || state.offset === 0) {
    lastBlock.fill(0);
    for (let i = 0; i < rest; i++) lastBlock[i] = data[at + i]!;
    compress(h, lastBlock, 0, t + rest, true);
  } else {
    // A keyed hash of empty input: the key block itself is the last one (RFC 7693 §3.3).
    throw new Error('blake2s: keyed hash of empty input is not used by WireGuard');
  }
  for (let i = 0; i < state.outLen; i++) out[i] = h[i >>> 2]! >>> (8 * (i & 3));
  return out;
}

/** One-shot BLAKE2s; key optional, digest of `outLen` bytes. */
export function blake2s(data: Uint8Array, outLen = 32, key?: Uint8Array): Uint8Array {
  if (key && key.length > 0 && data.length === 0) return blake2sKeyOnly(key, outLen);
  return blake2sFrom(prepareKey(key, outLen), data);
}

function blake2sKeyOnly(key: Uint8Array, outLen: number): Uint8Array {
  const h = IV.slice();
  h[0] = h[0]! ^ 0x01010000 ^ (key.length << 8) ^ outLen;
  const block = new Uint8Array(BLOCK);
  block.set(key);
  compress(h, block, 0, BLOCK, true);
  const out = new Uint8Array(outLen);
  for (let i = 0; i < outLen; i++) out[i] = h[i >>> 2]! >>> (8 * (i & 3));
  return out;
}
