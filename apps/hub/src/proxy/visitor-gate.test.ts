// The visitor gate's decisions on device hosts: device cookies under resource isolation, hub API
// tokens told apart from a device's own, token scopes, and what goes on to the device.
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { DeviceRoute, VisitorAuth } from './contracts.js';
import { type DeviceSessions, createDeviceSessions } from './device-sessions.js';
import { createTicketStore } from './ticket-store.js';
import { type GateRequest, createVisitorGate } from './visitor-gate.js';

const owners: DeviceRoute = { id: 'd1', serial: 'an1', tunnelIp: '100.64.0.2', status: 'enabled', accessPolicy: 'owners', online: true, lastSeenAt: null };
const pub: DeviceRoute = { ...owners, id: 'd2', serial: 'an2', accessPolicy: 'public' };
const HOST = (d: DeviceRoute) => `${d.serial}.example.io`;
const SIBLING = 'https://an9.example.io';

const READ = 'ph_api_read-token';
const CONNECT = 'ph_api_connect-token';
const WRITE = 'ph_api_write-token';
const NO_ACCESS = 'ph_api_mallory-token';
const CUSTOM = 'operator-chosen-admin-token-0123456789';

function setup() {
  let now = 1_000_000;
  const lookups: string[] = [];
  const grants = new Set(['alice|d1', 'alice|d2']);
  const tokens: Record<string, { userId: string; scopes: string[] }> = {
    [READ]: { userId: 'alice', scopes: ['read'] },
    [CONNECT]: { userId: 'alice', scopes: ['connect'] },
    [WRITE]: { userId: 'alice', scopes: ['read', 'write'] },
    [NO_ACCESS]: { userId: 'mallory', scopes: ['read', 'write'] },
    [CUSTOM]: { userId: 'alice', scopes: ['read', 'write'] },
  };
  const auth: VisitorAuth & { down: boolean } = {
    down: false,
    async canAccessDevice(userId, deviceId) {
      if (auth.down) throw new Error('db down');
      return grants.has(`${userId}|${deviceId}`);
    },
    async userForBearerToken(token) {
      lookups.push(token);
      if (auth.down) throw new Error('db down');
      return tokens[token] ?? null;
    },
  };
  const inner = createDeviceSessions({ ttlMs: 3_600_000, now: () => now });
  const sessionLookups: string[] = [];
  const sessions: DeviceSessions = { ...inner, lookup: (t, s) => (sessionLookups.push(t), inner.lookup(t, s)) };
  const gate = createVisitorGate({ auth, sessions, tickets: createTicketStore(), portalHost: 'portal.example.io', now: () => now });
  const ask = (device: DeviceRoute, headers: Record<string, string>, method = 'GET', kind: GateRequest['kind'] = 'http') =>
    gate.authorize({ req: { method, headers } as unknown as IncomingMessage, device, hostWithPort: HOST(device), target: '/x', proto: 'https', kind });
  return { gate, auth, sessions, lookups, sessionLookups, ask, advance: (ms: number) => (now += ms) };
}

