// Authentication at the proxy (shared contract "Visitor auth at the proxy"): a visitor of an
// `owners` device needs a device session (cookie from a redeemed one-time ticket) or a hub API
// token; otherwise browsers are sent to the portal's /auth/device and come back via /.porthole/auth.
// The cookie counts only on requests from the device's own origin or top-level navigations
// (resource-isolation.ts); hub tokens count with their scopes and are never forwarded. An
// organisation token opens its own organisation's devices when its role does (technician and up);
// another organisation's device answers like an unknown one.
import type { IncomingMessage } from 'node:http';
import type { BearerHolder, DeviceRoute, InstallerLinkRedemption, InstallerLinks, VisitorAuth } from './contracts.js';
import { withDeadline } from './deadline.js';
import { DEVICE_COOKIE, type DeviceSessions, readCookies } from './device-sessions.js';
import { accessNeeded, bearerToken, hasHubTokenPrefix, mayBeCustomHubToken, scopesGrant } from './hub-credentials.js';
import { type IsolationVerdict, deviceOrigin, isolationVerdict, refusalText } from './resource-isolation.js';
import { hashSecret, type TicketStore } from './ticket-store.js';

/** Which of the visitor's credentials go on to the device (hub cookies never do, see forward-headers.ts). */
export interface ForwardCredentials {
  /** Remove every Authorization header: it is the hub's token, or the request goes on anonymously. */
  dropAuthorization: boolean;
  /** Remove every cookie: a cross-origin request forwarded anonymously to a public device. */
  dropCookies: boolean;
  /** On the single device host: the selected serial; only its own namespaced cookies go on (forward-headers.ts). */
  cookieNamespace?: string | undefined;
  /** The origin the visitor used, stated to the agent (forward-headers.ts); the device proxy adds it. */
  publicOrigin?: string | undefined;
}

export type GateDecision =
  | { kind: 'allow'; userId: string | null; forward: ForwardCredentials }
  /** No credentials: browsers go to the portal login (GET/HEAD), others get 401. */
  | { kind: 'login'; location: string }
  /** Credentials valid but the user may not (or no longer) reach this device. */
  | { kind: 'forbidden'; userId: string }
  /** An organisation token on another organisation's device: answered exactly like an unknown serial. */
  | { kind: 'unknown' }
  /** Credentials the hub will not honour here; never forwarded. `reason` is the drop metric's label. */
  | { kind: 'refused'; status: 401 | 403; reason: 'isolation' | 'token_invalid' | 'token_scope' | 'read_only'; title: string; message: string; userId: string | null }
  /** The registry could not confirm access and the last confirmation is too old. */
  | { kind: 'unavailable' };

export interface VisitorGateOptions {
  auth: VisitorAuth;
  sessions: DeviceSessions;
  tickets: TicketStore;
  /** Installer links (`/.porthole/link?token=`); without them such links are refused as unknown. */
  links?: InstallerLinks;
  portalHost: string;
  /** Re-ask the registry whether a session's user may still access the device this often. */
  recheckMs?: number;
  /** Keep serving on a recent positive answer this long while the registry is down. */
  graceMs?: number;
  /** A re-check slower than this counts as "registry down" (grace applies). Default 1000 ms. */
  checkTimeoutMs?: number;
  /** How long an unprefixed bearer value that is no hub token is remembered as the device's own. Default 60 s. */
  deviceTokenMemoryMs?: number;
  now?: () => number;
}

export interface GateRequest {
  req: IncomingMessage;
  device: DeviceRoute;
  /** Device host as the visitor wrote it (with a port, if any). */
  hostWithPort: string;
  /** Origin-form target, used as `next`. */
  target: string;
  proto: 'http' | 'https';
  /** `websocket` and `tcp` are upgrades; `tcp` (/.porthole/tcp) always needs a user, even on public devices. Default `http`. */
  kind?: 'http' | 'websocket' | 'tcp';
  /** A signed-in user even on a public device (the hub's own console pages, which lead to TCP). */
  requireUser?: boolean;
  /**
   * The single device host (single-host.ts): the session cookie's name there, the portal origin to
   * sign in at, and the device's cookies kept to itself when forwarded.
   */
  singleHost?: { sessionCookie: string; portalOrigin: string | undefined };
}

