// Single-host mode (PORTHOLE_DEVICE_HOST): one host name serves every device, and a host-only cookie
// says which device a visitor's requests go to. The selection cookie carries the serial and an HMAC
// binding it to the visitor's device session (or to no session, for a public device), so neither a
// device's scripts nor a sibling host can set a selection the hub did not issue. This module turns a
// request on that host into the serial the device proxy then serves like a serial host's.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { readCookies } from './device-sessions.js';
import { bearerToken, hasHubTokenPrefix } from './hub-credentials.js';
import { isValidSerial } from './host-router.js';
import type { SingleHostGrant, TicketStore } from './ticket-store.js';

export const SELECT_PATH = '/.porthole/select';
export const AUTH_PATH = '/.porthole/auth';

/**
 * Sent when the selection changes. All devices share this origin's storage and HTTP cache: the
 * previous device's service workers, localStorage, IndexedDB and cached responses go, and pages of
 * that origin still open elsewhere are reloaded where the browser supports "executionContexts" (so
 * a page of the previous device does not stay around to read the next one). Secure contexts only.
 */
export const CLEAR_ON_SWITCH = '"cache", "storage", "executionContexts"';

export interface SingleHostCookies {
  /** The device session (a token bound to the selected device). */
  session: string;
  /** The selection: `<serial>.<mac>`. */
  selection: string;
}

/** Over TLS `__Host-` (Secure, Path=/, no Domain): a sibling host cannot set them for this one. */
export function singleHostCookies(secure: boolean): SingleHostCookies {
  return secure
    ? { session: '__Host-porthole_device', selection: '__Host-porthole_select' }
    : { session: 'porthole_device', selection: 'porthole_select' };
}

/** The visitor's valid selection: the device and the session token it is bound to (none for a public device's). */
export interface Selection {
  serial: string;
  sessionToken: string | undefined;
}

const MAC_LENGTH = 22;

function mac(key: Uint8Array, serial: string, sessionToken: string | undefined): string {
  return createHmac('sha256', key)
    .update(`porthole-select:v1\n${serial}\n${sessionToken ?? ''}`)
    .digest('base64url')
    .slice(0, MAC_LENGTH);
}

/** The selection cookie's value for `serial`, bound to `sessionToken`. */
export function selectionValue(key: Uint8Array, serial: string, sessionToken: string | undefined): string {
  return `${serial}.${mac(key, serial, sessionToken)}`;
}

function sameMac(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/**
 * The selection a request carries, checked against the session tokens it carries: a value whose
 * MAC fits no session of this request (nor "no session") is ignored, whoever set it.
 */
export function readSelection(key: Uint8Array, cookieHeader: string | undefined, cookies: SingleHostCookies): Selection | undefined {
  const values = readCookies(cookieHeader, cookies.selection);
  if (values.length === 0) return undefined;
  const tokens = readCookies(cookieHeader, cookies.session).slice(0, 4);
  for (const value of values.slice(0, 4)) {
    const dot = value.lastIndexOf('.');
    if (dot <= 0) continue;
    const serial = value.slice(0, dot);
    const tag = value.slice(dot + 1);
    if (!isValidSerial(serial) || tag.length !== MAC_LENGTH) continue;
    for (const token of [...tokens, undefined]) {
      if (sameMac(tag, mac(key, serial, token))) return { serial, sessionToken: token };
    }
  }
  return undefined;
}

export function selectionCookie(cookies: SingleHostCookies, value: string, opts: { secure: boolean; maxAgeSeconds: number }): string {
  return `${cookies.selection}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${opts.maxAgeSeconds}${opts.secure ? '; Secure' : ''}`;
}

export function sessionCookie(cookies: SingleHostCookies, token: string, opts: { secure: boolean; maxAgeSeconds: number }): string {
  return `${cookies.session}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${opts.maxAgeSeconds}${opts.secure ? '; Secure' : ''}`;
}

export function clearCookie(name: string, secure: boolean): string {
  return `${name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${secure ? '; Secure' : ''}`;
}

/** What the single host knows about a request before the device proxy takes it. */
export interface SingleHostRequest {
  cookies: SingleHostCookies;
  /** Where the portal is, for sign-in and the device picker (scheme, host, port). */
  portalOrigin: string;
  /** The visitor's valid selection, if any. */
  selection: Selection | undefined;
  /** A ticket redeemed at /.porthole/auth (it names the device to select). */
  grant?: SingleHostGrant;
}

/** How a request on the single host continues: to the device proxy with a serial, or answered here. */
export type SingleHostRoute =
  | { kind: 'device'; serial: string; single: SingleHostRequest }
  /** Nothing selected: browsers go to the portal's device picker. */
  | { kind: 'pick'; location: string }
  | { kind: 'bad-serial' }
  | { kind: 'bad-ticket' };

export interface SingleHostOptions {
  /** HMAC key of the selection cookie; the same on every hub node. */
  key: Uint8Array;
  tickets: TicketStore;
  secure: (proto: 'http' | 'https') => boolean;
  portalOrigin: (proto: 'http' | 'https', hostWithPort: string) => string;
}

function queryOf(target: string): URLSearchParams {
  const q = target.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
}

export function createSingleHost(o: SingleHostOptions) {
  return {
    /** Which device a request on the single host is for (`path` without the query). */
    async route(req: IncomingMessage, path: string, target: string, proto: 'http' | 'https', hostWithPort: string): Promise<SingleHostRoute> {
      const cookies = singleHostCookies(o.secure(proto));
      const portalOrigin = o.portalOrigin(proto, hostWithPort);
      const selection = readSelection(o.key, req.headers.cookie, cookies);
      const single: SingleHostRequest = { cookies, portalOrigin, selection };
      if (path === SELECT_PATH) {
        const serial = queryOf(target).get('serial')?.trim().toLowerCase() ?? '';
        if (!isValidSerial(serial)) return { kind: 'bad-serial' };
        return { kind: 'device', serial, single };
      }
      if (path === AUTH_PATH) {
        const grant = await o.tickets.redeemForSingleHost(queryOf(target).get('ticket') ?? '');
        if (!grant) return { kind: 'bad-ticket' };
        return { kind: 'device', serial: grant.serial, single: { ...single, grant } };
      }
      // Tools (CLI, scripts) carry a hub API token and name the device in the query: a browser never
      // attaches such a token by itself, and the gate refuses an invalid one before any cookie counts.
      const token = bearerToken(req.headers);
      const named = queryOf(target).get('serial')?.toLowerCase();
      if (token !== undefined && hasHubTokenPrefix(token) && named !== undefined && isValidSerial(named)) {
        return { kind: 'device', serial: named, single: { ...single, selection: undefined } };
      }
      if (!selection) {
        const q = new URLSearchParams({ host: hostWithPort, next: target.startsWith('/.porthole/') ? '/' : target });
        return { kind: 'pick', location: `${portalOrigin}/auth/device?${q.toString()}` };
      }
      return { kind: 'device', serial: selection.serial, single };
    },
  };
}

export type SingleHost = ReturnType<typeof createSingleHost>;
