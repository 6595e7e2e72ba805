import { describe, expect, it } from 'vitest';
import { type DeviceSessionStore, type StoredDeviceSession, createDeviceSessions, createMemorySessionStore, deviceCookie, readCookies } from './device-sessions.js';
import { createTicketStore, hashSecret } from './ticket-store.js';
import { createVisitorGate, safeNext } from './visitor-gate.js';
import type { DeviceRoute } from './contracts.js';
import type { IncomingMessage } from 'node:http';

describe('ticket store', () => {
  it('issues 32-byte base64url tickets, stored only as hashes, redeemable once for one serial', async () => {
    const store = createTicketStore({ now: () => 1_000 });
    const t = await store.issue('u1', 'an1', '/x');
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(t, 'base64url')).toHaveLength(32);
    expect(await store.redeem(t, 'an1')).toEqual({ userId: 'u1', next: '/x' });
    expect(await store.redeem(t, 'an1')).toBeUndefined();
    expect(hashSecret(t)).not.toBe(t);
  });

  it('expires after 60 s and is consumed by a wrong-serial attempt', async () => {
    let now = 0;
    const store = createTicketStore({ now: () => now });
    const a = await store.issue('u', 'an1', '/');
    now = 59_999;
    const b = await store.issue('u', 'an1', '/');
    now = 60_000;
    expect(await store.redeem(a, 'an1')).toBeUndefined();
    expect(await store.redeem(b, 'an2')).toBeUndefined();
    expect(await store.redeem(b, 'an1')).toBeUndefined();
    // Expired entries are swept on the next issue.
    now = 200_000;
    await store.issue('u', 'an1', '/');
    expect(store.size).toBe(1);
  });

  it('refuses malformed tickets without touching the map', async () => {
    const store = createTicketStore();
    const kept = await store.issue('u', 'an1', '/');
    for (const bad of ['', 'x', 'a'.repeat(44), '../../etc', null as unknown as string]) expect(await store.redeem(bad, 'an1')).toBeUndefined();
    expect(store.size).toBe(1);
    expect(await store.redeem(kept, 'an1')).toEqual({ userId: 'u', next: '/' });
  });

  it('gives a ticket to one of many concurrent redemptions', async () => {
    const store = createTicketStore();
    const t = await store.issue('u', 'an1', '/');
    const results = await Promise.all(Array.from({ length: 8 }, () => store.redeem(t, 'an1')));
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
  });

  it('bounds outstanding tickets', async () => {
    const store = createTicketStore({ maxEntries: 3 });
    const first = await store.issue('u', 'an1', '/');
    for (let i = 0; i < 3; i++) await store.issue('u', 'an1', '/');
    expect(store.size).toBe(3);
    expect(await store.redeem(first, 'an1')).toBeUndefined();
  });
});

