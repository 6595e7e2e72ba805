/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The "Remote access" page and its form endpoints as a hono app that any device web server can
// mount (this is how the demo meter gets its button), plus a node:http handler variant. Every
// write is a CSRF-protected form POST answered with 303 (works without JavaScript).
import { randomBytes } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import { getRequestListener } from '@hono/node-server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Agent } from '../agent.js';
import { CSRF_COOKIE, CsrfTokens, PasswordSessions, SESSION_COOKIE, crossSiteReason } from './guard.js';
import { networkFromForm } from '../transport/network-settings.js';
import { parseWindowChoice } from '../exposure/exposure-window.js';
import { DisableConfirmPage, LoginPage, MessagePage, RemoteAccessPage, type PageFrame } from './remote-access-page.js';

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
  /** The embedding device's page frame (its header and navigation), so the page looks like the rest of its UI. */
  frame?: PageFrame;
  now?: () => number;
}

const SECURITY_HEADERS: Record<string, string> = {
  'x-frame-options': 'DENY',
  // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on this page's own
  // form posts (and no Sec-Fetch-Site on a plain-HTTP LAN address), which crossSiteReason refuses.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

/** Scripts only with this response's nonce (the countdown); everything else as before. */
function contentSecurityPolicy(nonce: string): string {
  return `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'; form-action 'self' https: http:; frame-ancestors 'none'; base-uri 'none'`;
}

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
        return c.html(<MessagePage title="Wrong host name" message="This page is only served under the device's own address." frame={options.frame} />, 421);
      }
    }
    c.set('nonce' as never, randomBytes(12).toString('base64') as never);
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.header(k, v);
    c.header('content-security-policy', contentSecurityPolicy(c.get('nonce' as never) as string));
  });
  const frame = options.frame;

  /**
   * Whether the visitor came through the hub: the agent's forwarder names the public host in
   * X-Forwarded-Host. Used only to warn before Disable cuts them off (a forged header only earns
   * its sender the warning).
   */
  const viaHub = (c: Context): boolean => {
    const url = agent.status().publicUrl;
    const xfh = c.req.header('x-forwarded-host');
    if (!url || !xfh) return false;
    return hostOnly(xfh) === hostOnly(new URL(url).host);
  };

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
    return c.html(<MessagePage title="Log in first" message="Log in to the device to manage remote access." frame={frame} />, 401);
  };

  /** Reads a form POST after the cross-site and token checks; undefined = refused (response set). */
  const readForm = async (c: Context): Promise<Record<string, string> | Response> => {
    const origin = new URL(c.req.url).origin;
    const why = crossSiteReason(c.req.raw.headers, origin);
    if (why) return c.html(<MessagePage title="Request refused" message={`Cross-site request refused (${why}).`} frame={frame} />, 403);
    const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const form: Record<string, string> = {};
    for (const [k, v] of Object.entries(body)) if (typeof v === 'string') form[k] = v;
    if (!csrf.verify(getCookie(c, CSRF_COOKIE), form.csrf)) {
      return c.html(<MessagePage title="Request refused" message="The form has expired or did not come from this page. Reload the page and try again." frame={frame} />, 403);
    }
    return form;
  };

  app.get(page, async (c) => {
    const id = browserId(c);
    if (!(await authorized(c))) {
      if (sessions) return c.html(<LoginPage basePath={basePath} csrf={csrf.tokenFor(id)} serial={agent.status().serial} frame={frame} />, 200);
      return refuseUnauthorized(c);
    }
    const claimApproved = c.req.query('claim') === 'approved';
    // Back from the portal: ask the hub now instead of at the next poll interval.
    if (claimApproved && agent.status().phase === 'waiting-approval') agent.claimReturned();
    return c.html(
      <RemoteAccessPage
        status={agent.status()}
        basePath={basePath}
        csrf={csrf.tokenFor(id)}
        nowMs={now()}
        claimApproved={claimApproved}
        claimDenied={c.req.query('claim') === 'denied'}
        showLogout={sessions !== undefined}
        backLink={options.backLink}
        remote={viaHub(c)}
        nonce={c.get('nonce' as never) as string}
        frame={frame}
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
        return c.html(<LoginPage basePath={basePath} csrf={csrf.tokenFor(id)} serial={agent.status().serial} error="Too many attempts; wait a minute." frame={frame} />, 429);
      }
      const sid = sessions.login(form.password ?? '');
      if (!sid) {
        return c.html(<LoginPage basePath={basePath} csrf={csrf.tokenFor(id)} serial={agent.status().serial} error="Wrong password." frame={frame} />, 401);
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

  /** An authorized, CSRF-checked action; `run` returns where to go next, or a page of its own. */
  const action = (path: string, run: (c: Context, form: Record<string, string>) => Promise<string | Response>) => {
    app.post(`${basePath}${path}`, async (c) => {
      if (!(await authorized(c))) return refuseUnauthorized(c);
      const form = await readForm(c);
      if (form instanceof Response) return form;
      const next = await run(c, form);
      return typeof next === 'string' ? c.redirect(next, 303) : next;
    });
  };

  action('/enable', async (c, form) => {
    const returnUrl = `${new URL(c.req.url).origin}${page}`;
    const windowHours = parseWindowChoice(form.window, agent.status().exposure.maxHours);
    if (windowHours === undefined) {
      return c.html(<MessagePage title="Remote access not enabled" message={`"${String(form.window).slice(0, 20)}" is not one of the offered durations. Go back and pick one.`} frame={frame} />, 400);
    }
    try {
      const { redirectTo } = await agent.enable({ returnUrl, windowHours });
      return redirectTo ?? page;
    } catch {
      return page; // the page shows the error
    }
  });
  action('/disable', async (c, form) => {
    // Through the hub, Disable cuts the visitor's own connection: one confirmation step first.
    if (agent.status().enabled && viaHub(c) && form.confirm !== '1') {
      return c.html(<DisableConfirmPage basePath={basePath} csrf={form.csrf ?? ''} serial={agent.status().serial} frame={frame} />);
    }
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
    if (!parsed.ok) return c.html(<MessagePage title="Network settings not saved" message={parsed.problem} frame={frame} />, 400);
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
