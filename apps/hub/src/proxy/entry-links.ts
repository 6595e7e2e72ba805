// The ways into a device session by a link on a device host, besides the portal's sign-in ticket:
// an installer link (`/.porthole/link?token=`, no account needed) and, on the single device host, the
// selection of which device the shared origin shows (`/.porthole/select`, `/.porthole/auth`).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HubMetrics } from '../ops/hub-metrics.js';
import type { Logger } from '../ops/logger.js';
import type { DeviceRoute } from './contracts.js';
import type { DeviceRequestContext } from './device-proxy.js';
import { deviceCookie } from './device-sessions.js';
import type { ForwardResult } from './http-forwarder.js';
import { isTopLevelNavigation } from './resource-isolation.js';
import { AUTH_PATH, CLEAR_ON_SWITCH, type SingleHostRequest, clearCookie, selectionCookie, selectionValue, sessionCookie } from './single-host.js';
import type { StatusPage } from './status-page.js';
import { type VisitorGate, safeNext } from './visitor-gate.js';

/** Answers with a refusal page and logs it (the device proxy's `refuse`). */
export type Refuse = (page: StatusPage, userId?: string | null) => void;

/** What the entry links need of the device proxy. */
export interface EntryDeps {
  gate: VisitorGate;
  metrics: HubMetrics;
  log: Logger;
  deviceSessionTtlMs: number;
  /** The single host's selection key (single-host.ts). */
  selectionKey?: Uint8Array;
  /** A 429 page when the client has used up its budget of misses. */
  throttled(ctx: DeviceRequestContext): StatusPage | undefined;
  /** The access log and metrics entry of a request that ended here. */
  record(ctx: DeviceRequestContext, device: DeviceRoute, method: string, userId: string | null, result: ForwardResult, kind: 'http'): void;
}

/** How one kind of link reads in its refusals (a sign-in link, an installer link). */
interface LinkKind {
  /** The query parameter that carries the secret. */
  param: 'ticket' | 'token';
  refusedTitle: string;
  refusedMessage: string;
  /** The log line when the store behind the link cannot answer. */
  unavailableLog: string;
  /** What is not possible right now, for the 503 page. */
  unavailableWhat: string;
}

/**
 * What every link on a device host does first: it works only as a top-level navigation (an image or
 * fetch on another page must not plant a session), then its secret from the query is redeemed.
 * Undefined when a refusal was sent instead.
 */
async function redeemFromLink<T>(d: EntryDeps, req: IncomingMessage, ctx: DeviceRequestContext, device: DeviceRoute, path: string, refuse: Refuse, kind: LinkKind, redeem: (secret: string | null) => Promise<T>): Promise<{ redeemed: T } | undefined> {
  if (!isTopLevelNavigation(req.headers)) {
    d.metrics.drops.inc({ reason: 'isolation' });
    refuse({ status: 403, title: kind.refusedTitle, message: kind.refusedMessage, serial: device.serial, requestId: ctx.requestId });
    return undefined;
  }
  const secret = new URLSearchParams(ctx.target.slice(path.length + 1)).get(kind.param);
  try {
    return { redeemed: await redeem(secret) };
  } catch (err) {
    d.log.warn(kind.unavailableLog, { err, requestId: ctx.requestId, device: device.serial });
    refuse({ status: 503, title: 'Temporarily unavailable', message: `${kind.unavailableWhat} is not possible right now. Try again in a moment.`, headers: { 'retry-after': '5' }, requestId: ctx.requestId });
    return undefined;
  }
}

const SIGN_IN_LINK: LinkKind = {
  param: 'ticket',
  refusedTitle: 'Sign-in link refused',
  refusedMessage: 'Sign-in links for a device work only when opened in the browser tab itself.',
  unavailableLog: 'device session store unavailable',
  unavailableWhat: 'Signing in to the device',
};

const INSTALLER_LINK: LinkKind = {
  param: 'token',
  refusedTitle: 'Installer link refused',
  refusedMessage: 'Installer links work only when opened in the browser tab itself.',
  unavailableLog: 'installer link check unavailable',
  unavailableWhat: 'Opening the installer link',
};

/** `/.porthole/auth?ticket=`: a sign-in link from the portal. Its ticket, used once, becomes a device session for the signed-in user. */
export async function openSignInLink(d: EntryDeps, req: IncomingMessage, res: ServerResponse, ctx: DeviceRequestContext, device: DeviceRoute, path: string, refuse: Refuse): Promise<void> {
  const method = req.method ?? 'GET';
  const got = await redeemFromLink(d, req, ctx, device, path, refuse, SIGN_IN_LINK, (ticket) => d.gate.redeem(ticket, device, ctx.client.ip));
  if (!got) return;
  const { redeemed } = got;
  if (!redeemed) {
    d.metrics.drops.inc({ reason: 'bad_ticket' });
    const limited = d.throttled(ctx);
    if (limited) return refuse(limited);
    return refuse({
      status: 403,
      title: 'Sign-in link expired',
      message: 'This sign-in link has expired or was already used. Open the device address again to get a new one.',
      serial: device.serial,
      requestId: ctx.requestId,
    });
  }
  enterWithSession(d, res, ctx, device, method, redeemed.token, redeemed.next, redeemed.userId);
}

/**
 * `/.porthole/link?token=`: an installer link. The holder gets a device session for this device
 * alone (read-only when the link says so), without an account; the use is logged with the link as
 * the visitor. Like a sign-in link it works only as a top-level navigation.
 */
