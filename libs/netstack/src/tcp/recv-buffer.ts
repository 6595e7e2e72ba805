// Bounded TCP receive buffer (RFC 9293 §3.8.6 "receive window"): in-order bytes waiting for the
// application plus out-of-order ranges kept for reassembly and reported as SACK blocks (RFC 2018
// §4). In-order data is copied into blocks of 16-64 KiB (few objects, however small the segments);
// out-of-order pieces are copied once and moved, not copied, when the hole before them fills.
// Sequence numbers here are the connection's unwrapped offsets.

const FIRST_BLOCK_BYTES = 16 * 1024;
const MAX_BLOCK_BYTES = 64 * 1024;
/** A block with less room than this is not worth keeping once everything in it was read. */
const KEEP_BLOCK_MIN_ROOM = 4 * 1024;

interface OooRange {
  start: number;
  end: number;
  chunks: Buffer[];
}

export interface RecvBufferLimits {
  capacity: number;
  /** Most out-of-order ranges kept (holes); a segment that would need more is dropped. */
  maxOooRanges: number;
  /** Most out-of-order pieces kept, bounding objects when a peer sends tiny segments. */
  maxOooChunks: number;
}

export class RecvBuffer {
  /** Views of in-order data ready for the reader. */
  private queue: Buffer[] = [];
  private queueHead = 0;
  /** Current block receiving in-order data; [liveStart, livePos) is queued but not yet a view. */
  private block: Buffer | undefined;
  /** Blocks start small (most connections carry little) and double while data keeps coming. */
  private nextBlockBytes = FIRST_BLOCK_BYTES;
  private liveStart = 0;
  private livePos = 0;
  /** In-order bytes the application has not read. */
  queuedBytes = 0;
  private ooo: OooRange[] = [];
  oooBytes = 0;
  private oooChunks = 0;
  /** The range that received the newest out-of-order piece (RFC 2018 §4: reported first). */
  private newest: OooRange | undefined;

  constructor(readonly limits: RecvBufferLimits) {}

  /** Free space for the advertised window: capacity minus unread in-order data. */
  get free(): number {
    return Math.max(0, this.limits.capacity - this.queuedBytes);
  }
  get hasOutOfOrder(): boolean {
    return this.ooo.length > 0;
  }
  /** Out-of-order ranges held (each one a SACK block). */
  get oooRangeCount(): number {
    return this.ooo.length;
  }
  /** Start of the first out-of-order range (or Infinity). */
  get firstOooStart(): number {
    return this.ooo.length === 0 ? Infinity : this.ooo[0]!.start;
  }

