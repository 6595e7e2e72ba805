// An indexed binary min-heap of items keyed by a deadline (ms). The device keeps one entry per peer
// with pending timers, so `tick` touches only peers that are due: O(log n) per timer, not O(peers).

export interface HeapItem {
  /** Position in the heap array, -1 when not in the heap. Owned by the heap. */
  heapIndex: number;
  /** The deadline the heap orders by. Owned by the heap (set through `schedule`). */
  heapDeadlineMs: number;
}

export class DeadlineHeap<T extends HeapItem> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The earliest deadline, or undefined when empty. */
  peekDeadline(): number | undefined {
    return this.items[0]?.heapDeadlineMs;
  }

  /** Inserts `item` or moves it to `deadlineMs` (earlier or later). */
  schedule(item: T, deadlineMs: number): void {
    if (item.heapIndex < 0) {
      item.heapDeadlineMs = deadlineMs;
      item.heapIndex = this.items.length;
      this.items.push(item);
      this.up(item.heapIndex);
      return;
    }
    const earlier = deadlineMs < item.heapDeadlineMs;
    item.heapDeadlineMs = deadlineMs;
    if (earlier) this.up(item.heapIndex);
    else this.down(item.heapIndex);
  }

  /** Removes and returns the earliest item if its deadline is at or before `nowMs`. */
  popDue(nowMs: number): T | undefined {
    const top = this.items[0];
    if (!top || top.heapDeadlineMs > nowMs) return undefined;
    this.remove(top);
    return top;
  }

  remove(item: T): void {
    const i = item.heapIndex;
    if (i < 0) return;
    const last = this.items.pop()!;
    item.heapIndex = -1;
    if (last === item) return;
    this.items[i] = last;
    last.heapIndex = i;
    this.up(i);
    this.down(last.heapIndex);
  }

  private up(i: number): void {
    const items = this.items;
    const item = items[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.heapDeadlineMs <= item.heapDeadlineMs) break;
      items[i] = items[parent]!;
      items[i]!.heapIndex = i;
      i = parent;
    }
    items[i] = item;
    item.heapIndex = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && items[child + 1]!.heapDeadlineMs < items[child]!.heapDeadlineMs) child++;
      if (items[child]!.heapDeadlineMs >= item.heapDeadlineMs) break;
      items[i] = items[child]!;
      items[i]!.heapIndex = i;
      i = child;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}