export async function openInstallerLink(d: EntryDeps, req: IncomingMessage, res: ServerResponse, ctx: DeviceRequestContext, device: DeviceRoute, path: string, refuse: Refuse): Promise<void> {
  const method = req.method ?? 'GET';
  const got = await redeemFromLink(d, req, ctx, device, path, refuse, INSTALLER_LINK, (token) => d.gate.redeemLink(token, device, ctx.client.ip));
  if (!got) return;
  const opened = got.redeemed;
  if (!opened.ok) {
    d.metrics.drops.inc({ reason: 'bad_link' });
    const at = opened.at ? `${opened.at.toISOString().replace('T', ' ').slice(0, 16)} UTC` : '';
    if (opened.reason === 'expired') {
      return refuse({ status: 410, title: 'Installer link expired', message: `This installer link expired at ${at}. Ask the device's owner for a new one.`, serial: device.serial, requestId: ctx.requestId });
    }
    if (opened.reason === 'revoked') {
      return refuse({ status: 410, title: 'Installer link revoked', message: `The device's owner revoked this installer link${at ? ` at ${at}` : ''}. Ask them for a new one.`, serial: device.serial, requestId: ctx.requestId });
    }
    const limited = d.throttled(ctx);
    if (limited) return refuse(limited);
    return refuse({ status: 403, title: 'Installer link not valid', message: 'This installer link is not valid for this device. Check that it was copied whole, or ask the device\'s owner for a new one.', serial: device.serial, requestId: ctx.requestId });
  }
  enterWithSession(d, res, ctx, device, method, opened.token, '/', opened.principal);
}

/** A device session begins (a sign-in link or an installer link): its cookie, a redirect to `location`, one access-log line. */
export function enterWithSession(d: EntryDeps, res: ServerResponse, ctx: DeviceRequestContext, device: DeviceRoute, method: string, token: string, location: string, principal: string | null): void {
  const cookie = deviceCookie(token, { secure: ctx.client.proto === 'https', maxAgeSeconds: Math.floor(d.deviceSessionTtlMs / 1000) });
  res.writeHead(302, { location, 'set-cookie': cookie, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'content-length': 0 });
  res.end();
  d.record(ctx, device, method, principal, { status: 302, bytesIn: 0, bytesOut: 0 }, 'http');
}

/**
 * `/.porthole/select?serial=` and `/.porthole/auth?ticket=` on the single host. Both change what the
 * visitor's tab shows, so they work only as top-level navigations. The selection switches to
 * another device only with a ticket from the portal (a click there: no page on this shared origin
 * can press it) or, for a public device, when nothing is selected yet or the visitor typed the
 * address (`Sec-Fetch-Site: none`); otherwise the visitor is asked on the portal.
 */
export async function selectDevice(d: EntryDeps, req: IncomingMessage, res: ServerResponse, ctx: DeviceRequestContext, single: SingleHostRequest, device: DeviceRoute, path: string, refuse: Refuse): Promise<void> {
  const method = req.method ?? 'GET';
  if ((method !== 'GET' && method !== 'HEAD') || !isTopLevelNavigation(req.headers)) {
    d.metrics.drops.inc({ reason: 'isolation' });
    return refuse({ status: 403, title: 'Device selection refused', message: 'A device is selected only when its address is opened in the browser tab itself, never by an image, a script or a frame.', serial: device.serial, requestId: ctx.requestId });
  }
  const secure = ctx.client.proto === 'https';
  const maxAgeSeconds = Math.floor(d.deviceSessionTtlMs / 1000);
  const key = d.selectionKey;
  if (!key) throw new Error('single host without a selection key');
  const query = new URLSearchParams(ctx.target.slice(path.length + 1));
  const select = async (userId: string | null, next: string): Promise<void> => {
    let token: string | undefined;
    if (userId !== null) {
      try {
        token = await d.gate.startSession(userId, device, ctx.client.ip);
      } catch (err) {
        d.log.warn('device session store unavailable', { err, requestId: ctx.requestId, device: device.serial });
        return refuse({ status: 503, title: 'Temporarily unavailable', message: 'Opening the device is not possible right now. Try again in a moment.', headers: { 'retry-after': '5' }, requestId: ctx.requestId });
      }
      if (token === undefined) return refuse({ status: 403, title: 'No access', message: 'Your account cannot open devices right now.', serial: device.serial, requestId: ctx.requestId });
    }
    // The previous device's session ends with its selection: one device per browser at a time.
    await d.gate.signOut(req, single.cookies.session).catch((err: unknown) => d.log.warn('ending the previous device session failed', { err, requestId: ctx.requestId }));
    const cookies = [
      token ? sessionCookie(single.cookies, token, { secure, maxAgeSeconds }) : clearCookie(single.cookies.session, secure),
      selectionCookie(single.cookies, selectionValue(key, device.serial, token), { secure, maxAgeSeconds }),
    ];
    res.writeHead(302, { location: next, 'set-cookie': cookies, 'clear-site-data': CLEAR_ON_SWITCH, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'content-length': 0 });
    res.end();
    d.record(ctx, device, method, userId, { status: 302, bytesIn: 0, bytesOut: 0 }, 'http');
  };

  if (path === AUTH_PATH) {
    const grant = single.grant!;
    return select(grant.userId, safeNext(grant.next));
  }
  const next = safeNext(query.get('next'));
  if (single.selection?.serial === device.serial) {
    res.writeHead(302, { location: next, 'cache-control': 'no-store', 'content-length': 0 });
    res.end();
    return;
  }
  const typed = String(req.headers['sec-fetch-site'] ?? '').toLowerCase() === 'none';
  if (device.accessPolicy === 'public' && (single.selection === undefined || typed)) return select(null, next);
  const q = new URLSearchParams({ host: ctx.hostWithPort, serial: device.serial, next });
  res.writeHead(302, { location: `${single.portalOrigin}/auth/device?${q.toString()}`, 'cache-control': 'no-store', 'content-length': 0 });
  res.end();
}