  /** Appends in-order bytes (a copy is taken). */
  appendInOrder(data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      if (this.block === undefined || this.livePos === this.block.length) {
        this.sealLive();
        if (this.block !== undefined) this.nextBlockBytes = Math.min(MAX_BLOCK_BYTES, this.block.length * 2);
        this.block = Buffer.allocUnsafe(this.nextBlockBytes);
        this.liveStart = 0;
        this.livePos = 0;
      }
      const take = Math.min(data.length - done, this.block.length - this.livePos);
      // The common case, a whole segment into the block, copies without making a view first.
      this.block.set(take === data.length ? data : data.subarray(done, done + take), this.livePos);
      this.livePos += take;
      done += take;
    }
    this.queuedBytes += data.length;
  }

  /** Turns the live region into a queued view so later views keep their order. */
  private sealLive(): void {
    if (this.block !== undefined && this.livePos > this.liveStart) {
      this.queue.push(this.block.subarray(this.liveStart, this.livePos));
      this.liveStart = this.livePos;
    }
  }

  /**
   * After rcvNxt advanced to `rcvNxt`, moves out-of-order ranges that now touch it into the queue.
   * Returns the new rcvNxt (past any range that became contiguous).
   */
  drain(rcvNxt: number): number {
    let next = rcvNxt;
    while (this.ooo.length > 0 && this.ooo[0]!.start <= next) {
      const range = this.ooo.shift()!;
      this.oooBytes -= range.end - range.start;
      this.oooChunks -= range.chunks.length;
      if (range === this.newest) this.newest = undefined;
      if (range.end <= next) continue;
      this.sealLive();
      let skip = next - range.start;
      for (const chunk of range.chunks) {
        if (skip >= chunk.length) {
          skip -= chunk.length;
          continue;
        }
        const view = skip > 0 ? chunk.subarray(skip) : chunk;
        skip = 0;
        this.queue.push(view);
        this.queuedBytes += view.length;
      }
      next = range.end;
    }
    return next;
  }

  /**
   * Stores an out-of-order segment [start, start+len) lying above rcvNxt. Parts already held are
   * skipped. Returns false when limits forced the segment (or part of it) to be dropped.
   */
  insertOutOfOrder(start: number, data: Uint8Array): boolean {
    const end = start + data.length;
    if (data.length === 0) return true;
    // Walk the sorted ranges, filling each gap of [start, end) they leave.
    let pos = start;
    let k = this.findFirstEndingAfter(start);
    let ok = true;
    while (pos < end) {
      const range = this.ooo[k];
      if (range !== undefined && range.start <= pos) {
        pos = range.end;
        k++;
        continue;
      }
      const gapEnd = Math.min(end, range === undefined ? end : range.start);
      if (!this.fillGap(k, pos, data.subarray(pos - start, gapEnd - start))) {
        ok = false;
        break;
      }
      // fillGap may have merged ranges; re-find our place.
      pos = gapEnd;
      k = this.findFirstEndingAfter(pos);
    }
    return ok;
  }

  private findFirstEndingAfter(x: number): number {
    let lo = 0;
    let hi = this.ooo.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ooo[mid]!.end <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Places `piece` at `start`, where no range covers it; `k` is the index of the next range. */
  private fillGap(k: number, start: number, piece: Uint8Array): boolean {
    if (this.oooChunks >= this.limits.maxOooChunks) return false;
    const end = start + piece.length;
    const prev = k > 0 ? this.ooo[k - 1] : undefined;
    const next = this.ooo[k];
    const joinsPrev = prev !== undefined && prev.end === start;
    const joinsNext = next !== undefined && next.start === end;
    if (!joinsPrev && !joinsNext && this.ooo.length >= this.limits.maxOooRanges) return false;
    const chunk = Buffer.from(piece); // copy: the packet buffer belongs to the caller
    this.oooBytes += chunk.length;
    this.oooChunks++;
    if (joinsPrev) {
      prev.chunks.push(chunk);
      prev.end = end;
      if (joinsNext) {
        for (const c of next.chunks) prev.chunks.push(c);
        prev.end = next.end;
        this.ooo.splice(k, 1);
        if (this.newest === next) this.newest = prev;
      }
      this.newest = prev;
    } else if (joinsNext) {
      next.chunks.unshift(chunk);
      next.start = start;
      this.newest = next;
    } else {
      const range: OooRange = { start, end, chunks: [chunk] };
      this.ooo.splice(k, 0, range);
      this.newest = range;
    }
    return true;
  }

  /**
   * SACK blocks as unwrapped [start, end) pairs, at most `max`: the newest range first, then the
   * others from the highest down (RFC 2018 §4 asks for the most recent first).
   */
  sackBlocks(max: number): number[] {
    const out: number[] = [];
    if (this.ooo.length === 0 || max <= 0) return out;
    const first = this.newest;
    if (first !== undefined) out.push(first.start, first.end);
    for (let k = this.ooo.length - 1; k >= 0 && out.length < max * 2; k--) {
      const r = this.ooo[k]!;
      if (r !== first) out.push(r.start, r.end);
    }
    return out;
  }

  /** Takes the next chunk of in-order data (at most `max` bytes), or undefined when empty. */
  read(max = Infinity): Buffer | undefined {
    let view: Buffer;
    if (this.queueHead < this.queue.length) {
      view = this.queue[this.queueHead]!;
      if (view.length > max) {
        this.queue[this.queueHead] = view.subarray(max);
        view = view.subarray(0, max);
      } else {
        this.queue[this.queueHead] = undefined as unknown as Buffer;
        this.queueHead++;
        if (this.queueHead === this.queue.length) {
          this.queue = [];
          this.queueHead = 0;
        } else if (this.queueHead > 1024) {
          this.queue = this.queue.slice(this.queueHead);
          this.queueHead = 0;
        }
      }
    } else if (this.block !== undefined && this.livePos > this.liveStart) {
      const end = Math.min(this.livePos, this.liveStart + max);
      view = this.block.subarray(this.liveStart, end);
      this.liveStart = end;
    } else {
      return undefined;
    }
    this.queuedBytes -= view.length;
    if (
      this.queuedBytes === 0 &&
      this.block !== undefined &&
      this.livePos === this.liveStart &&
      this.block.length - this.livePos < KEEP_BLOCK_MIN_ROOM
    ) {
      // Everything read and the block nearly full: drop it now rather than pin it while idle.
      this.nextBlockBytes = Math.min(MAX_BLOCK_BYTES, this.block.length * 2);
      this.block = undefined;
    }
    return view;
  }

  /** Drops all data (the connection was aborted). */
  clear(): void {
    this.queue = [];
    this.queueHead = 0;
    this.block = undefined;
    this.liveStart = this.livePos = 0;
    this.queuedBytes = 0;
    this.ooo = [];
    this.oooBytes = 0;
    this.oooChunks = 0;
    this.newest = undefined;
  }
}
