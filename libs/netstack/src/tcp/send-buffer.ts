// Bounded TCP send buffer (RFC 9293 §3.8.6 "send buffer"): bytes the application wrote, kept from
// SND.UNA until acknowledged so any range can be (re)transmitted. Data is copied into fixed 64 KiB
// blocks, so memory follows what is queued and an idle connection holds no block at all. Blocks
// freed by acknowledgments go to a small process-wide pool: a request/response connection empties
// its buffer on every exchange, and a fresh 64 KiB allocation each time is what the GC then pays for.

const BLOCK_BYTES = 64 * 1024;
/** Free blocks kept for reuse (4 MiB); beyond that, freed blocks are left to the GC. */
const POOL_BLOCKS = 64;
const pool: Buffer[] = [];

function takeBlock(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafeSlow(BLOCK_BYTES);
}

function giveBlock(block: Buffer): void {
  if (pool.length < POOL_BLOCKS) pool.push(block);
}

export class SendBuffer {
  private readonly blocks: Buffer[] = [];
  /** Stream offset of blocks[0][0]. */
  private base = 0;
  /** Stream offset of the first byte not yet acknowledged. */
  private head = 0;
  /** Stream offset just past the last byte written. */
  private tail = 0;

  constructor(readonly capacity: number) {}

  /** Stream offset of the first unacknowledged byte. */
  get start(): number {
    return this.head;
  }
  /** Stream offset just past the last byte written (total bytes ever written). */
  get end(): number {
    return this.tail;
  }
  get length(): number {
    return this.tail - this.head;
  }
  get free(): number {
    return Math.max(0, this.capacity - this.length);
  }

  /** Copies as much of `data` as fits; returns the number of bytes taken. */
  append(data: Uint8Array): number {
    const n = Math.min(data.length, this.free);
    let done = 0;
    while (done < n) {
      const rel = this.tail - this.base;
      const index = Math.floor(rel / BLOCK_BYTES);
      const pos = rel - index * BLOCK_BYTES;
      if (index === this.blocks.length) this.blocks.push(takeBlock());
      const take = Math.min(n - done, BLOCK_BYTES - pos);
      this.blocks[index]!.set(data.subarray(done, done + take), pos);
      done += take;
      this.tail += take;
    }
    return n;
  }

  /** Copies stream bytes [offset, offset+len) into `dst` at `dstOffset`. */
  copyOut(offset: number, len: number, dst: Uint8Array, dstOffset: number): void {
    let rel = offset - this.base;
    let remaining = len;
    let at = dstOffset;
    while (remaining > 0) {
      const index = Math.floor(rel / BLOCK_BYTES);
      const pos = rel - index * BLOCK_BYTES;
      const take = Math.min(remaining, BLOCK_BYTES - pos);
      this.blocks[index]!.copy(dst, at, pos, pos + take);
      at += take;
      rel += take;
      remaining -= take;
    }
  }

  /** Drops everything below stream offset `upTo` (it was acknowledged). */
  consume(upTo: number): void {
    if (upTo <= this.head) return;
    this.head = Math.min(upTo, this.tail);
    if (this.head === this.tail) {
      // Empty: release all blocks so idle connections cost no buffer memory.
      for (const block of this.blocks) giveBlock(block);
      this.blocks.length = 0;
      this.base = this.head;
      return;
    }
    while (this.head - this.base >= BLOCK_BYTES) {
      giveBlock(this.blocks.shift()!);
      this.base += BLOCK_BYTES;
    }
  }
}