describe('device sessions', () => {
  it('binds a session to its device host and expires it', async () => {
    let now = 0;
    const s = createDeviceSessions({ ttlMs: 1000, now: () => now });
    const token = (await s.create('u1', 'd1', 'an1'))!;
    expect(await s.lookup(token, 'an1')).toMatchObject({ userId: 'u1', deviceId: 'd1' });
    expect(await s.lookup(token, 'an2')).toBeUndefined();
    now = 1000;
    expect(await s.lookup(token, 'an1')).toBeUndefined();
  });

  /** A memory store that counts reads and can be switched off, to watch the cache in front of it. */
  function countingStore(now: () => number) {
    const inner = createMemorySessionStore(1000, now);
    const store: DeviceSessionStore & { reads: number; down: boolean; rows: typeof inner } = {
      reads: 0,
      down: false,
      rows: inner,
      insert: (h, s, ip) => inner.insert(h, s, ip),
      async find(h): Promise<StoredDeviceSession | undefined> {
        store.reads++;
        if (store.down) throw new Error('database down');
        return inner.find(h);
      },
      delete: (h) => inner.delete(h),
    };
    return store;
  }

  it('serves repeated lookups from the cache and re-reads the store after cacheMs', async () => {
    let now = 0;
    const store = countingStore(() => now);
    const s = createDeviceSessions({ ttlMs: 3_600_000, store, cacheMs: 5_000, now: () => now });
    const token = (await s.create('u1', 'd1', 'an1'))!;
    for (let i = 0; i < 100; i++) expect(await s.lookup(token, 'an1')).toMatchObject({ userId: 'u1' });
    expect(store.reads).toBe(0);
    now = 5_000;
    expect(await s.lookup(token, 'an1')).toMatchObject({ userId: 'u1' });
    expect(store.reads).toBe(1);
    // A row deleted behind the cache's back (another node) is gone at the next re-read.
    await store.rows.delete(hashSecret(token));
    now = 10_000;
    expect(await s.lookup(token, 'an1')).toBeUndefined();
  });

  it('forgets a user’s sessions at once on invalidate, and a read that overlapped it is not cached', async () => {
    let now = 0;
    const store = countingStore(() => now);
    const s = createDeviceSessions({ ttlMs: 3_600_000, store, cacheMs: 60_000, now: () => now });
    const a = (await s.create('u1', 'd1', 'an1'))!;
    const b = (await s.create('u1', 'd2', 'an2'))!;
    const other = (await s.create('u2', 'd1', 'an1'))!;
    expect(s.cachedCount).toBe(3);
    // The registry deleted u1's rows and tells the cache; u2 is untouched.
    await store.rows.delete(hashSecret(a));
    await store.rows.delete(hashSecret(b));
    s.invalidate({ userId: 'u1' });
    expect(s.cachedCount).toBe(1);
    expect(await s.lookup(a, 'an1')).toBeUndefined();
    expect(await s.lookup(b, 'an2')).toBeUndefined();
    expect(await s.lookup(other, 'an1')).toMatchObject({ userId: 'u2' });
    s.invalidate({ tokenHash: hashSecret(other) });
    expect(s.cachedCount).toBe(0);

    // A store read that started before an invalidation and ends after it is used once, never cached.
    const c = (await s.create('u3', 'd1', 'an1'))!;
    s.invalidate({ userId: 'u3' });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slowFind = store.find;
    store.find = async (h) => {
      const row = await slowFind(h);
      await gate;
      return row;
    };
    const pending = s.lookup(c, 'an1');
    s.invalidate({ userId: 'u3' });
    release();
    await pending;
    store.find = slowFind;
    expect(s.cachedCount).toBe(0);
  });

  it('keeps serving a recently read session while the store is down, then fails closed', async () => {
    let now = 0;
    const store = countingStore(() => now);
    const s = createDeviceSessions({ ttlMs: 3_600_000, store, cacheMs: 5_000, staleMs: 60_000, now: () => now });
    const token = (await s.create('u1', 'd1', 'an1'))!;
    store.down = true;
    now = 30_000;
    expect(await s.lookup(token, 'an1')).toMatchObject({ userId: 'u1' });
    now = 61_000;
    await expect(s.lookup(token, 'an1')).rejects.toThrow('database down');
    // Unknown tokens fail closed too while the store is down (nothing cached to go on).
    await expect(s.lookup('A'.repeat(43), 'an1')).rejects.toThrow('database down');
    // Malformed values never reach the store.
    const reads = store.reads;
    expect(await s.lookup('short', 'an1')).toBeUndefined();
    expect(store.reads).toBe(reads);
  });

  it('serves the cached session when the store hangs, after staleWaitMs', async () => {
    let now = 0;
    const store = countingStore(() => now);
    const s = createDeviceSessions({ ttlMs: 3_600_000, store, cacheMs: 5_000, staleWaitMs: 20, now: () => now });
    const token = (await s.create('u1', 'd1', 'an1'))!;
    store.find = () => new Promise(() => {});
    now = 10_000;
    expect(await s.lookup(token, 'an1')).toMatchObject({ userId: 'u1' });
  });

  it('starts no session when the store refuses the user (account disabled), and the ticket leads nowhere', async () => {
    const store = { ...createMemorySessionStore(), insert: async () => false };
    const sessions = createDeviceSessions({ ttlMs: 3_600_000, store });
    expect(await sessions.create('u1', 'd1', 'an1')).toBeUndefined();
    expect(sessions.cachedCount).toBe(0);
    const tickets = createTicketStore();
    const gate = createVisitorGate({ auth: { canAccessDevice: async () => true }, sessions, tickets, portalHost: 'portal.test' });
    const device: DeviceRoute = { id: 'd1', serial: 'an1', tunnelIp: '100.64.0.2', status: 'enabled', accessPolicy: 'owners', online: true, lastSeenAt: null };
    expect(await gate.redeem(await tickets.issue('u1', 'an1', '/'), device, '127.0.0.1')).toBeUndefined();
  });

  it('bounds the cache', async () => {
    const s = createDeviceSessions({ ttlMs: 3_600_000, maxEntries: 10, store: createMemorySessionStore() });
    const tokens: string[] = [];
    for (let i = 0; i < 25; i++) tokens.push((await s.create(`u${i}`, 'd1', 'an1'))!);
    expect(s.cachedCount).toBe(10);
    // Evicted from the cache, still in the store.
    expect(await s.lookup(tokens[0]!, 'an1')).toMatchObject({ userId: 'u0' });
  });

  it('formats a host-only cookie and reads duplicates', () => {
    expect(deviceCookie('abc', { secure: true, maxAgeSeconds: 60 })).toBe('porthole_device=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure');
    expect(readCookies('a=1; porthole_device=x; porthole_device=y;b=2', 'porthole_device')).toEqual(['x', 'y']);
    expect(readCookies(undefined, 'a')).toEqual([]);
  });
});