const crossFetch = { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty', origin: SIBLING };
const sameOrigin = (d: DeviceRoute) => ({ 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty', origin: `https://${HOST(d)}` });
const link = { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
const keep = { dropAuthorization: false, dropCookies: false };
const anonymous = { dropAuthorization: true, dropCookies: true };

describe('device cookies under resource isolation', () => {
  it('honours the cookie from the device’s own origin and on top-level navigations', async () => {
    const t = setup();
    const cookie = `porthole_device=${(await t.sessions.create('alice', 'd1', 'an1'))!}`;
    expect(await t.ask(owners, { cookie, ...sameOrigin(owners) }, 'POST')).toEqual({ kind: 'allow', userId: 'alice', forward: keep });
    expect(await t.ask(owners, { cookie, ...link })).toEqual({ kind: 'allow', userId: 'alice', forward: keep });
    expect(await t.ask(owners, { cookie })).toEqual({ kind: 'allow', userId: 'alice', forward: keep });
  });

  it('refuses an owners device’s cookie on another origin’s request without even reading the session', async () => {
    const t = setup();
    const cookie = `porthole_device=${(await t.sessions.create('alice', 'd1', 'an1'))!}`;
    for (const [headers, method] of [
      [crossFetch, 'GET'],
      [crossFetch, 'POST'],
      [{ ...link, origin: SIBLING }, 'POST'],
      [{ ...link, 'sec-fetch-dest': 'iframe' }, 'GET'],
      [{}, 'POST'],
    ] as const) {
      const d = await t.ask(owners, { cookie, ...headers }, method);
      expect(d, JSON.stringify(headers)).toMatchObject({ kind: 'refused', status: 403, reason: 'isolation' });
    }
    expect(t.sessionLookups).toEqual([]);
    // Without a cookie it is the usual sign-in answer.
    expect(await t.ask(owners, crossFetch)).toMatchObject({ kind: 'login' });
  });

  it('refuses a cookie-authenticated WebSocket or TCP tunnel unless Origin is the device’s', async () => {
    const t = setup();
    const cookie = `porthole_device=${(await t.sessions.create('alice', 'd1', 'an1'))!}`;
    for (const kind of ['websocket', 'tcp'] as const) {
      expect(await t.ask(owners, { cookie, origin: SIBLING }, 'GET', kind)).toMatchObject({ kind: 'refused', reason: 'isolation', title: 'Connection from another site refused' });
      expect(await t.ask(owners, { cookie }, 'GET', kind)).toMatchObject({ kind: 'refused', reason: 'isolation' });
      expect(await t.ask(owners, { cookie, origin: 'https://an1.example.io' }, 'GET', kind)).toMatchObject({ kind: 'allow', userId: 'alice' });
    }
    // /.porthole/tcp needs a user on a public device too: a foreign page gets nothing there.
    const pubCookie = `porthole_device=${(await t.sessions.create('alice', 'd2', 'an2'))!}`;
    expect(await t.ask(pub, { cookie: pubCookie, origin: SIBLING }, 'GET', 'tcp')).toMatchObject({ kind: 'refused', reason: 'isolation' });
  });

  it('forwards another origin’s request to a public device anonymously, cookie or not', async () => {
    const t = setup();
    const cookie = `porthole_device=${(await t.sessions.create('alice', 'd2', 'an2'))!}; devsess=1`;
    expect(await t.ask(pub, { cookie, ...crossFetch }, 'POST')).toEqual({ kind: 'allow', userId: null, forward: anonymous });
    expect(await t.ask(pub, { ...crossFetch, authorization: 'Basic dXNlcjpwdw==' }, 'POST')).toEqual({ kind: 'allow', userId: null, forward: anonymous });
    expect(await t.ask(pub, { origin: SIBLING }, 'GET', 'websocket')).toEqual({ kind: 'allow', userId: null, forward: anonymous });
    // A script with no Origin keeps the device's own credentials; the hub cookie just does not count.
    expect(await t.ask(pub, { cookie }, 'POST')).toEqual({ kind: 'allow', userId: null, forward: keep });
    // Its own pages are the visitor's.
    expect(await t.ask(pub, { cookie, ...sameOrigin(pub) }, 'POST')).toEqual({ kind: 'allow', userId: 'alice', forward: keep });
  });
});

describe('hub API tokens on device hosts', () => {
  it('holds the read scope to GET and HEAD over HTTP', async () => {
    const t = setup();
    const bearer = { authorization: `Bearer ${READ}` };
    expect(await t.ask(owners, bearer, 'GET')).toEqual({ kind: 'allow', userId: 'alice', forward: { dropAuthorization: true, dropCookies: false } });
    expect(await t.ask(owners, bearer, 'HEAD')).toMatchObject({ kind: 'allow' });
    for (const [method, kind] of [['POST', 'http'], ['DELETE', 'http'], ['GET', 'websocket'], ['GET', 'tcp']] as const) {
      expect(await t.ask(owners, bearer, method, kind), `${method} ${kind}`).toMatchObject({ kind: 'refused', status: 403, reason: 'token_scope', userId: 'alice' });
    }
    // On a public device too: the token says read-only.
    expect(await t.ask(pub, bearer, 'POST')).toMatchObject({ kind: 'refused', reason: 'token_scope' });
  });

  it('gives connect and write full access, and never forwards the token', async () => {
    const t = setup();
    for (const token of [CONNECT, WRITE]) {
      for (const [method, kind] of [['POST', 'http'], ['GET', 'websocket'], ['GET', 'tcp']] as const) {
        expect(await t.ask(owners, { authorization: `Bearer ${token}` }, method, kind)).toEqual({ kind: 'allow', userId: 'alice', forward: { dropAuthorization: true, dropCookies: false } });
      }
    }
    expect(await t.ask(pub, { authorization: `Bearer ${WRITE}` }, 'POST')).toEqual({ kind: 'allow', userId: 'alice', forward: { dropAuthorization: true, dropCookies: false } });
  });

  it('refuses an unknown, revoked or expired hub token with 401 instead of passing it on', async () => {
    const t = setup();
    for (const device of [owners, pub]) {
      expect(await t.ask(device, { authorization: 'Bearer ph_api_revoked' })).toMatchObject({ kind: 'refused', status: 401, reason: 'token_invalid' });
    }
  });

  it('treats a valid token without access as forbidden on an owners device', async () => {
    const t = setup();
    expect(await t.ask(owners, { authorization: `Bearer ${NO_ACCESS}` })).toEqual({ kind: 'forbidden', userId: 'mallory' });
  });

  it('recognises an operator-chosen token by lookup, and a device’s own token once per minute', async () => {
    const t = setup();
    expect(await t.ask(pub, { authorization: `Bearer ${CUSTOM}` }, 'POST')).toMatchObject({ kind: 'allow', forward: { dropAuthorization: true } });
    const own = 'the-device-s-own-api-token-0123456789';
    for (let i = 0; i < 5; i++) expect(await t.ask(pub, { authorization: `Bearer ${own}` }, 'POST')).toEqual({ kind: 'allow', userId: null, forward: keep });
    expect(t.lookups.filter((x) => x === own)).toHaveLength(1);
    t.advance(61_000);
    await t.ask(pub, { authorization: `Bearer ${own}` });
    expect(t.lookups.filter((x) => x === own)).toHaveLength(2);
    // Short values are never hub tokens: no lookup at all.
    await t.ask(pub, { authorization: 'Bearer abc' });
    expect(t.lookups).not.toContain('abc');
  });

  it('does not forward a token it cannot classify while the registry is down', async () => {
    const t = setup();
    t.auth.down = true;
    expect(await t.ask(pub, { authorization: 'Bearer unknown-but-long-enough-to-be-a-hub-token' })).toEqual({ kind: 'unavailable' });
    expect(await t.ask(pub, { authorization: `Bearer ${WRITE}` })).toEqual({ kind: 'unavailable' });
  });
});
