// CSRF defence for state-changing browser requests, per the OWASP CSRF Prevention Cheat Sheet:
// a synchronizer token bound to the session (HMAC of the session binding, so nothing a sibling
// subdomain can toss into a cookie forges it) plus an exact Origin / Sec-Fetch-Site check.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { ForbiddenError } from '../errors.js';
import { readFormBody } from './form-body.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The token for a form: HMAC-SHA256(key, binding), base64url. `binding` is a per-session secret. */
export function csrfToken(key: Uint8Array, binding: string): string {
  return createHmac('sha256', key).update('porthole-csrf\0').update(binding).digest('base64url');
}

/** Constant-time check of a submitted token against the session binding. */
export function verifyCsrfToken(key: Uint8Array, binding: string, token: string): boolean {
  const expected = Buffer.from(csrfToken(key, binding));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Why a state-changing request's fetch metadata is refused, or undefined when it is acceptable.
 * Device hosts are same-site with the portal, so `Sec-Fetch-Site: same-site` is refused too; only
 * `same-origin` and `none` (typed URL, bookmark) pass. A present `Origin` must match exactly.
 * Browsers too old to send either fall back to the token alone.
 */
export function fetchOriginProblem(headers: Headers, allowedOrigins: readonly string[]): string | undefined {
  const site = headers.get('sec-fetch-site');
  if (site !== null && site !== 'same-origin' && site !== 'none') {
    return `cross-origin request refused (Sec-Fetch-Site: ${site})`;
  }
  const origin = headers.get('origin');
  // A page served with `Referrer-Policy: no-referrer` makes browsers send `Origin: null` even on
  // same-origin form posts (Fetch: "serializing a request origin"); Sec-Fetch-Site (HTTPS and
  // localhost only), which no page can forge, then vouches. Without it, `null` stays refused.
  if (origin === 'null' && site === 'same-origin') return undefined;
  if (origin !== null && !allowedOrigins.includes(origin)) {
    return `cross-origin request refused (Origin: ${origin.slice(0, 100)})`;
  }
  return undefined;
}

export interface CsrfProtectionOptions {
  key: Uint8Array;
  /** Exact origins (scheme://host[:port]) allowed to post, e.g. the portal's own origin. */
  allowedOrigins: readonly string[] | ((c: Context) => readonly string[]);
  /** The per-session secret the token is bound to (session token, or a pre-session cookie). */
  binding: (c: Context) => string | undefined;
  /** Form field carrying the token (default `_csrf`). */
  fieldName?: string;
  /** Header carrying the token for fetch/XHR requests (default `x-csrf-token`). */
  headerName?: string;
}

/**
 * Middleware refusing (ForbiddenError → 403) state-changing requests that fail the origin check
 * or carry no valid token. The form body is parsed through hono's cache, so handlers can still
 * call `c.req.parseBody()` afterwards.
 */
export function csrfProtection(options: CsrfProtectionOptions): MiddlewareHandler {
  const fieldName = options.fieldName ?? '_csrf';
  const headerName = options.headerName ?? 'x-csrf-token';
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return next();
    const origins = typeof options.allowedOrigins === 'function' ? options.allowedOrigins(c) : options.allowedOrigins;
    const problem = fetchOriginProblem(c.req.raw.headers, origins);
    if (problem) throw new ForbiddenError(problem);
    let token = c.req.header(headerName);
    if (token === undefined) {
      const type = c.req.header('content-type') ?? '';
      if (/^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type)) {
        const body = await readFormBody(c);
        const field = body[fieldName];
        if (typeof field === 'string') token = field;
      }
    }
    const binding = options.binding(c);
    if (token === undefined || binding === undefined || !verifyCsrfToken(options.key, binding, token)) {
      throw new ForbiddenError('the form has expired or did not come from this site; reload the page and try again', {
        field: fieldName,
      });
    }
    return next();
  };
}
