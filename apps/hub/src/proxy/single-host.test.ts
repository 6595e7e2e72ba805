// The single device host's parts: the setting and routing by host and port, the selection cookie's
// binding to the device session (a value set by anyone but the hub is ignored), tickets that work
// on one kind of host only, and device cookies kept per device on the shared origin.
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { namespaceSetCookie, ownCookieName, requestHeadersForDevice, responseHeadersForVisitor, stripHubCookies } from './forward-headers.js';
import { matchesDeviceHost, parseDeviceHostSetting, routeHost } from './host-router.js';
import { createSingleHost, readSelection, selectionValue, singleHostCookies } from './single-host.js';
import { createTicketStore } from './ticket-store.js';

const KEY = new Uint8Array(32).fill(7);
const TOKEN_A = 'a'.repeat(43);
const TOKEN_B = 'b'.repeat(43);
const cookies = singleHostCookies(false);

function request(headers: Record<string, string>): IncomingMessage {
  return { headers, rawHeaders: Object.entries(headers).flat() } as unknown as IncomingMessage;
}

describe('PORTHOLE_DEVICE_HOST', () => {
  it.each([
    ['devices.example.io', { host: 'devices.example.io' }],
    ['Devices.Example.IO.', { host: 'devices.example.io' }],
    ['devices.example.io:8443', { host: 'devices.example.io', port: '8443' }],
    ['192.0.2.10', { host: '192.0.2.10' }],
    ['192.0.2.10:08080', { host: '192.0.2.10', port: '8080' }],
    ['[2001:db8::1]:8443', { host: '[2001:db8::1]', port: '8443' }],
  ])('accepts %s', (value, expected) => {
    expect(parseDeviceHostSetting(value)).toEqual(expected);
  });

  it.each(['', 'https://devices.example.io', 'devices.example.io/x', 'devices_example.io', 'devices.example.io:0', 'devices.example.io:70000', '[zz::1]', '[::1', '300.1.1.1:80x'])(
    'refuses %j',
    (value) => {
      expect(parseDeviceHostSetting(value)).toBeUndefined();
    },
  );

  it('routes the single host before the portal and serial hosts; a port in the setting must match', () => {
    const opts = { domain: 'example.io', portalHost: 'portal.example.io', deviceHost: { host: 'devices.example.io' } };
    expect(routeHost('devices.example.io:8443', opts)).toEqual({ kind: 'single', host: 'devices.example.io', port: '8443' });
    expect(routeHost('an12345678.example.io', opts)).toMatchObject({ kind: 'device', serial: 'an12345678' });
    expect(routeHost('portal.example.io', opts).kind).toBe('portal');
    // The portal and the device host on one IP address, told apart by port.
    const ip = { domain: 'example.io', portalHost: '192.0.2.10', deviceHost: { host: '192.0.2.10', port: '8081' } };
    expect(routeHost('192.0.2.10:8081', ip).kind).toBe('single');
    expect(routeHost('192.0.2.10:8080', ip).kind).toBe('portal');
    expect(routeHost('192.0.2.10', ip).kind).toBe('portal');
    expect(matchesDeviceHost({ host: '192.0.2.10', port: '8081' }, '192.0.2.10:8081')).toBe(true);
    expect(matchesDeviceHost({ host: '192.0.2.10', port: '8081' }, '192.0.2.10:8080')).toBe(false);
  });
});

describe('the selection cookie', () => {
  it('is valid only with the session it was issued with, or with none for a public device', () => {
    const boundToA = selectionValue(KEY, 'an1', TOKEN_A);
    expect(readSelection(KEY, `porthole_select=${boundToA}; porthole_device=${TOKEN_A}`, cookies)).toEqual({ serial: 'an1', sessionToken: TOKEN_A });
    // The same value next to another session (or none) is worthless: copied or tossed, it selects nothing.
    expect(readSelection(KEY, `porthole_select=${boundToA}; porthole_device=${TOKEN_B}`, cookies)).toBeUndefined();
    expect(readSelection(KEY, `porthole_select=${boundToA}`, cookies)).toBeUndefined();
    const open = selectionValue(KEY, 'pub1', undefined);
    expect(readSelection(KEY, `porthole_select=${open}; porthole_device=${TOKEN_A}`, cookies)).toEqual({ serial: 'pub1', sessionToken: undefined });
  });

  it('ignores values the hub did not issue: another key, an edited serial, plain serials, junk', () => {
    const other = selectionValue(new Uint8Array(32).fill(8), 'an1', undefined);
    const edited = selectionValue(KEY, 'an1', undefined).replace('an1', 'an2');
    for (const v of [other, edited, 'an1', 'an1.', '.x', 'AN1.' + 'x'.repeat(22), 'a'.repeat(5000)]) {
      expect(readSelection(KEY, `porthole_select=${v}`, cookies)).toBeUndefined();
    }
    // A tossed duplicate next to the real one does not hide it.
    const real = selectionValue(KEY, 'an1', TOKEN_A);
    expect(readSelection(KEY, `porthole_select=an2.forged; porthole_select=${real}; porthole_device=${TOKEN_A}`, cookies)?.serial).toBe('an1');
  });

  it('has __Host- names over TLS', () => {
    expect(singleHostCookies(true)).toEqual({ session: '__Host-porthole_device', selection: '__Host-porthole_select' });
  });
});

