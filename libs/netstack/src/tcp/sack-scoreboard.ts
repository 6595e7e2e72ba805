// Sender-side SACK scoreboard (RFC 2018 §3, used as in RFC 6675 §3): the sorted, disjoint ranges
// of sequence space above SND.UNA that the peer reported holding. Sequence numbers here are the
// connection's unwrapped offsets, so plain comparisons are safe.

export class SackScoreboard {
  private starts: number[] = [];
  private ends: number[] = [];
  /** Total bytes covered by the ranges. */
  sackedBytes = 0;

  get isEmpty(): boolean {
    return this.starts.length === 0;
  }
  get rangeCount(): number {
    return this.starts.length;
  }
  /** End of the highest SACKed range, or -1 when empty. */
  get highest(): number {
    return this.ends.length === 0 ? -1 : this.ends[this.ends.length - 1]!;
  }

  /** Records [start, end); merges with any overlapping or touching range. */
  add(start: number, end: number): void {
    if (end <= start) return;
    const starts = this.starts;
    const ends = this.ends;
    // First range whose end reaches `start` (candidates to merge).
    let i = 0;
    let hi = starts.length;
    while (i < hi) {
      const mid = (i + hi) >>> 1;
      if (ends[mid]! < start) i = mid + 1;
      else hi = mid;
    }
    let j = i;
    let s = start;
    let e = end;
    let removed = 0;
    while (j < starts.length && starts[j]! <= e) {
      s = Math.min(s, starts[j]!);
      e = Math.max(e, ends[j]!);
      removed += ends[j]! - starts[j]!;
      j++;
    }
    starts.splice(i, j - i, s);
    ends.splice(i, j - i, e);
    this.sackedBytes += e - s - removed;
  }

  /** Forgets everything below `una` (now cumulatively acknowledged). */
  advance(una: number): void {
    const starts = this.starts;
    const ends = this.ends;
    let drop = 0;
    while (drop < starts.length && ends[drop]! <= una) {
      this.sackedBytes -= ends[drop]! - starts[drop]!;
      drop++;
    }
    if (drop > 0) {
      starts.splice(0, drop);
      ends.splice(0, drop);
    }
    if (starts.length > 0 && starts[0]! < una) {
      this.sackedBytes -= una - starts[0]!;
      starts[0] = una;
    }
  }

  clear(): void {
    this.starts = [];
    this.ends = [];
    this.sackedBytes = 0;
  }

  /** Bytes of [a, b) covered by SACKed ranges. */
  sackedIn(a: number, b: number): number {
    if (b <= a || this.starts.length === 0) return 0;
    let n = 0;
    for (let k = 0; k < this.starts.length; k++) {
      const s = this.starts[k]!;
      if (s >= b) break;
      const e = this.ends[k]!;
      if (e <= a) continue;
      n += Math.min(e, b) - Math.max(s, a);
    }
    return n;
  }

  /** The first sequence number at or after `x` that is not SACKed. */
  nextUnsacked(x: number): number {
    for (let k = 0; k < this.starts.length; k++) {
      if (this.starts[k]! > x) return x;
      if (this.ends[k]! > x) return this.ends[k]!;
    }
    return x;
  }

  /** Start of the first SACKed range beginning after `x`, or Infinity. */
  nextSackedStart(x: number): number {
    for (let k = 0; k < this.starts.length; k++) if (this.starts[k]! > x) return this.starts[k]!;
    return Infinity;
  }
}