describe('visitor gate', () => {
  const device: DeviceRoute = { id: 'd1', serial: 'an1', tunnelIp: '100.64.0.2', status: 'enabled', accessPolicy: 'owners', online: true, lastSeenAt: null };
  const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

  it('keeps serving a recent session while the registry is down, then fails closed', async () => {
    let now = 0;
    let down = false;
    const sessions = createDeviceSessions({ ttlMs: 3_600_000, now: () => now });
    const gate = createVisitorGate({
      auth: {
        async canAccessDevice() {
          if (down) throw new Error('db down');
          return true;
        },
      },
      sessions,
      tickets: createTicketStore(),
      portalHost: 'portal.test',
      recheckMs: 5_000,
      graceMs: 60_000,
      now: () => now,
    });
    const token = (await sessions.create('u1', 'd1', 'an1'))!;
    const g = { req: req({ cookie: `porthole_device=${token}` }), device, hostWithPort: 'an1.d.test', target: '/', proto: 'https' as const };
    now = 10_000; // past the recheck interval: asks the registry, which answers
    expect(await gate.authorize(g)).toMatchObject({ kind: 'allow', userId: 'u1' });
    down = true;
    now = 50_000; // registry down, last confirmation 40 s ago: within grace
    expect(await gate.authorize(g)).toMatchObject({ kind: 'allow', userId: 'u1' });
    now = 80_000; // 70 s since the last confirmation: refuse
    expect(await gate.authorize(g)).toEqual({ kind: 'unavailable' });
  });

  it('treats a registry that does not answer within checkTimeoutMs as down (grace applies)', async () => {
    let now = 0;
    let hang = false;
    const sessions = createDeviceSessions({ ttlMs: 3_600_000, now: () => now });
    const gate = createVisitorGate({
      auth: { canAccessDevice: () => (hang ? new Promise<boolean>(() => {}) : Promise.resolve(true)) },
      sessions,
      tickets: createTicketStore(),
      portalHost: 'portal.test',
      recheckMs: 5_000,
      graceMs: 60_000,
      checkTimeoutMs: 20,
      now: () => now,
    });
    const token = (await sessions.create('u1', 'd1', 'an1'))!;
    const g = { req: req({ cookie: `porthole_device=${token}` }), device, hostWithPort: 'an1.d.test', target: '/', proto: 'https' as const };
    now = 10_000;
    expect(await gate.authorize(g)).toMatchObject({ kind: 'allow', userId: 'u1' });
    hang = true;
    now = 20_000;
    expect(await gate.authorize(g)).toMatchObject({ kind: 'allow', userId: 'u1' });
    now = 80_000;
    expect(await gate.authorize(g)).toEqual({ kind: 'unavailable' });
  });

  it('builds the portal login URL with host and next', async () => {
    const gate = createVisitorGate({ auth: { canAccessDevice: async () => false }, sessions: createDeviceSessions({ ttlMs: 1 }), tickets: createTicketStore(), portalHost: 'portal.test' });
    const d = await gate.authorize({ req: req({}), device, hostWithPort: 'an1.d.test:8080', target: '/a?b=c&d', proto: 'http' });
    expect(d).toEqual({ kind: 'login', location: 'http://portal.test:8080/auth/device?host=an1.d.test%3A8080&next=%2Fa%3Fb%3Dc%26d' });
  });

  it.each([
    ['/ok?x=1', '/ok?x=1'],
    ['//evil.com', '/'],
    ['/\\evil.com', '/'],
    ['https://evil.com', '/'],
    ['javascript:alert(1)', '/'],
    ['/a\r\nSet-Cookie: x', '/'],
    ['/.porthole/auth?ticket=x', '/'],
    ['', '/'],
    [null, '/'],
  ])('safeNext(%j) = %j', (input, out) => {
    expect(safeNext(input)).toBe(out);
  });
});
