// What every portal page handler shares: the signed-in user and the form token for this request
// (set once by a middleware), the guards for signed-in and admin-only pages, form field readers
// that never throw on odd input, the one way a refused form is shown again, and the fixed "done"
// messages shown after a redirect.
import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { DomainError, ForbiddenError } from '../errors.js';
import type { SessionUser } from '../auth/sessions.js';
import { errorHeaders, errorStatus } from '../http/error-response.js';
import { readFormBody } from '../http/form-body.js';
import type { Registry } from '../registry/index.js';

export interface PortalVariables {
  /** The signed-in user, when there is one (set for every request). */
  user: SessionUser | undefined;
  /** The CSRF token for forms on this page (bound to the session or the pre-session cookie). */
  csrf: string;
}

export type PortalEnv = { Variables: PortalVariables };
export type PortalContext = Context<PortalEnv>;

export interface PortalKit {
  registry: Registry;
  /** Logged-in pages: redirects to /login?next=… when nobody is signed in. */
  requireUser: MiddlewareHandler<PortalEnv>;
  /** Admin pages: as requireUser, then 403 (ForbiddenError → the error page) for non-admins. */
  requireAdmin: MiddlewareHandler<PortalEnv>;
  /** The signed-in user of a guarded route. */
  userOf(c: PortalContext): SessionUser;
}

export function loginRedirect(c: Context): Response {
  return c.redirect(`/login?next=${encodeURIComponent(c.req.path + new URL(c.req.url).search)}`, 303);
}

export function createKit(registry: Registry): PortalKit {
  const requireUser: MiddlewareHandler<PortalEnv> = async (c, next) => {
    // A POST whose session ended goes to the login page too; its form is not replayed.
    if (!c.get('user')) return c.req.method === 'GET' || c.req.method === 'HEAD' ? loginRedirect(c) : c.redirect('/login', 303);
    await next();
  };
  const requireAdmin: MiddlewareHandler<PortalEnv> = async (c, next) => {
    const u = c.get('user');
    if (!u) return c.req.method === 'GET' || c.req.method === 'HEAD' ? loginRedirect(c) : c.redirect('/login', 303);
    if (u.role !== 'admin') throw new ForbiddenError('this page is for administrators only');
    await next();
  };
  return {
    registry,
    requireUser,
    requireAdmin,
    userOf(c) {
      const u = c.get('user');
      if (!u) throw new ForbiddenError('sign in first');
      return u;
    },
  };
}

/** One form field as a string, cut to `max` characters; anything else (files, absent) → ''. */
export function field(body: Record<string, unknown>, name: string, max = 1024): string {
  const v = body[name];
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' ? s.slice(0, max) : '';
}

/** Every value of a repeated field (checkboxes), strings only, at most `limit` of them. */
export function fieldAll(body: Record<string, unknown>, name: string, limit: number, max = 256): string[] {
  const v = body[name];
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return list.filter((x): x is string => typeof x === 'string').slice(0, limit).map((s) => s.slice(0, max));
}

export async function readForm(c: Context): Promise<Record<string, unknown>> {
  return readFormBody(c, { all: true });
}

/**
 * Runs a form's `action`. When it refuses with a domain error, `formAgain` makes the page again with
 * the error's message (and what the user typed), answered with the status and headers the hub's one
 * error map gives that error (http/error-response.ts: 400 for a bad field, 409 for a conflict, 429
 * with Retry-After). Any other error goes on to the portal's error page (portal-routes.tsx onError).
 */
export async function runForm(c: Context, action: () => Promise<Response>, formAgain: (err: DomainError) => string | Promise<string>): Promise<Response> {
  try {
    return await action();
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return c.html(await formAgain(err), errorStatus(err) as ContentfulStatusCode, errorHeaders(err));
  }
}

/** Messages after a redirect come from this fixed table: a query parameter cannot put text on a page. */
export const DONE_MESSAGES: Record<string, string> = {
  granted: 'Access granted.',
  revoked: 'Access revoked.',
  'link-revoked': 'Installer link revoked: sessions opened with it have ended.',
  enabled: 'Device enabled.',
  disabled: 'Device disabled: it is disconnected and nobody can reach it until it is enabled again.',
  policy: 'Access policy saved.',
  tags: 'Tags saved.',
  'bulk-disabled': 'Selected devices disabled.',
  'bulk-enabled': 'Selected devices enabled.',
  'token-revoked': 'Token revoked.',
  'peer-deleted': 'WireGuard peer removed; its tunnel address returns to the pool.',
  'reservation-added': 'Prefix reserved: serials starting with it now register only with an enrollment token.',
  'reservation-removed': 'Prefix released: accounts may claim such serials again.',
  password: 'Password changed. Every other session of yours has ended, device pages included.',
  'user-disabled': 'Account disabled: it is signed out everywhere and its API tokens stop working.',
  'user-enabled': 'Account enabled: it can sign in again and its API tokens work again.',
};

export function doneMessage(c: Context): string | undefined {
  const key = c.req.query('done');
  const base = key ? DONE_MESSAGES[key] : undefined;
  const n = Number(c.req.query('n'));
  return base && key?.startsWith('bulk-') && Number.isInteger(n) && n >= 0 ? `${base.replace('Selected devices', `${n} device${n === 1 ? '' : 's'}`)}` : base;
}
