// The hub's own endpoints and edge cases of resource isolation on device hosts, on the HTTP edge with
// local stand-in devices: sign-in links only as navigations, no cross-origin sign-out, two
// Authorization headers refused, public devices served anonymously across origins, and refusals
// that never reach the device.
import { describe, expect, it } from 'vitest';
import { DOMAIN, fakeAuth, request, route, signIn, useDeviceBehindHub, type TestDevice, type TestEdgeHub } from '@porthole/hub/testing';

const OWNERS = 'an54000001';
const PUBLIC = 'an54000002';
const SIBLING = `http://an54000009.${DOMAIN}`;

describe('device-host edge: isolation of the hub’s endpoints and of public devices', () => {
  let device: TestDevice;
  let h: TestEdgeHub;
  useDeviceBehindHub(
    { devices: [route(OWNERS, { accessPolicy: 'owners' }), route(PUBLIC, { accessPolicy: 'public' })], auth: fakeAuth([['alice', `dev-${OWNERS}`]], { ph_api_alice: 'alice' }) },
    (bed) => ({ device, h } = bed),
  );

  const host = (serial: string) => `${serial}.${DOMAIN}`;
  const image = { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' };

  it('redeems a sign-in link only as a top-level navigation, and a refused attempt does not use it up', async () => {
    const ticket = await h.tickets.issue('alice', OWNERS, '/');
    const embedded = await request(h.port, host(OWNERS), `/.porthole/auth?ticket=${ticket}`, { headers: image });
    expect(embedded.status).toBe(403);
    expect(embedded.headers['set-cookie']).toBeUndefined();
    const navigation = await request(h.port, host(OWNERS), `/.porthole/auth?ticket=${ticket}`, {
      headers: { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' },
    });
    expect(navigation.status).toBe(302);
    expect(navigation.headers['set-cookie']?.[0]).toMatch(/^porthole_device=/);
  });

  it('refuses a sign-out started by another origin and keeps the session', async () => {
    const cookie = await signIn(h, 'alice', OWNERS);
    const forged = await request(h.port, host(OWNERS), '/.porthole/logout', { headers: { cookie, ...image } });
    expect(forged.status).toBe(403);
    expect((await request(h.port, host(OWNERS), '/', { headers: { cookie } })).status).toBe(200);
    const own = await request(h.port, host(OWNERS), '/.porthole/logout', { headers: { cookie, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } });
    expect(own.status).toBe(200);
    expect((await request(h.port, host(OWNERS), '/', { headers: { cookie } })).status).toBe(302);
  });

  it('refuses two Authorization headers (the proxy judges exactly what it would forward)', async () => {
    const before = device.seen.length;
    const res = await request(h.port, host(PUBLIC), '/', { headers: { authorization: ['Bearer device-own-token-0123456789abcdef', 'Bearer ph_api_alice'] } });
    expect(res.status).toBe(400);
    expect(device.seen.length).toBe(before);
  });

  it('forwards another origin’s request to a public device with no cookies and no Authorization at all', async () => {
    const before = device.seen.length;
    const res = await request(h.port, host(PUBLIC), '/relay', {
      method: 'POST',
      headers: { origin: SIBLING, 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'empty', cookie: 'devsess=1; porthole_device=x', authorization: 'Basic dXNlcjpwdw==' },
      body: 'off',
    });
    expect(res.status).toBe(200);
    const seen = device.seen[before]!;
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.body.toString()).toBe('off');
    // The same request from the device's own page keeps the device's own credentials.
    const own = await request(h.port, host(PUBLIC), '/relay', {
      method: 'POST',
      headers: { origin: `http://${host(PUBLIC)}`, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty', cookie: 'devsess=1; porthole_device=x', authorization: 'Basic dXNlcjpwdw==' },
      body: 'off',
    });
    expect(own.status).toBe(200);
    expect(device.seen[before + 1]!.headers).toMatchObject({ cookie: 'devsess=1', authorization: 'Basic dXNlcjpwdw==' });
  });

  it('answers a refused owners-device request itself, closes instead of reading an unread body, and logs it', async () => {
    const cookie = await signIn(h, 'alice', OWNERS);
    const before = device.seen.length;
    const logged = h.accessLog.entries.length;
    const res = await request(h.port, host(OWNERS), '/settings', { method: 'POST', headers: { cookie, origin: SIBLING, 'content-type': 'text/plain' }, body: 'x'.repeat(10_000) });
    expect(res.status).toBe(403);
    expect(res.headers.connection).toBe('close');
    expect(res.body).toContain('Request from another site refused');
    expect(device.seen.length).toBe(before);
    expect(h.accessLog.entries[logged]).toMatchObject({ serial: OWNERS, method: 'POST', status: 403, userId: null });
  });
});
