// Protection of the local "Remote access" page: who may see it (a local password with a session
// cookie, or the embedding device's own `authorize(request)` hook), CSRF tokens on every form
// (HMAC of a per-browser cookie: a drive-by page on the LAN cannot read it), an Origin /
// Sec-Fetch-Site check on writes, and an optional Host allowlist against DNS rebinding.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'porthole_ra_session';
export const CSRF_COOKIE = 'porthole_ra_csrf';
const SESSION_TTL_MS = 12 * 3600_000;
const MAX_SESSIONS = 64;

function b64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

export function safeEqual(a: string, b: string): boolean {
  // Hash first so lengths do not leak and timingSafeEqual gets equal-length inputs.
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

export class CsrfTokens {
  readonly #secret = randomBytes(32);

  newBrowserId(): string {
    return b64url(randomBytes(18));
  }

  tokenFor(browserId: string): string {
    return b64url(createHmac('sha256', this.#secret).update(`csrf:${browserId}`).digest());
  }

  verify(browserId: string | undefined, token: string | undefined): boolean {
    if (!browserId || !token) return false;
    return safeEqual(this.tokenFor(browserId), token);
  }
}

/**
 * Refuses cross-site writes by browser metadata before the token is even looked at: a request
 * whose Origin is not this host, or that a browser marks as cross-site, is not the owner's form.
 */
export function crossSiteReason(headers: Headers, requestOrigin: string): string | undefined {
  const fetchSite = headers.get('sec-fetch-site');
  if (fetchSite && fetchSite !== 'same-origin' && fetchSite !== 'none') return `Sec-Fetch-Site: ${fetchSite}`;
  const origin = headers.get('origin');
  if (origin && origin !== 'null' && origin !== requestOrigin) return `Origin ${origin} is not ${requestOrigin}`;
  // An embedding page served with `Referrer-Policy: no-referrer` makes browsers send `Origin: null`
  // even on same-origin form posts (Fetch: "serializing a request origin"); Sec-Fetch-Site (HTTPS and
  // localhost only), which no page can forge, then vouches. Without it, `null` stays refused.
  if (origin === 'null' && fetchSite !== 'same-origin') return 'Origin: null';
  return undefined;
}

export class PasswordSessions {
  readonly #password: string;
  readonly #sessions = new Map<string, number>();
  readonly #now: () => number;
  #failures: number[] = [];

  constructor(password: string, now: () => number = Date.now) {
    this.#password = password;
    this.#now = now;
  }

  /** Too many wrong passwords in the last minute: refuse further tries for a while. */
  throttled(): boolean {
    const cutoff = this.#now() - 60_000;
    this.#failures = this.#failures.filter((t) => t > cutoff);
    return this.#failures.length >= 10;
  }

  /** Returns a new session id on the right password. */
  login(password: string): string | undefined {
    if (!safeEqual(password, this.#password)) {
      this.#failures.push(this.#now());
      return undefined;
    }
    if (this.#sessions.size >= MAX_SESSIONS) {
      const oldest = [...this.#sessions.entries()].sort((a, b) => a[1] - b[1])[0]!;
      this.#sessions.delete(oldest[0]);
    }
    const id = b64url(randomBytes(24));
    this.#sessions.set(id, this.#now() + SESSION_TTL_MS);
    return id;
  }

  valid(id: string | undefined): boolean {
    if (!id) return false;
    const exp = this.#sessions.get(id);
    if (exp === undefined) return false;
    if (exp < this.#now()) {
      this.#sessions.delete(id);
      return false;
    }
    return true;
  }

  logout(id: string | undefined): void {
    if (id) this.#sessions.delete(id);
  }
}
