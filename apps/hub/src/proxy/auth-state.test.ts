import { describe, expect, it } from 'vitest';
import { createDeviceSessions, deviceCookie, readCookies } from './device-sessions.js';
import { createTicketStore, hashSecret } from './ticket-store.js';
import { createVisitorGate, safeNext } from './visitor-gate.js';
import type { DeviceRoute } from './contracts.js';
import type { IncomingMessage } from 'node:http';

describe('ticket store', () => {
  it('issues 32-byte base64url tickets, stored only as hashes, redeemable once for one serial', () => {
    let now = 1_000;
    const store = createTicketStore({ now: () => now });
    const t = store.issue('u1', 'an1', '/x');
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(t, 'base64url')).toHaveLength(32);
    expect(store.redeem(t, 'an1')).toEqual({ userId: 'u1', next: '/x' });
    expect(store.redeem(t, 'an1')).toBeUndefined();
    expect(hashSecret(t)).not.toBe(t);
    now += 1;
  });

  it('expires after 60 s and is consumed by a wrong-serial attempt', () => {
    let now = 0;
    const store = createTicketStore({ now: () => now });
    const a = store.issue('u', 'an1', '/');
    now = 59_999;
    const b = store.issue('u', 'an1', '/');
    now = 60_000;
    expect(store.redeem(a, 'an1')).toBeUndefined();
    expect(store.redeem(b, 'an2')).toBeUndefined();
    expect(store.redeem(b, 'an1')).toBeUndefined();
    // Expired entries are swept on the next issue.
    now = 200_000;
    store.issue('u', 'an1', '/');
    expect(store.size).toBe(1);
  });

  it('refuses malformed tickets without touching the map', () => {
    const store = createTicketStore();
    for (const bad of ['', 'x', 'a'.repeat(44), '../../etc', null as unknown as string]) expect(store.redeem(bad, 'an1')).toBeUndefined();
  });

  it('bounds outstanding tickets', () => {
    const store = createTicketStore({ maxEntries: 3 });
    const first = store.issue('u', 'an1', '/');
    for (let i = 0; i < 3; i++) store.issue('u', 'an1', '/');
    expect(store.size).toBe(3);
    expect(store.redeem(first, 'an1')).toBeUndefined();
  });
});

describe('device sessions', () => {
  it('binds a session to its device host and expires it', () => {
    let now = 0;
    const s = createDeviceSessions({ ttlMs: 1000, now: () => now });
    const token = s.create('u1', 'd1', 'an1');
    expect(s.lookup(token, 'an1')).toMatchObject({ userId: 'u1', deviceId: 'd1' });
    expect(s.lookup(token, 'an2')).toBeUndefined();
    now = 1000;
    expect(s.lookup(token, 'an1')).toBeUndefined();
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
    const token = sessions.create('u1', 'd1', 'an1');
    const g = { req: req({ cookie: `porthole_device=${token}` }), device, hostWithPort: 'an1.d.test', target: '/', proto: 'https' as const };
    now = 10_000; // past the recheck interval: asks the registry, which answers
    expect(await gate.authorize(g)).toEqual({ kind: 'allow', userId: 'u1' });
    down = true;
    now = 50_000; // registry down, last confirmation 40 s ago: within grace
    expect(await gate.authorize(g)).toEqual({ kind: 'allow', userId: 'u1' });
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
    const token = sessions.create('u1', 'd1', 'an1');
    const g = { req: req({ cookie: `porthole_device=${token}` }), device, hostWithPort: 'an1.d.test', target: '/', proto: 'https' as const };
    now = 10_000;
    expect(await gate.authorize(g)).toEqual({ kind: 'allow', userId: 'u1' });
    hang = true;
    now = 20_000;
    expect(await gate.authorize(g)).toEqual({ kind: 'allow', userId: 'u1' });
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