/** Accepts only local paths as a redirect target (no open redirect): `/x`, never `//x`, `/\x` or a scheme. */
export function safeNext(next: string | null | undefined): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2048) return '/';
  if (!next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return '/';
  if (/[\u0000-\u001f\u007f]/.test(next)) return '/';
  // The hub's own paths are no destination (a sign-in link leading to a sign-out), its console pages aside.
  if (next.startsWith('/.porthole/') && !CONSOLE_PAGE_RE.test(next)) return '/';
  return next;
}

/** The browser consoles' pages (browser-consoles.ts), where a sign-in may lead back to. */
const CONSOLE_PAGE_RE = /^\/\.porthole\/(vnc|ssh)(\?|$)/;

/** The isolation verdict for a request on a device host. */
export function isolationOf(req: IncomingMessage, proto: 'http' | 'https', hostWithPort: string, websocket: boolean): IsolationVerdict {
  return isolationVerdict({ method: req.method ?? 'GET', headers: req.headers, deviceOrigin: deviceOrigin(proto, hostWithPort) ?? '', websocket });
}

/** What read-only access (a read-only link or grant) refuses: anything but GET and HEAD over HTTP. */
function readOnlyRefusal(userId: string, why: string): GateDecision {
  return {
    kind: 'refused',
    status: 403,
    reason: 'read_only',
    title: 'Read-only access',
    message: `${why}: pages can be viewed (GET and HEAD), but nothing can be changed, and WebSockets, TCP forwarding and the consoles are not available.`,
    userId,
  };
}

