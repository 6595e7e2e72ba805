// Installer links at the visitor gate: a link opens a session for its device alone, read-only
// links allow GET and HEAD over HTTP only (no other method, WebSocket, TCP or console page), and
// the holder's access is re-checked (a revoked link stops working on the next check).
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { DeviceRoute, InstallerLinkRedemption, VisitorAuth } from './contracts.js';
import { createDeviceSessions } from './device-sessions.js';
import { createTicketStore } from './ticket-store.js';
import { type GateRequest, createVisitorGate } from './visitor-gate.js';

const device: DeviceRoute = { id: 'd1', serial: 'an1', tunnelIp: '100.64.0.2', status: 'enabled', accessPolicy: 'owners', online: true, lastSeenAt: null };
const other: DeviceRoute = { ...device, id: 'd2', serial: 'an2' };
const FULL = 'ph_link_full';
const READ_ONLY = 'ph_link_read';
const navigate = { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
const sameOrigin = { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty', origin: 'https://an1.example.io' };

function setup() {
  let now = 1_000_000;
  const revoked = new Set<string>();
  const links: Record<string, { id: string; readOnly: boolean; deviceId: string; expiresAt: number }> = {
    [FULL]: { id: 'l-full', readOnly: false, deviceId: 'd1', expiresAt: now + 3_600_000 },
    [READ_ONLY]: { id: 'l-read', readOnly: true, deviceId: 'd1', expiresAt: now + 3_600_000 },
  };
  const auth: VisitorAuth = {
    async canAccessDevice(principal, deviceId) {
      const link = Object.values(links).find((l) => `link:${l.id}` === principal);
      return !!link && link.deviceId === deviceId && !revoked.has(link.id) && link.expiresAt > now;
    },
  };
  const sessions = createDeviceSessions({ ttlMs: 24 * 3_600_000, now: () => now });
  const gate = createVisitorGate({
    auth,
    sessions,
    tickets: createTicketStore(),
    portalHost: 'portal.example.io',
    now: () => now,
    links: {
      async redeem(token, deviceId): Promise<InstallerLinkRedemption> {
        const link = links[token];
        if (!link || link.deviceId !== deviceId) return { ok: false, reason: 'unknown' };
        if (revoked.has(link.id)) return { ok: false, reason: 'revoked', at: new Date(now) };
        if (link.expiresAt <= now) return { ok: false, reason: 'expired', at: new Date(link.expiresAt) };
        return { ok: true, principal: `link:${link.id}`, readOnly: link.readOnly, expiresAt: new Date(link.expiresAt) };
      },
    },
  });
  const ask = (d: DeviceRoute, cookie: string, method = 'GET', kind: GateRequest['kind'] = 'http', requireUser = false) =>
    gate.authorize({
      req: { method, headers: { ...(method === 'GET' && kind === 'http' ? navigate : sameOrigin), cookie: `porthole_device=${cookie}` } } as unknown as IncomingMessage,
      device: d,
      hostWithPort: `${d.serial}.example.io`,
      target: '/',
      proto: 'https',
      kind,
      ...(requireUser ? { requireUser } : {}),
    });
  return { gate, sessions, ask, revoked, advance: (ms: number) => (now += ms) };
}

describe('installer links at the gate', () => {
  it('a link opens its device with every method; the session is worthless on another device', async () => {
    const { gate, ask } = setup();
    const opened = await gate.redeemLink(FULL, device, '192.0.2.1');
    expect(opened).toMatchObject({ ok: true, principal: 'link:l-full' });
    if (!opened.ok) return;
    expect(await ask(device, opened.token)).toMatchObject({ kind: 'allow', userId: 'link:l-full' });
    expect(await ask(device, opened.token, 'POST')).toMatchObject({ kind: 'allow' });
    expect(await ask(device, opened.token, 'GET', 'tcp')).toMatchObject({ kind: 'allow' });
    expect((await ask(other, opened.token)).kind).toBe('login');
    expect(await gate.redeemLink(FULL, other, null)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('a read-only link: GET and HEAD over HTTP; other methods, WebSockets, TCP and console pages refused', async () => {
    const { gate, ask } = setup();
    const opened = await gate.redeemLink(READ_ONLY, device, null);
    if (!opened.ok) throw new Error('not opened');
    expect(await ask(device, opened.token)).toMatchObject({ kind: 'allow' });
    expect(await ask(device, opened.token, 'HEAD')).toMatchObject({ kind: 'allow' });
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) expect(await ask(device, opened.token, method)).toMatchObject({ kind: 'refused', status: 403, reason: 'read_only' });
    expect(await ask(device, opened.token, 'GET', 'websocket')).toMatchObject({ kind: 'refused', reason: 'read_only' });
    expect(await ask(device, opened.token, 'GET', 'tcp')).toMatchObject({ kind: 'refused', reason: 'read_only' });
    expect(await ask(device, opened.token, 'GET', 'http', true)).toMatchObject({ kind: 'refused', reason: 'read_only' });
  });

  it('a revoked link is refused and its session ends at the next access check', async () => {
    const { gate, ask, revoked, advance } = setup();
    const opened = await gate.redeemLink(FULL, device, null);
    if (!opened.ok) throw new Error('not opened');
    revoked.add('l-full');
    expect(await gate.redeemLink(FULL, device, null)).toMatchObject({ ok: false, reason: 'revoked' });
    advance(10_000);
    expect(await ask(device, opened.token)).toMatchObject({ kind: 'forbidden' });
    expect((await ask(device, opened.token)).kind).toBe('login');
  });

  it('the session of a link ends when the link expires, before the usual session lifetime', async () => {
    const { gate, ask, advance } = setup();
    const opened = await gate.redeemLink(FULL, device, null);
    if (!opened.ok) throw new Error('not opened');
    advance(3_600_000);
    expect((await ask(device, opened.token)).kind).toBe('login');
    expect(await gate.redeemLink(FULL, device, null)).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('without installer links configured every link is unknown', async () => {
    const gate = createVisitorGate({ auth: { canAccessDevice: async () => false }, sessions: createDeviceSessions({ ttlMs: 1000 }), tickets: createTicketStore(), portalHost: 'p' });
    expect(await gate.redeemLink(FULL, device, null)).toEqual({ ok: false, reason: 'unknown' });
  });
});

describe('read-only grants at the gate', () => {
  function grantSetup() {
    let now = 1_000_000;
    let readOnly = true;
    const asked: string[] = [];
    const auth: VisitorAuth = {
      canAccessDevice: async (userId, deviceId) => userId === 'bob' && deviceId === 'd1',
      async readOnlyFor(userId, deviceId) {
        asked.push(`${userId}|${deviceId}`);
        return readOnly;
      },
      userForBearerToken: async (token) => (token === 'ph_api_bob' ? { userId: 'bob', scopes: ['read', 'write'] } : null),
    };
    const tickets = createTicketStore();
    const gate = createVisitorGate({ auth, sessions: createDeviceSessions({ ttlMs: 3_600_000, now: () => now }), tickets, portalHost: 'portal.example.io', now: () => now });
    const ask = (headers: Record<string, string>, method = 'GET', kind: GateRequest['kind'] = 'http') =>
      gate.authorize({ req: { method, headers } as unknown as IncomingMessage, device, hostWithPort: 'an1.example.io', target: '/', proto: 'https', kind });
    return { gate, tickets, ask, asked, setReadOnly: (v: boolean) => (readOnly = v), advance: (ms: number) => (now += ms) };
  }

  it('a session of a read-only grantee: GET passes; POST, WebSockets and TCP are refused from the first request on', async () => {
    const { gate, tickets, ask, asked } = grantSetup();
    const ticket = await tickets.issue('bob', 'an1', '/');
    const redeemed = await gate.redeem(ticket, device, null);
    expect(asked).toEqual(['bob|d1']);
    const cookie = { cookie: `porthole_device=${redeemed!.token}` };
    expect(await ask({ ...navigate, ...cookie })).toMatchObject({ kind: 'allow', userId: 'bob' });
    expect(await ask({ ...sameOrigin, ...cookie }, 'POST')).toMatchObject({ kind: 'refused', status: 403, reason: 'read_only', message: expect.stringContaining('Your access to this device is read-only') });
    expect(await ask({ ...sameOrigin, ...cookie }, 'GET', 'websocket')).toMatchObject({ kind: 'refused', reason: 'read_only' });
    expect(await ask({ ...sameOrigin, ...cookie }, 'GET', 'tcp')).toMatchObject({ kind: 'refused', reason: 'read_only' });
  });

  it('a grant made full again lifts the limit at the next access check; API tokens follow the grant too', async () => {
    const { gate, tickets, ask, setReadOnly, advance } = grantSetup();
    const redeemed = await gate.redeem(await tickets.issue('bob', 'an1', '/'), device, null);
    const cookie = { cookie: `porthole_device=${redeemed!.token}` };
    expect(await ask({ authorization: 'Bearer ph_api_bob' }, 'POST')).toMatchObject({ kind: 'refused', reason: 'read_only' });
    setReadOnly(false);
    expect(await ask({ authorization: 'Bearer ph_api_bob' }, 'POST')).toMatchObject({ kind: 'allow' });
    advance(10_000);
    expect(await ask({ ...sameOrigin, ...cookie }, 'POST')).toMatchObject({ kind: 'allow', userId: 'bob' });
  });
});
