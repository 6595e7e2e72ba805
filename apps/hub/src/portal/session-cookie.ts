// The portal's cookies (reliability-security §3.6): over TLS `__Host-` prefixed (Secure, Path=/, no
// Domain, so no sibling device host can set or read them), always HttpOnly and SameSite=Lax.
import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { SESSION_ABSOLUTE_MS } from '../auth/sessions.js';

export function sessionCookieName(secure: boolean): string {
  return secure ? '__Host-porthole_session' : 'porthole_session';
}

export function csrfCookieName(secure: boolean): string {
  return secure ? '__Host-porthole_csrf' : 'porthole_csrf';
}

function attributes(secure: boolean, maxAgeSeconds: number) {
  return { path: '/', httpOnly: true, secure, sameSite: 'Lax' as const, maxAge: maxAgeSeconds };
}

export function readSessionToken(c: Context, secure: boolean): string | undefined {
  return getCookie(c, sessionCookieName(secure));
}

export function setSessionCookie(c: Context, secure: boolean, token: string): void {
  setCookie(c, sessionCookieName(secure), token, attributes(secure, Math.floor(SESSION_ABSOLUTE_MS / 1000)));
}

export function clearSessionCookie(c: Context, secure: boolean): void {
  deleteCookie(c, sessionCookieName(secure), { path: '/', secure });
}

/**
 * The secret CSRF tokens are bound to: the session token when there is one, else a random
 * pre-session cookie (login and sign-up forms), created on first use.
 */
export function csrfBinding(c: Context, secure: boolean, create: boolean): string | undefined {
  const session = readSessionToken(c, secure);
  if (session) return session;
  const existing = getCookie(c, csrfCookieName(secure));
  if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
  if (!create) return undefined;
  const value = randomBytes(32).toString('base64url');
  setCookie(c, csrfCookieName(secure), value, attributes(secure, 24 * 3600));
  return value;
}
