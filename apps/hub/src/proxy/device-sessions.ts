// Device sessions behind the `porthole_device` cookie: a random token per visitor and device host,
// stored hashed with the user, the device and an absolute expiry. Access is re-checked against the
// registry every few seconds (grants can be revoked); while the registry is unreachable a recent
// positive answer keeps serving for a bounded grace time, then the proxy fails closed.
import { randomBytes } from 'node:crypto';
import { hashSecret } from './ticket-store.js';

export const DEVICE_COOKIE = 'porthole_device';

export interface DeviceSession {
  userId: string;
  deviceId: string;
  serial: string;
  expiresMs: number;
  /** When the registry last confirmed the user may access the device. */
  checkedMs: number;
}

/** Storage for sessions keyed by token hash; in memory by default, injectable (e.g. a database table). */
export interface DeviceSessionStore {
  get(hash: string): DeviceSession | undefined;
  set(hash: string, session: DeviceSession): void;
  delete(hash: string): void;
}

export interface DeviceSessionsOptions {
  ttlMs: number;
  store?: DeviceSessionStore;
  now?: () => number;
  maxEntries?: number;
}

export interface DeviceSessions {
  /** Starts a session; returns the cookie value. */
  create(userId: string, deviceId: string, serial: string): string;
  /** The session for a cookie value on this device host, or undefined (unknown, expired, other host). */
  lookup(token: string, serial: string): DeviceSession | undefined;
  /** Records a confirmed access check. */
  touch(token: string, checkedMs: number): void;
  revoke(token: string): void;
}

export function createMemorySessionStore(maxEntries = 200_000): DeviceSessionStore & { readonly size: number } {
  const map = new Map<string, DeviceSession>();
  return {
    get: (hash) => map.get(hash),
    set(hash, session) {
      map.delete(hash);
      map.set(hash, session);
      if (map.size > maxEntries) map.delete(map.keys().next().value!);
    },
    delete: (hash) => void map.delete(hash),
    get size() {
      return map.size;
    },
  };
}

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

export function createDeviceSessions(options: DeviceSessionsOptions): DeviceSessions {
  const now = options.now ?? Date.now;
  const store = options.store ?? createMemorySessionStore(options.maxEntries);
  return {
    create(userId, deviceId, serial) {
      const token = randomBytes(32).toString('base64url');
      const nowMs = now();
      store.set(hashSecret(token), { userId, deviceId, serial, expiresMs: nowMs + options.ttlMs, checkedMs: nowMs });
      return token;
    },
    lookup(token, serial) {
      if (!TOKEN_RE.test(token)) return undefined;
      const hash = hashSecret(token);
      const s = store.get(hash);
      if (!s) return undefined;
      if (s.expiresMs <= now()) {
        store.delete(hash);
        return undefined;
      }
      // Bound to the device host it was issued on: a cookie copied to another host is worthless.
      return s.serial === serial ? s : undefined;
    },
    touch(token, checkedMs) {
      if (!TOKEN_RE.test(token)) return;
      const hash = hashSecret(token);
      const s = store.get(hash);
      if (s) store.set(hash, { ...s, checkedMs });
    },
    revoke(token) {
      if (TOKEN_RE.test(token)) store.delete(hashSecret(token));
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
