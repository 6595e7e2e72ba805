// Device sessions behind the `porthole_device` cookie: a random token per visitor and device host,
// stored hashed (the database in the hub, so they survive restarts and every node sees them) with
// the user, the device and an absolute expiry. Requests are served from a small in-process cache
// that re-reads a session after `cacheMs`; `invalidate` drops entries at once when sessions end
// (logout, password change, account disable), here or, fed by a cluster, on another node.
import { randomBytes } from 'node:crypto';
import { withDeadline } from './deadline.js';
import { hashSecret } from './ticket-store.js';

export const DEVICE_COOKIE = 'porthole_device';

/** What the store keeps for one session (keyed by the token's hash). */
export interface StoredDeviceSession {
  userId: string;
  deviceId: string;
  serial: string;
  expiresMs: number;
  /** HTTP GET and HEAD only (an installer link made read-only). */
  readOnly?: boolean;
}

export interface DeviceSession extends StoredDeviceSession {
  /** When the registry last confirmed the user may access the device (this process only). */
  checkedMs: number;
}

/** Persistent storage by token hash: the database in the hub, memory in tests. Methods may reject when it is down. */
export interface DeviceSessionStore {
  /** False when the user may not have sessions (account disabled or deleted). */
  insert(tokenHash: string, session: StoredDeviceSession, createdIp: string | null): Promise<boolean>;
  /** The unexpired session, or undefined. */
  find(tokenHash: string): Promise<StoredDeviceSession | undefined>;
  delete(tokenHash: string): Promise<void>;
}

/** Sessions that ended elsewhere: all of a user's, or one by token hash. */
export type DeviceSessionInvalidation = { userId: string } | { tokenHash: string };

export interface DeviceSessionsOptions {
  ttlMs: number;
  store?: DeviceSessionStore;
  now?: () => number;
  /** A cached session is re-read from the store after this long (bounds how late a missed invalidation can be). Default 5 s. */
  cacheMs?: number;
  /** While the store cannot be read, a cached session keeps serving this long after it was last read. Default 5 min. */
  staleMs?: number;
  /**
   * With a cached session at hand, wait at most this long for the store before serving the cached one:
   * a database that is down but slow to say so must not hold every request. Default 1000 ms.
   */
  staleWaitMs?: number;
  /** Cached sessions kept at most. */
  maxEntries?: number;
}

export interface DeviceSessions {
  /** Starts a session; resolves to the cookie value, or undefined when the store refused the user. Rejects when the store is down. */
  create(userId: string, deviceId: string, serial: string, createdIp?: string | null, options?: { readOnly?: boolean; expiresMs?: number }): Promise<string | undefined>;
  /**
   * The session for a cookie value on this device host, or undefined (unknown, expired, ended, other
   * host). Rejects only when the store is down and nothing usable is cached.
   */
  lookup(token: string, serial: string): Promise<DeviceSession | undefined>;
  /** Records a confirmed access check (kept in this process). */
  touch(token: string, checkedMs: number): void;
  /** Ends one session (device-host logout, access revoked). */
  revoke(token: string): Promise<void>;
  /**
   * Forgets cached sessions that ended in the store. The registry calls it for sessions this process
   * ends; a cluster feed calls it for those other nodes end.
   */
  invalidate(what: DeviceSessionInvalidation): void;
  readonly cachedCount: number;
}

export function createMemorySessionStore(maxEntries = 200_000, now: () => number = Date.now): DeviceSessionStore & { readonly size: number } {
  const map = new Map<string, StoredDeviceSession>();
  return {
    async insert(hash, session) {
      map.set(hash, session);
      if (map.size > maxEntries) map.delete(map.keys().next().value!);
      return true;
    },
    async find(hash) {
      const s = map.get(hash);
      return s && s.expiresMs > now() ? s : undefined;
    },
    async delete(hash) {
      map.delete(hash);
    },
    get size() {
      return map.size;
    },
  };
}

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

interface CacheEntry {
  session: DeviceSession;
  loadedMs: number;
}