describe('routing a request on the single host', () => {
  const tickets = createTicketStore();
  const host = createSingleHost({ key: KEY, tickets, secure: () => false, portalOrigin: (proto) => `${proto}://portal.example.io` });
  const route = (target: string, headers: Record<string, string> = {}) => host.route(request(headers), target.split('?')[0]!, target, 'http', 'devices.example.io');

  it('sends a visitor without a selection to the portal picker, keeping the path', async () => {
    expect(await route('/status?x=1')).toEqual({ kind: 'pick', location: 'http://portal.example.io/auth/device?host=devices.example.io&next=%2Fstatus%3Fx%3D1' });
  });

  it('follows a valid selection; /.porthole/select names its device; a ticket names its device once', async () => {
    const value = selectionValue(KEY, 'an1', TOKEN_A);
    expect(await route('/x', { cookie: `porthole_select=${value}; porthole_device=${TOKEN_A}` })).toMatchObject({ kind: 'device', serial: 'an1' });
    expect(await route('/.porthole/select?serial=AN2')).toMatchObject({ kind: 'device', serial: 'an2' });
    expect(await route('/.porthole/select?serial=../x')).toEqual({ kind: 'bad-serial' });
    const ticket = await tickets.issueForSingleHost({ serial: 'an3', userId: 'u1', next: '/' });
    expect(await route(`/.porthole/auth?ticket=${ticket}`)).toMatchObject({ kind: 'device', serial: 'an3', single: { grant: { serial: 'an3', userId: 'u1' } } });
    expect(await route(`/.porthole/auth?ticket=${ticket}`)).toEqual({ kind: 'bad-ticket' });
  });

  it('lets a hub API token name the device in the query, never a cookie-only request', async () => {
    expect(await route('/.porthole/tcp?port=22&serial=an7', { authorization: 'Bearer ph_api_xyz' })).toMatchObject({ kind: 'device', serial: 'an7' });
    expect((await route('/.porthole/tcp?port=22&serial=an7', { authorization: 'Bearer not-the-hubs' })).kind).toBe('pick');
    expect((await route('/.porthole/tcp?port=22&serial=an7')).kind).toBe('pick');
  });
});

describe('tickets by kind of host', async () => {
  it('a serial-host ticket does not select on the single host, and the reverse', async () => {
    const tickets = createTicketStore();
    const serialTicket = await tickets.issue('u1', 'an1', '/');
    expect(await tickets.redeemForSingleHost(serialTicket)).toBeUndefined();
    // Consumed by the wrong-host try, as any ticket is by any attempt.
    expect(await tickets.redeem(serialTicket, 'an1')).toBeUndefined();
    const single = await tickets.issueForSingleHost({ serial: 'an1', userId: null, next: '/' });
    expect(await tickets.redeem(single, 'an1')).toBeUndefined();
    const again = await tickets.issueForSingleHost({ serial: 'an1', userId: null, next: '/n' });
    expect(await tickets.redeemForSingleHost(again)).toEqual({ serial: 'an1', userId: null, next: '/n' });
  });
});

describe('device cookies on the shared origin', async () => {
  it('stores HttpOnly cookies under the device serial and returns them to that device only', async () => {
    expect(namespaceSetCookie('sid=s3cret; Path=/; HttpOnly', 'an1')).toBe('an1~sid=s3cret; Path=/; HttpOnly');
    expect(namespaceSetCookie('__Host-sid=x; Secure; Path=/; httponly', 'an1')).toBe('__Host-an1~sid=x; Secure; Path=/; httponly');
    // Scripts read these by name: left alone.
    expect(namespaceSetCookie('lang=de; Path=/', 'an1')).toBe('lang=de; Path=/');
    expect(ownCookieName('an1~sid', 'an1')).toBe('sid');
    expect(ownCookieName('an2~sid', 'an1')).toBeNull();
    expect(ownCookieName('__Host-an1~sid', 'an1')).toBe('__Host-sid');
    expect(ownCookieName('lang', 'an1')).toBe('lang');
    expect(stripHubCookies(['an1~sid=a; an2~sid=b; lang=de; porthole_select=x; porthole_device=y'], 'an1')).toBe('sid=a; lang=de');
    expect(stripHubCookies(['an1~sid=a; lang=de'], 'an2')).toBe('lang=de');
  });

  it('forwards and answers with the namespace, and responses vary by Cookie', async () => {
    const req = request({ host: 'devices.example.io', cookie: 'an1~sid=a; an2~sid=b' });
    const out = requestHeadersForDevice(req, { host: 'devices.example.io', client: { ip: '192.0.2.1', proto: 'https', forwardedFor: '192.0.2.1' }, dropAuthorization: false, cookieNamespace: 'an2' });
    expect(out[out.indexOf('Cookie') + 1]).toBe('sid=b');
    const res = responseHeadersForVisitor(['Set-Cookie', 'sid=new; HttpOnly', 'Content-Type', 'text/html'], { cookieNamespace: 'an2' });
    expect(res).toEqual(['Set-Cookie', 'an2~sid=new; HttpOnly', 'Content-Type', 'text/html', 'Vary', 'Cookie']);
  });
});
