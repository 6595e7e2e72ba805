// Authentication at the proxy (shared contract "Visitor auth at the proxy"): a visitor of an
// `owners` device needs a device session (cookie from a redeemed one-time ticket) or an API token;
// otherwise browsers are sent to the portal's /auth/device and come back via /.porthole/auth.
import type { IncomingMessage } from 'node:http';
import type { DeviceRoute, VisitorAuth } from './contracts.js';
import { DEVICE_COOKIE, type DeviceSessions, readCookies } from './device-sessions.js';
import type { TicketStore } from './ticket-store.js';

export type GateDecision =
  | { kind: 'allow'; userId: string | null }
  /** No credentials: browsers go to the portal login (GET/HEAD), others get 401. */
  | { kind: 'login'; location: string }
  /** Credentials valid but the user may not (or no longer) reach this device. */
  | { kind: 'forbidden'; userId: string }
  /** The registry could not confirm access and the last confirmation is too old. */
  | { kind: 'unavailable' };

export interface VisitorGateOptions {
  auth: VisitorAuth;
  sessions: DeviceSessions;
  tickets: TicketStore;
  portalHost: string;
  /** Re-ask the registry whether a session's user may still access the device this often. */
  recheckMs?: number;
  /** Keep serving on a recent positive answer this long while the registry is down. */
  graceMs?: number;
  /** A re-check slower than this counts as "registry down" (grace applies). Default 1000 ms. */
  checkTimeoutMs?: number;
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
  /** True for /.porthole/tcp: always needs an authenticated user, even on public devices. */
  requireUser?: boolean;
}

/** Accepts only local paths as a redirect target (no open redirect): `/x`, never `//x`, `/\x` or a scheme. */
export function safeNext(next: string | null | undefined): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2048) return '/';
  if (!next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return '/';
  if (/[\u0000-\u001f\u007f]/.test(next)) return '/';
  if (next.startsWith('/.porthole/')) return '/';
  return next;
}

export function createVisitorGate(options: VisitorGateOptions) {
  const now = options.now ?? Date.now;
  const recheckMs = options.recheckMs ?? 5_000;
  const graceMs = options.graceMs ?? 5 * 60_000;
  const checkTimeoutMs = options.checkTimeoutMs ?? 1_000;

  function loginLocation(g: GateRequest): string {
    const port = g.hostWithPort.includes(':') ? g.hostWithPort.slice(g.hostWithPort.lastIndexOf(':')) : '';
    const q = new URLSearchParams({ host: g.hostWithPort, next: safeNext(g.target) });
    return `${g.proto}://${options.portalHost}${port}/auth/device?${q.toString()}`;
  }

  /** 'grace': the registry did not answer but confirmed access recently; not a new confirmation. */
  async function checkAccess(userId: string, device: DeviceRoute, lastOkMs: number | undefined): Promise<'yes' | 'no' | 'grace' | 'unknown'> {
    let timer: NodeJS.Timeout | undefined;
    try {
      // A database that is down but slow to say so must not hold the visitor's request.
      const slow = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('access check timed out')), checkTimeoutMs);
        timer.unref?.();
      });
      return (await Promise.race([options.auth.canAccessDevice(userId, device.id), slow])) ? 'yes' : 'no';
    } catch {
      if (lastOkMs !== undefined && now() - lastOkMs < graceMs) return 'grace';
      return 'unknown';
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    loginLocation,

    async authorize(g: GateRequest): Promise<GateDecision> {
      // 1. API token (CLI): Authorization: Bearer on the device host.
      const authz = g.req.headers.authorization;
      const bearer = authz && /^\s*bearer\s+(\S+)\s*$/i.exec(authz)?.[1];
      if (bearer && options.auth.userForBearerToken && (g.device.accessPolicy === 'owners' || g.requireUser)) {
        let user: { userId: string } | null = null;
        try {
          user = await options.auth.userForBearerToken(bearer);
        } catch {
          return { kind: 'unavailable' };
        }
        if (user) {
          const access = await checkAccess(user.userId, g.device, undefined);
          if (access === 'yes') return { kind: 'allow', userId: user.userId };
          return access === 'no' ? { kind: 'forbidden', userId: user.userId } : { kind: 'unavailable' };
        }
      }

      // 2. Device session cookie, bound to this device.
      for (const token of readCookies(g.req.headers.cookie, DEVICE_COOKIE)) {
        const session = options.sessions.lookup(token, g.device.serial);
        if (!session || session.deviceId !== g.device.id) continue;
        if (now() - session.checkedMs < recheckMs) return { kind: 'allow', userId: session.userId };
        const access = await checkAccess(session.userId, g.device, session.checkedMs);
        if (access === 'no') {
          options.sessions.revoke(token);
          return { kind: 'forbidden', userId: session.userId };
        }
        if (access === 'unknown') return { kind: 'unavailable' };
        if (access === 'yes') options.sessions.touch(token, now());
        return { kind: 'allow', userId: session.userId };
      }

      // 3. Public devices need no portal login (their own login page protects them).
      if (g.device.accessPolicy === 'public' && !g.requireUser) return { kind: 'allow', userId: null };
      return { kind: 'login', location: loginLocation(g) };
    },

    /** Redeems `ticket` for this device: a new session token and where to go, or undefined. */
    redeem(ticket: string | null, device: DeviceRoute): { token: string; next: string; userId: string } | undefined {
      if (!ticket) return undefined;
      const grant = options.tickets.redeem(ticket, device.serial);
      if (!grant) return undefined;
      const token = options.sessions.create(grant.userId, device.id, device.serial);
      return { token, next: safeNext(grant.next), userId: grant.userId };
    },

    signOut(req: IncomingMessage): void {
      for (const token of readCookies(req.headers.cookie, DEVICE_COOKIE)) options.sessions.revoke(token);
    },
  };
}

export type VisitorGate = ReturnType<typeof createVisitorGate>;
