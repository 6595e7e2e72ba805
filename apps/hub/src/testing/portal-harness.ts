// Shared by the portal page tests: the portal mounted as the hub mounts it, a minimal cookie-keeping
// form client over app.request (CSRF token scraped from the last page), and sign-in helpers.
import { Hono } from 'hono';
import type { TestClock } from './registry-test-bed.js';
import type { Registry } from '../registry/index.js';
import { createApiRoutes } from '../api/api-routes.js';
import { createPortalRoutes } from '../portal/portal-routes.js';
import { createTicketStore } from '../proxy/ticket-store.js';

export const PORTAL = 'https://portal.example.io';
export const PASSWORD = 'correct horse battery';

export function buildPortal(registry: Registry, clock: TestClock, secure = false): Hono {
  const root = new Hono();
  root.route('/api/v1', createApiRoutes({ registry }));
  const tickets = createTicketStore({ now: () => clock.now().getTime() });
  // Generous form limits: the tests post far more forms per second than a person does.
  root.route('/', createPortalRoutes({ registry, tickets, portalOrigin: PORTAL, deviceDomain: 'example.io', secure, postLimit: { capacity: 10_000, refillPerSecond: 1000 } }));
  return root;
}

export interface Reply {
  status: number;
  location: string | null;
  text: string;
  headers: Headers;
  /** The first CSRF token on the page. */
  csrf: string | undefined;
}

export type FormBody = Record<string, string | string[]>;

/** A browser-like client: cookie jar, same-origin form posts (url-encoded, repeated fields allowed). */
export function formClient(app: Hono, origin = PORTAL) {
  const jar = new Map<string, string>();
  let lastCsrf: string | undefined;
  async function go(method: string, path: string, form?: FormBody, headers: Record<string, string> = {}): Promise<Reply> {
    const h: Record<string, string> = { ...headers };
    if (jar.size > 0) h.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (form) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(form)) for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
      body = params.toString();
      h['content-type'] = 'application/x-www-form-urlencoded';
      h.origin ??= origin;
      h['sec-fetch-site'] ??= 'same-origin';
    }
    const res = await app.request(`${origin}${path}`, { method, headers: h, ...(body !== undefined ? { body } : {}) }, {
      incoming: { socket: { remoteAddress: '198.51.100.20' } },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      if (/max-age=0/i.test(line) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    const text = await res.text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(text)?.[1];
    if (csrf) lastCsrf = csrf;
    return { status: res.status, location: res.headers.get('location'), text, headers: res.headers, csrf };
  }
  return {
    go,
    jar,
    /** A form post carrying the CSRF token of the last page seen. */
    post: (path: string, form: FormBody = {}, headers: Record<string, string> = {}) => go('POST', path, { _csrf: lastCsrf ?? '', ...form }, headers),
    get: (path: string) => go('GET', path),
  };
}

export type FormClient = ReturnType<typeof formClient>;

/** A signed-in client for an existing account. */
export async function signedIn(app: Hono, email: string, password = PASSWORD): Promise<FormClient> {
  const b = formClient(app);
  const page = await b.get('/login');
  const res = await b.go('POST', '/login', { _csrf: page.csrf!, next: '/', email, password });
  if (res.status !== 303) throw new Error(`login as ${email} failed: ${res.status}`);
  await b.get('/devices'); // a page of the session, so post() uses the session's token
  return b;
}

/** The text of a page without tags and with collapsed whitespace, for "the page says …" checks. */
export function visibleText(html: string): string {
  return html
    .replace(/<style[\s\S]*?<\/style>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
}
