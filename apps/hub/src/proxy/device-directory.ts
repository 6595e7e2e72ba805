// In-memory cache in front of the registry's device lookup: every proxied request needs the row,
// so it must not cost a database round trip. Entries live for a bounded time, are dropped on
// `invalidate`, and a stale entry keeps serving while the database is unreachable (the data plane
// keeps working when control is down: headscale#100, tailscale#4168).
import type { DeviceDirectory, DeviceRoute } from './contracts.js';

export interface CachedDirectoryOptions {
  /** The uncached lookup (a database query). */
  load(serial: string): Promise<DeviceRoute | undefined>;
  /** How long a found row is trusted without asking again. */
  ttlMs?: number;
  /** How long "no such device" is remembered (short: a device may register any moment). */
  negativeTtlMs?: number;
  /** At most this many serials are cached; the oldest is forgotten first. */
  maxEntries?: number;
  now?: () => number;
  /**
   * With a stale row at hand, wait at most this long for `load` before answering with the stale
   * row (the load goes on and refreshes the cache when it ends). A database that is down but slow
   * to say so must not hold every proxied request. Default 1000 ms.
   */
  staleWaitMs?: number;
  /** Called when `load` failed and a stale row (or nothing) was used instead. */
  onLoadError?(serial: string, err: unknown): void;
}

interface Entry {
  route: DeviceRoute | undefined;
  fetchedMs: number;
}

export interface CachedDirectory extends DeviceDirectory {
  invalidateAll(): void;
  readonly size: number;
}

export function createCachedDirectory(options: CachedDirectoryOptions): CachedDirectory {
  const ttlMs = options.ttlMs ?? 30_000;
  const negativeTtlMs = options.negativeTtlMs ?? 2_000;
  const maxEntries = options.maxEntries ?? 100_000;
  const staleWaitMs = options.staleWaitMs ?? 1_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, Entry>();
  // One load per serial at a time: a burst of requests for a cold device costs one query.
  const inflight = new Map<string, Promise<DeviceRoute | undefined>>();
  // Bumped by invalidate so a load that started before it cannot write back a stale row.
  const generation = new Map<string, number>();

  function store(serial: string, route: DeviceRoute | undefined): void {
    cache.delete(serial);
    cache.set(serial, { route, fetchedMs: now() });
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
  }

  async function refresh(serial: string, stale: Entry | undefined): Promise<DeviceRoute | undefined> {
    const gen = generation.get(serial) ?? 0;
    try {
      const route = await options.load(serial);
      if ((generation.get(serial) ?? 0) === gen) store(serial, route);
      return route;
    } catch (err) {
      options.onLoadError?.(serial, err);
      if (stale) return stale.route;
      throw err;
    }
  }

  return {
    findBySerial(serial) {
      const entry = cache.get(serial);
      if (entry) {
        const age = now() - entry.fetchedMs;
        if (age < (entry.route ? ttlMs : negativeTtlMs)) return Promise.resolve(entry.route);
      }
      let p = inflight.get(serial);
      if (!p) {
        const mine: Promise<DeviceRoute | undefined> = refresh(serial, entry).finally(() => {
          if (inflight.get(serial) === mine) inflight.delete(serial);
        });
        p = mine;
        inflight.set(serial, p);
      }
      if (!entry?.route) return p;
      const stale = entry.route;
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<DeviceRoute | undefined>((resolve) => {
        timer = setTimeout(() => resolve(stale), staleWaitMs);
        timer.unref?.();
      });
      return Promise.race([p, waited]).finally(() => clearTimeout(timer));
    },
    invalidate(serial) {
      cache.delete(serial);
      inflight.delete(serial);
      generation.set(serial, (generation.get(serial) ?? 0) + 1);
      if (generation.size > maxEntries) generation.delete(generation.keys().next().value!);
    },
    invalidateAll() {
      for (const serial of cache.keys()) generation.set(serial, (generation.get(serial) ?? 0) + 1);
      cache.clear();
      inflight.clear();
    },
    get size() {
      return cache.size;
    },
  };
}

/** A fixed directory for tests and the in-process demo: rows in a Map, no caching needed. */
export function createStaticDirectory(routes: Iterable<DeviceRoute>): DeviceDirectory & { set(route: DeviceRoute): void; delete(serial: string): void } {
  const map = new Map<string, DeviceRoute>();
  for (const r of routes) map.set(r.serial, r);
  return {
    async findBySerial(serial) {
      return map.get(serial);
    },
    invalidate() {},
    set(route) {
      map.set(route.serial, route);
    },
    delete(serial) {
      map.delete(serial);
    },
  };
}
