// CSPRNG bytes drawn 4 KiB at a time: one randomFillSync serves ~1000 handshake indices or ~128
// ephemeral keys, where a randomBytes call each cost ~2 µs (a few per handshake). A handed-out
// range is copied and wiped in the pool, so the copy is the only one left.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let at = POOL_BYTES;

/** `length` fresh random bytes (a new Buffer), like crypto.randomBytes. */
export function pooledRandomBytes(length: number): Buffer {
  if (length > POOL_BYTES) return randomFillSync(Buffer.alloc(length));
  if (at + length > POOL_BYTES) {
    randomFillSync(pool);
    at = 0;
  }
  const bytes = Buffer.from(pool.subarray(at, at + length));
  pool.fill(0, at, at + length);
  at += length;
  return bytes;
}
