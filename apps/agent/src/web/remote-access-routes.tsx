/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The "Remote access" page and its form endpoints as a hono app that any device web server can
// mount (this is how the demo meter gets its button), plus a node:http handler variant. Every
// write is a CSRF-protected form POST answered with 303 (works without JavaScript).
import { Hono, type Context } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import { getRequestListener } from '@hono/node-server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Agent } from '../agent.js';
import { CSRF_COOKIE, CsrfTokens, PasswordSessions, SESSION_COOKIE, crossSiteReason } from './guard.js';
import { networkFromForm } from '../transport/network-settings.js';
import { LoginPage, MessagePage, RemoteAccessPage } from './remote-access-page.js';

export interface RemoteAccessOptions {
  /** Path prefix the page lives under, e.g. "/remote-access" ("" = root). */
  basePath?: string;
  /** The embedding device's own login: return true when the request may manage remote access. */
  authorize?: (request: Request) => boolean | Promise<boolean>;
  /** Where to send a visitor `authorize` refused (the device's login page); else a 401 page. */
  loginUrl?: string;
  /** Local password (standalone agent UI). Either this or `authorize` is required. */
  password?: string;
  /** Host header values accepted (DNS-rebinding defence); undefined = any. Compared without port. */
  allowedHosts?: string[];
  /** A link back to the embedding device's own UI. */
  backLink?: { href: string; label: string };
  now?: () => number;
}

