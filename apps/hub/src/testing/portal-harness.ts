// Shared by the portal page tests: the portal mounted as the hub mounts it, the test kit's browser
// on it by path (test/support/browser.ts over app.request; CSRF token from the last page), and
// sign-in helpers.
import { Hono } from 'hono';
import type { DriverName } from '@porthole/db';
import { useRegistryTestBed, type RegistryTestBed, type RegistryTestBedOptions, type TestClock } from './registry-test-bed.js';
import type { Registry } from '../registry/index.js';
import { createApiRoutes } from '../api/api-routes.js';
import { createPortalRoutes } from '../portal/portal-routes.js';
import { createTicketStore } from '../proxy/ticket-store.js';
import { TestBrowser, appTransport, type FormBody } from '../../../../test/support/browser.js';

export { visibleText } from '../../../../test/support/browser.js';

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

/** A registry test bed with the portal on its registry (`app`, made with each registry). */
export interface PortalTestBed extends RegistryTestBed {
  readonly app: Hono;
}

/** useRegistryTestBed, with the portal built on each new registry before `options.seed` runs. */
export function usePortalTestBed(driver: DriverName, options: RegistryTestBedOptions = {}): PortalTestBed {
  let app: Hono | undefined;
  const bed = useRegistryTestBed(driver, {
    ...options,
    seed: async (b) => {
      app = buildPortal(b.registry, b.clock);
      await options.seed?.(portal);
    },
  });
  const portal = Object.defineProperty(bed, 'app', {
    get: () => {
      if (!app) throw new Error('the portal test bed is read before its portal is made');
      return app;
    },
  }) as PortalTestBed;
  return portal;
}

export interface Reply {
  status: number;
  /** The Location header as sent. */
  location: string | null;
  text: string;
  headers: Headers;
  /** The first CSRF token on the page. */
  csrf: string | undefined;
}

export type { FormBody };

/** The test kit's browser on `app`, by path on one origin; `post` carries the CSRF token of the last page seen. */
export function formClient(app: Hono, origin = PORTAL) {
  const browser = new TestBrowser(appTransport(app));
  let lastCsrf: string | undefined;
  async function go(method: string, path: string, form?: FormBody, headers: Record<string, string> = {}): Promise<Reply> {
    const page = await browser.request(`${origin}${path}`, { method, headers, ...(form ? { form } : {}) });
    if (page.csrf) lastCsrf = page.csrf;
    return { status: page.status, location: page.headers.get('location'), text: page.html, headers: page.headers, csrf: page.csrf };
  }
  return {
    go,
    jar: browser.cookies(new URL(origin).hostname),
    /** The Set-Cookie lines of the last answer. */
    setCookies: () => browser.lastSetCookies,
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
