// Anti-replay sliding window (RFC 6479 as in wireguard-go replay/replay.go): a ring of 128 blocks of
// 64 bits, one block kept free, so counters up to 8128 behind the highest seen are still accepted once.
// Counters are exact JavaScript numbers (< 2^53); see constants.REJECT_AFTER_MESSAGES.
import { REPLAY_BLOCK_BITS, REPLAY_RING_BLOCKS, REPLAY_WINDOW_SIZE } from './constants.js';

const RING_WORDS = REPLAY_RING_BLOCKS * 2;
/**
 * Rings are cut from shared slabs of this many: a ring (1 KiB) of its own was an ArrayBuffer of its
 * own, one per keypair, every one of which the collector tracks and sweeps (a hub with 30,000
 * devices holds 60,000–90,000 keypairs and makes ~230 a second). A slab lives until its last ring
 * does; rings are cut in order, so a slab's keypairs were made within moments of each other.
 */
const SLAB_RINGS = 64;
let slab = new Uint32Array(0);
let slabUsed = SLAB_RINGS;

/** A zeroed ring (slab memory starts zeroed and no ring is handed out twice). */
function newRing(): Uint32Array {
  if (slabUsed === SLAB_RINGS) {
    slab = new Uint32Array(RING_WORDS * SLAB_RINGS);
    slabUsed = 0;
  }
  return slab.subarray(RING_WORDS * slabUsed, RING_WORDS * ++slabUsed);
}

export class ReplayFilter {
  private last = 0;
  // Each 64-bit block is two 32-bit words: [block * 2] holds bits 0–31, [block * 2 + 1] bits 32–63.
  private readonly ring = newRing();

  reset(): void {
    this.last = 0;
    this.ring.fill(0);
  }

  /**
   * Accepts `counter` once if it is below `limit` and not older than the window; must only be
   * called for packets that already authenticated, or forged counters would move the window.
   */
  validateCounter(counter: number, limit: number): boolean {
    if (!(counter < limit) || counter < 0 || !Number.isInteger(counter)) return false;
    const indexBlock = Math.floor(counter / REPLAY_BLOCK_BITS);
    if (counter > this.last) {
      // Moving forward: clear every block the window slides over (at most the whole ring).
      const current = Math.floor(this.last / REPLAY_BLOCK_BITS);
      const diff = Math.min(indexBlock - current, REPLAY_RING_BLOCKS);
      for (let i = 1; i <= diff; i++) {
        const block = (current + i) % REPLAY_RING_BLOCKS;
        this.ring[block * 2] = 0;
        this.ring[block * 2 + 1] = 0;
      }
      this.last = counter;
    } else if (this.last - counter > REPLAY_WINDOW_SIZE) {
      return false;
    }
    const bit = counter % REPLAY_BLOCK_BITS;
    const word = (indexBlock % REPLAY_RING_BLOCKS) * 2 + (bit >>> 5);
    const mask = 1 << (bit & 31);
    const old = this.ring[word]!;
    this.ring[word] = old | mask;
    return (old & mask) === 0;
  }
}