export function createVisitorGate(options: VisitorGateOptions) {
  const now = options.now ?? Date.now;
  const recheckMs = options.recheckMs ?? 5_000;
  const graceMs = options.graceMs ?? 5 * 60_000;
  const checkTimeoutMs = options.checkTimeoutMs ?? 1_000;
  const deviceTokenMemoryMs = options.deviceTokenMemoryMs ?? 60_000;
  // Hashes of unprefixed bearer values that are not hub tokens: a device's own API tokens pass
  // without a database lookup on every request. Bounded; insertion order is expiry order.
  const deviceTokens = new Map<string, number>();

  function loginLocation(g: GateRequest): string {
    const port = g.hostWithPort.includes(':') ? g.hostWithPort.slice(g.hostWithPort.lastIndexOf(':')) : '';
    const q = new URLSearchParams({ host: g.hostWithPort, next: safeNext(g.target) });
    // The single host serves every device: the portal has to be told which one.
    if (g.singleHost) q.set('serial', g.device.serial);
    const base = g.singleHost?.portalOrigin ?? `${g.proto}://${options.portalHost}${port}`;
    return `${base}/auth/device?${q.toString()}`;
  }

  // Whether each user's access to each device is read-only (a read-only grant), as last asked.
  const readOnlyGrants = new Map<string, boolean>();
  async function refreshReadOnly(userId: string, deviceId: string): Promise<void> {
    if (!options.auth.readOnlyFor) return;
    const key = `${userId}|${deviceId}`;
    let readOnly: boolean;
    try {
      readOnly = await withDeadline(options.auth.readOnlyFor(userId, deviceId), checkTimeoutMs, 'the access check');
    } catch {
      return; // the last answer stands
    }
    readOnlyGrants.delete(key); // re-inserted: insertion order is recency
    readOnlyGrants.set(key, readOnly);
    for (const oldest of readOnlyGrants.keys()) {
      if (readOnlyGrants.size <= 100_000) break;
      readOnlyGrants.delete(oldest);
    }
  }
  /** Read-only for `userId` on the device? Asked when not known; unknown (registry down) counts as read-only. */
  async function isReadOnly(userId: string, deviceId: string): Promise<boolean> {
    if (!options.auth.readOnlyFor) return false;
    const key = `${userId}|${deviceId}`;
    if (!readOnlyGrants.has(key)) await refreshReadOnly(userId, deviceId);
    return readOnlyGrants.get(key) !== false;
  }

  /** 'grace': the registry did not answer but confirmed access recently; not a new confirmation. */
  async function checkAccess(userId: string, device: DeviceRoute, lastOkMs: number | undefined): Promise<'yes' | 'no' | 'grace' | 'unknown'> {
    try {
      return (await withDeadline(options.auth.canAccessDevice(userId, device.id), checkTimeoutMs, 'the access check')) ? 'yes' : 'no';
    } catch {
      if (lastOkMs !== undefined && now() - lastOkMs < graceMs) return 'grace';
      return 'unknown';
    }
  }

  /** Whose bearer token this is: the hub's (a user, or invalid), the device's own, or unknown (registry down). */
  async function classifyBearer(token: string): Promise<BearerHolder | 'invalid' | 'device' | 'unavailable'> {
    const prefixed = hasHubTokenPrefix(token);
    if (!prefixed && !mayBeCustomHubToken(token)) return 'device';
    const hash = prefixed ? '' : hashSecret(token);
    if (!prefixed && (deviceTokens.get(hash) ?? 0) > now()) return 'device';
    if (!options.auth.userForBearerToken) return prefixed ? 'invalid' : 'device';
    let user: BearerHolder | null;
    try {
      user = await options.auth.userForBearerToken(token);
    } catch {
      // Unprefixed and unknown: it might be the hub's, so it is not forwarded while we cannot tell.
      return 'unavailable';
    }
    if (user) return user;
    if (prefixed) return 'invalid';
    deviceTokens.delete(hash);
    deviceTokens.set(hash, now() + deviceTokenMemoryMs);
    for (const [h, until] of deviceTokens) {
      if (deviceTokens.size <= 10_000 && until > now()) break;
      deviceTokens.delete(h);
    }
    return 'device';
  }

  /** Allowed, unless the user's access is read-only and the request is not one read-only access allows. */
  async function allowUnlessReadOnly(g: GateRequest, readAllowed: boolean, userId: string, forward: ForwardCredentials): Promise<GateDecision> {
    return !readAllowed && (await isReadOnly(userId, g.device.id)) ? readOnlyRefusal(userId, 'Your access to this device is read-only') : { kind: 'allow', userId, forward };
  }

  /** An organisation token: its own organisation's devices only, and only when its role opens devices. */
  async function organizationTokenDecision(holder: BearerHolder & { organization: { id: string; opensDevices: boolean } }, device: DeviceRoute, forward: ForwardCredentials): Promise<GateDecision> {
    let own: boolean;
    try {
      own = options.auth.inOrganization !== undefined && (await withDeadline(options.auth.inOrganization(device.id, holder.organization.id), checkTimeoutMs, 'the access check'));
    } catch {
      return { kind: 'unavailable' };
    }
    if (!own) return { kind: 'unknown' };
    if (!holder.organization.opensDevices) {
      return {
        kind: 'refused',
        status: 403,
        reason: 'token_scope',
        title: 'API token role too narrow',
        message: "This organisation token has the viewer role, which lists devices and reads logs but opens no device. Device hosts need an organisation token with the technician, admin or owner role.",
        userId: holder.userId,
      };
    }
    return { kind: 'allow', userId: holder.userId, forward: { ...forward, dropAuthorization: true } };
  }

  return {
    loginLocation,

    async authorize(g: GateRequest): Promise<GateDecision> {
      const kind = g.kind ?? 'http';
      const method = g.req.method ?? 'GET';
      const needsUser = g.device.accessPolicy === 'owners' || kind === 'tcp' || g.requireUser === true;
      const verdict = isolationOf(g.req, g.proto, g.hostWithPort, kind !== 'http');
      const crossOrigin = !verdict.allowed && verdict.crossOrigin;
      const forward: ForwardCredentials = { dropAuthorization: crossOrigin, dropCookies: crossOrigin, ...(g.singleHost ? { cookieNamespace: g.device.serial } : {}) };
      // What read-only access (a read-only link or grant) allows: GET and HEAD over HTTP, nothing that leads to TCP.
      const readAllowed = kind === 'http' && g.requireUser !== true && (method === 'GET' || method === 'HEAD');

      // 1. A hub API token (CLI, scripts): browsers never attach one on their own, so origin does not matter.
      const bearer = bearerToken(g.req.headers);
      if (bearer) {
        const holder = await classifyBearer(bearer);
        if (holder === 'unavailable') return { kind: 'unavailable' };
        if (holder === 'invalid') {
          return { kind: 'refused', status: 401, reason: 'token_invalid', title: 'Sign-in required', message: 'The API token in the Authorization header is unknown, revoked or expired. Create a new one in the portal.', userId: null };
        }
        if (holder !== 'device' && holder.organization) return organizationTokenDecision({ ...holder, organization: holder.organization }, g.device, forward);
        if (holder !== 'device') {
          const hubForward = { ...forward, dropAuthorization: true };
          if (!scopesGrant(holder.scopes, accessNeeded(method, kind))) {
            return {
              kind: 'refused',
              status: 403,
              reason: 'token_scope',
              title: 'API token scope too narrow',
              message: `This API token has the scopes ${holder.scopes.join(', ') || '(none)'}: on device hosts "read" allows GET and HEAD only. Other methods, WebSockets and /.porthole/tcp need a token with the "connect" or "write" scope.`,
              userId: holder.userId,
            };
          }
          if (!needsUser) return { kind: 'allow', userId: holder.userId, forward: hubForward };
          const access = await checkAccess(holder.userId, g.device, undefined);
          if (access === 'yes') {
            await refreshReadOnly(holder.userId, g.device.id);
            return allowUnlessReadOnly(g, readAllowed, holder.userId, hubForward);
          }
          return access === 'no' ? { kind: 'forbidden', userId: holder.userId } : { kind: 'unavailable' };
        }
      }

      // 2. The device session cookie, bound to this device, honoured only where isolation allows.
      const tokens = readCookies(g.req.headers.cookie, g.singleHost?.sessionCookie ?? DEVICE_COOKIE);
      if (tokens.length > 0 && !verdict.allowed && needsUser) {
        const text = refusalText(verdict.reason, g.device.serial, verdict.from);
        return { kind: 'refused', status: 403, reason: 'isolation', ...text, userId: null };
      }
      if (verdict.allowed) {
        for (const token of tokens) {
          let session;
          try {
            session = await options.sessions.lookup(token, g.device.serial);
          } catch {
            return { kind: 'unavailable' };
          }
          if (!session || session.deviceId !== g.device.id) continue;
          // A read-only installer link: GET and HEAD over HTTP, nothing that leads to TCP.
          if (session.readOnly && !readAllowed) return readOnlyRefusal(session.userId, 'This installer link gives read-only access');
          if (now() - session.checkedMs < recheckMs) return allowUnlessReadOnly(g, readAllowed, session.userId, forward);
          const access = await checkAccess(session.userId, g.device, session.checkedMs);
          if (access === 'no') {
            await options.sessions.revoke(token).catch(() => undefined);
            return { kind: 'forbidden', userId: session.userId };
          }
          if (access === 'unknown') return { kind: 'unavailable' };
          if (access === 'yes') {
            options.sessions.touch(token, now());
            await refreshReadOnly(session.userId, g.device.id);
          }
          return allowUnlessReadOnly(g, readAllowed, session.userId, forward);
        }
      }

      // 3. Public devices need no portal login (their own login page protects them).
      if (!needsUser) return { kind: 'allow', userId: null, forward };
      return { kind: 'login', location: loginLocation(g) };
    },

    /** Redeems `ticket` for this device: a new session token and where to go, or undefined. Rejects when the session store is down. */
    async redeem(ticket: string | null, device: DeviceRoute, clientIp: string | null): Promise<{ token: string; next: string; userId: string } | undefined> {
      if (!ticket) return undefined;
      const grant = await options.tickets.redeem(ticket, device.serial);
      if (!grant) return undefined;
      const token = await options.sessions.create(grant.userId, device.id, device.serial, clientIp);
      if (token !== undefined) await refreshReadOnly(grant.userId, device.id);
      return token === undefined ? undefined : { token, next: safeNext(grant.next), userId: grant.userId };
    },

    /**
     * Opens an installer link for `device`: a device session for the link's holder (its principal
     * as the user), or why not. Rejects when the registry or the session store is down.
     */
    async redeemLink(token: string | null, device: DeviceRoute, clientIp: string | null): Promise<{ ok: true; token: string; principal: string } | Extract<InstallerLinkRedemption, { ok: false }>> {
      if (!token || !options.links) return { ok: false, reason: 'unknown' };
      const link = await options.links.redeem(token, device.id);
      if (!link.ok) return link;
      const session = await options.sessions.create(link.principal, device.id, device.serial, clientIp, { readOnly: link.readOnly, expiresMs: link.expiresAt.getTime() });
      // Revoked or expired between the check and the session.
      if (session === undefined) return { ok: false, reason: 'revoked' };
      return { ok: true, token: session, principal: link.principal };
    },

    /** A new device session for `userId` on `device` (the single host's redeemed ticket); undefined when the store refused the user. */
    async startSession(userId: string, device: DeviceRoute, clientIp: string | null): Promise<string | undefined> {
      const token = await options.sessions.create(userId, device.id, device.serial, clientIp);
      if (token !== undefined) await refreshReadOnly(userId, device.id);
      return token;
    },

    async signOut(req: IncomingMessage, cookieName: string = DEVICE_COOKIE): Promise<void> {
      for (const token of readCookies(req.headers.cookie, cookieName)) await options.sessions.revoke(token);
    },
  };
}

export type VisitorGate = ReturnType<typeof createVisitorGate>;
