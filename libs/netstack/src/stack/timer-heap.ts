// A binary min-heap of (deadline, connection) wake-ups, so tick() and nextDeadline() stay
// O(log n) with thousands of connections. Entries are never updated in place: a connection whose
// deadline moved earlier gets a new entry; stale later entries just cause a harmless early wake-up.

export class TimerHeap<T> {
  private at: number[] = [];
  private items: T[] = [];

  get size(): number {
    return this.at.length;
  }

  peekAt(): number | undefined {
    return this.at[0];
  }

  push(at: number, item: T): void {
    const times = this.at;
    const items = this.items;
    let i = times.length;
    times.push(at);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent]! <= at) break;
      times[i] = times[parent]!;
      items[i] = items[parent]!;
      i = parent;
    }
    times[i] = at;
    items[i] = item;
  }

  /** Removes the earliest entry; returns its item (the caller read peekAt() first). */
  pop(): T | undefined {
    const times = this.at;
    const items = this.items;
    if (times.length === 0) return undefined;
    const top = items[0]!;
    const lastAt = times.pop()!;
    const lastItem = items.pop()!;
    const n = times.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && times[r]! < times[l]! ? r : l;
        if (times[c]! >= lastAt) break;
        times[i] = times[c]!;
        items[i] = items[c]!;
        i = c;
      }
      times[i] = lastAt;
      items[i] = lastItem;
    }
    return top;
  }

  clear(): void {
    this.at = [];
    this.items = [];
  }
}
