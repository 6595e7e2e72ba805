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
const v = new Uint32Array(16);
const lastBlock = new Uint8Array(BLOCK);

function g(a: number, b: number, c: number, d: number, x: number, y: number): void {
  v[a] = (v[a]! + v[b]! + x) | 0;
  let t = v[d]! ^ v[a]!;
  v[d] = (t >>> 16) | (t << 16);
  v[c] = (v[c]! + v[d]!) | 0;
  t = v[b]! ^ v[c]!;
  v[b] = (t >>> 12) | (t << 20);
  v[a] = (v[a]! + v[b]! + y) | 0;
  t = v[d]! ^ v[a]!;
  v[d] = (t >>> 8) | (t << 24);
  v[c] = (v[c]! + v[d]!) | 0;
  t = v[b]! ^ v[c]!;
  v[b] = (t >>> 7) | (t << 25);
}

/** F (RFC 7693 §3.2) on `h` with the 64-byte block at `block[offset]`; `t` counts bytes so far. */
function compress(h: Uint32Array, block: Uint8Array, offset: number, t: number, last: boolean): void {
  for (let i = 0, o = offset; i < 16; i++, o += 4) {
    m[i] = block[o]! | (block[o + 1]! << 8) | (block[o + 2]! << 16) | (block[o + 3]! << 24);
  }
  for (let i = 0; i < 8; i++) {
    v[i] = h[i]!;
    v[i + 8] = IV[i]!;
  }
  v[12]! ^= t; // messages here stay far below 2^32 bytes: the high counter word stays zero
  if (last) v[14] = ~v[14]!;
  for (let r = 0; r < 10; r++) {
    const s = r * 16;
    g(0, 4, 8, 12, m[SIGMA[s]!]!, m[SIGMA[s + 1]!]!);
    g(1, 5, 9, 13, m[SIGMA[s + 2]!]!, m[SIGMA[s + 3]!]!);
    g(2, 6, 10, 14, m[SIGMA[s + 4]!]!, m[SIGMA[s + 5]!]!);
    g(3, 7, 11, 15, m[SIGMA[s + 6]!]!, m[SIGMA[s + 7]!]!);
    g(0, 5, 10, 15, m[SIGMA[s + 8]!]!, m[SIGMA[s + 9]!]!);
    g(1, 6, 11, 12, m[SIGMA[s + 10]!]!, m[SIGMA[s + 11]!]!);
    g(2, 7, 8, 13, m[SIGMA[s + 12]!]!, m[SIGMA[s + 13]!]!);
    g(3, 4, 9, 14, m[SIGMA[s + 14]!]!, m[SIGMA[s + 15]!]!);
  }
  for (let i = 0; i < 8; i++) h[i] = h[i]! ^ v[i]! ^ v[i + 8]!;
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

const working = new Uint32Array(8);

/** BLAKE2s of `data` from a prepared state, into `out` (a fresh array of outLen bytes by default). */
export function blake2sFrom(state: Blake2sKeyState, data: Uint8Array, out: Uint8Array = new Uint8Array(state.outLen)): Uint8Array {
  const h = working;
  h.set(state.h);
  let t = state.offset;
  let at = 0;
  // Every block but the last is compressed as is; the last (possibly empty for unkeyed input,
  // padded with zeros) carries the final flag.
  while (data.length - at > BLOCK) {
    t += BLOCK;
    compress(h, data, at, t, false);
    at += BLOCK;
  }
  const rest = data.length - at;
  if (rest > 0 || state.offset === 0) {
    lastBlock.fill(0);
    lastBlock.set(data.subarray(at), 0);
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