export function createDeviceSessions(options: DeviceSessionsOptions): DeviceSessions {
  const now = options.now ?? Date.now;
  const store = options.store ?? createMemorySessionStore(options.maxEntries, now);
  const cacheMs = options.cacheMs ?? 5_000;
  const staleMs = Math.max(cacheMs, options.staleMs ?? 5 * 60_000);
  const maxEntries = options.maxEntries ?? 100_000;
  const staleWaitMs = options.staleWaitMs ?? 1_000;
  // Insertion order is load order: entries are re-inserted whenever they are read from the store.
  const cache = new Map<string, CacheEntry>();
  const byUser = new Map<string, Set<string>>();
  /** Bumped by every invalidation: a store read that overlapped one must not be cached. */
  let epoch = 0;

  function forget(hash: string): void {
    const entry = cache.get(hash);
    if (!entry) return;
    cache.delete(hash);
    const hashes = byUser.get(entry.session.userId);
    hashes?.delete(hash);
    if (hashes?.size === 0) byUser.delete(entry.session.userId);
  }

  function remember(hash: string, session: DeviceSession, nowMs: number): void {
    forget(hash);
    cache.set(hash, { session, loadedMs: nowMs });
    let hashes = byUser.get(session.userId);
    if (!hashes) byUser.set(session.userId, (hashes = new Set()));
    hashes.add(hash);
    for (const [oldest, entry] of cache) {
      if (cache.size <= maxEntries && nowMs - entry.loadedMs <= staleMs) break;
      forget(oldest);
    }
  }

  /** Reads a session from the store into the cache; a recent cached copy stands in while the store is down or slow. */
  async function reload(hash: string, cached: CacheEntry | undefined): Promise<DeviceSession | undefined> {
    const started = epoch;
    let stored: StoredDeviceSession | undefined;
    try {
      const read = store.find(hash);
      stored = await (cached ? withDeadline(read, staleWaitMs, 'the device session store') : read);
    } catch (err) {
      if (cached && now() - cached.loadedMs < staleMs) return cached.session;
      throw err;
    }
    if (!stored) {
      forget(hash);
      return undefined;
    }
    const session = { ...stored, checkedMs: cached?.session.checkedMs ?? 0 };
    // Sessions ended while this read was in flight may have been read before their deletion.
    if (epoch === started) remember(hash, session, now());
    return session;
  }

  return {
    async create(userId, deviceId, serial, createdIp = null, extra = {}) {
      const token = randomBytes(32).toString('base64url');
      const hash = hashSecret(token);
      const nowMs = now();
      // An installer link's session ends with the link, sooner than the usual lifetime if need be.
      const expiresMs = Math.min(nowMs + options.ttlMs, extra.expiresMs ?? Infinity);
      const stored: StoredDeviceSession = { userId, deviceId, serial, expiresMs, ...(extra.readOnly ? { readOnly: true } : {}) };
      if (!(await store.insert(hash, stored, createdIp))) return undefined;
      remember(hash, { ...stored, checkedMs: nowMs }, nowMs);
      return token;
    },

    async lookup(token, serial) {
      if (!TOKEN_RE.test(token)) return undefined;
      const hash = hashSecret(token);
      const cached = cache.get(hash);
      const session = cached && now() - cached.loadedMs < cacheMs ? cached.session : await reload(hash, cached);
      if (!session) return undefined;
      if (session.expiresMs <= now()) {
        forget(hash);
        return undefined;
      }
      // Bound to the device host it was issued on: a cookie copied to another host is worthless.
      return session.serial === serial ? session : undefined;
    },

    touch(token, checkedMs) {
      if (!TOKEN_RE.test(token)) return;
      const entry = cache.get(hashSecret(token));
      if (entry) entry.session = { ...entry.session, checkedMs };
    },

    async revoke(token) {
      if (!TOKEN_RE.test(token)) return;
      const hash = hashSecret(token);
      epoch++;
      forget(hash);
      await store.delete(hash);
    },

    invalidate(what) {
      epoch++;
      if ('tokenHash' in what) {
        forget(what.tokenHash);
        return;
      }
      for (const hash of [...(byUser.get(what.userId) ?? [])]) forget(hash);
    },

    get cachedCount() {
      return cache.size;
    },
  };
}

/** Values of cookie `name` in a Cookie header (several when a browser sends duplicates). */
export function readCookies(header: string | undefined, name: string): string[] {
  if (!header) return [];
  const out: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) out.push(part.slice(eq + 1).trim());
  }
  return out;
}

/** Set-Cookie for the device session: host-only (no Domain), HttpOnly, SameSite=Lax, Path=/. */
export function deviceCookie(value: string, opts: { secure: boolean; maxAgeSeconds: number }): string {
  return `${DEVICE_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${opts.maxAgeSeconds}${opts.secure ? '; Secure' : ''}`;
}

export function clearDeviceCookie(secure: boolean): string {
  return `${DEVICE_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${secure ? '; Secure' : ''}`;
}