const SECURITY_HEADERS: Record<string, string> = {
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' https: http:; frame-ancestors 'none'; base-uri 'none'",
  // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on this page's own
  // form posts (and no Sec-Fetch-Site on a plain-HTTP LAN address), which crossSiteReason refuses.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

function hostOnly(host: string): string {
  const h = host.toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  return h.replace(/:\d+$/, '');
}

export function createRemoteAccessRoutes(agent: Agent, options: RemoteAccessOptions = {}): Hono {
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  if (!options.authorize && !options.password) {
    throw new Error('createRemoteAccessRoutes: give `authorize` (the device login) or `password`');
  }
  const now = options.now ?? Date.now;
  const csrf = new CsrfTokens();
  const sessions = options.password ? new PasswordSessions(options.password, now) : undefined;
  const allowed = options.allowedHosts?.map(hostOnly);
  const cookiePath = basePath === '' ? '/' : basePath;
  const page = `${basePath}/`;

  const app = new Hono();

  app.use('*', async (c, next) => {
    if (allowed) {
      const host = c.req.header('host') ?? new URL(c.req.url).host;
      if (!host || !allowed.includes(hostOnly(host))) {
        return c.html(<MessagePage title="Wrong host name" message="This page is only served under the device's own address." />, 421);
      }
    }
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.header(k, v);
  });

  const secure = (c: Context): boolean => new URL(c.req.url).protocol === 'https:';

  /** The per-browser id behind CSRF tokens, created on first sight. */
  const browserId = (c: Context): string => {
    let id = getCookie(c, CSRF_COOKIE);
    if (!id || id.length > 64) {
      id = csrf.newBrowserId();
      setCookie(c, CSRF_COOKIE, id, { path: cookiePath, httpOnly: true, sameSite: 'Strict', secure: secure(c) });
    }
    return id;
  };

  const authorized = async (c: Context): Promise<boolean> => {
    if (options.authorize) return options.authorize(c.req.raw);
    return sessions!.valid(getCookie(c, SESSION_COOKIE));
  };

  const refuseUnauthorized = (c: Context): Response | Promise<Response> => {
    if (options.loginUrl) return c.redirect(options.loginUrl, 303);
    if (sessions) return c.redirect(page, 303);
    return c.html(<MessagePage title="Log in first" message="Log in to the device to manage remote access." />, 401);
  };

  /** Reads a form POST after the cross-site and token checks; undefined = refused (response set). */
  const readForm = async (c: Context): Promise<Record<string, string> | Response> => {
    const origin = new URL(c.req.url).origin;
    const why = crossSiteReason(c.req.raw.headers, origin);
    if (why) return c.html(<MessagePage title="Request refused" message={`Cross-site request refused (${why}).`} />, 403);
    const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const form: Record<string, string> = {};
    for (const [k, v] of Object.entries(body)) if (typeof v === 'string') form[k] = v;
    if (!csrf.verify(getCookie(c, CSRF_COOKIE), form.csrf)) {
      return c.html(<MessagePage title="Request refused" message="The form has expired or did not come from this page. Reload the page and try again." />, 403);
    }
    return form;
  };

  app.get(page, async (c) => {
    const id = browserId(c);
    if (!(await authorized(c))) {
      if (sessions) return c.html(<LoginPage basePath={basePath} csrf={csrf.tokenFor(id)} serial={agent.status().serial} />, 200);
      return refuseUnauthorized(c);
    }
    return c.html(
      <RemoteAccessPage
        status={agent.status()}
        basePath={basePath}
        csrf={csrf.tokenFor(id)}
        nowMs={now()}
        claimApproved={c.req.query('claim') === 'approved'}
        claimDenied={c.req.query('claim') === 'denied'}
        showLogout={sessions !== undefined}
        backLink={options.backLink}
      />,
    );
  });
  if (basePath !== '') app.get(basePath, (c) => c.redirect(page, 301));

  app.get(`${basePath}/status.json`, async (c) => {
    if (!(await authorized(c))) return c.json({ error: { code: 'unauthorized', message: 'log in first' } }, 401);
    return c.json(agent.status());
  });

  if (sessions) {
    app.post(`${basePath}/login`, async (c) => {
      const form = await readForm(c);
      if (form instanceof Response) return form;
      const id = browserId(c);
      if (sessions.throttled()) {
        return c.html(<LoginPage basePath={basePath} csrf={csrf.tokenFor(id)} serial={agent.status().serial} error="Too many attempts; wait a minute." />, 429);
      }
      const sid = sessions.login(form.password ?? '');
      if (!sid) {
        return c.html(<LoginPage basePath={basePath} csrf={csrf.tokenFor(id)} serial={agent.status().serial} error="Wrong password." />, 401);
      }
      setCookie(c, SESSION_COOKIE, sid, { path: cookiePath, httpOnly: true, sameSite: 'Strict', secure: secure(c) });
      return c.redirect(page, 303);
    });
    app.post(`${basePath}/logout`, async (c) => {
      const form = await readForm(c);
      if (form instanceof Response) return form;
      sessions.logout(getCookie(c, SESSION_COOKIE));
      deleteCookie(c, SESSION_COOKIE, { path: cookiePath });
      return c.redirect(page, 303);
    });
  }

  /** An authorized, CSRF-checked action; `run` returns where to go next. */
  const action = (path: string, run: (c: Context, form: Record<string, string>) => Promise<string>) => {
    app.post(`${basePath}${path}`, async (c) => {
      if (!(await authorized(c))) return refuseUnauthorized(c);
      const form = await readForm(c);
      if (form instanceof Response) return form;
      return c.redirect(await run(c, form), 303);
    });
  };

  action('/enable', async (c) => {
    const returnUrl = `${new URL(c.req.url).origin}${page}`;
    try {
      const { redirectTo } = await agent.enable({ returnUrl });
      return redirectTo ?? page;
    } catch {
      return page; // the page shows the error
    }
  });
  action('/disable', async () => {
    await agent.disable();
    return page;
  });
  action('/forget', async () => {
    await agent.forgetRegistration();
    return page;
  });
  app.post(`${basePath}/network`, async (c) => {
    if (!(await authorized(c))) return refuseUnauthorized(c);
    const form = await readForm(c);
    if (form instanceof Response) return form;
    if (form.reset === '1') {
      await agent.setNetwork(null);
      return c.redirect(page, 303);
    }
    const parsed = networkFromForm(form, agent.network());
    if (!parsed.ok) return c.html(<MessagePage title="Network settings not saved" message={parsed.problem} />, 400);
    await agent.setNetwork(parsed.settings);
    return c.redirect(page, 303);
  });
  action('/accept-certificate', async (_c, form) => {
    agent.acceptCertificate(form.fingerprint ?? '');
    return page;
  });

  return app;
}

/** The same page for a plain node:http server: call it for requests under `basePath`. */
export function createRemoteAccessHandler(
  agent: Agent,
  options: RemoteAccessOptions = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const app = createRemoteAccessRoutes(agent, options);
  return getRequestListener(app.fetch);
}
