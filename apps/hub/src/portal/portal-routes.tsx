/** @jsxImportSource hono/jsx */
// The portal host's pages: log out, claim approval and the device-login ticket route
// (`/auth/device`, contract "Visitor auth at the proxy"), plus sign-in (sign-in-routes.tsx), the
// owner and admin pages mounted from their own files. Session cookie per session-cookie.ts, CSRF
// tokens on every form plus Origin/Sec-Fetch-Site checks on every state-changing request; errors
// become pages.
import { randomBytes } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ConflictError, DomainError, NotFoundError } from '../errors.js';
import type { SessionUser } from '../auth/sessions.js';
import { createSingleSignOn, type SingleSignOn } from '../auth/single-sign-on.js';
import { csrfProtection, csrfToken } from '../http/csrf.js';
import { readFormBody } from '../http/form-body.js';
import { domainErrorOf, errorHeaders, errorStatus } from '../http/error-response.js';
import { clientAddress, createRateLimiter, rateLimit, type RateLimiterOptions } from '../http/rate-limit.js';
import type { Logger } from '../ops/logger.js';
import { returnUrlWith } from '../registry/claims.js';
import type { Registry } from '../registry/index.js';
import { registerAccountRoutes } from './account-routes.js';
import type { ClusterNodeInfo } from '../cluster/cluster-nodes.js';
import { registerAdminRoutes } from './admin-routes.js';
import { registerClusterRoutes } from './cluster-pages.js';
import { registerDeviceRoutes } from './device-routes.js';
import { registerOrganizationRoutes } from './organization-routes.js';
import { ClaimApprovePage, ClaimCodePage, HomePage, MessagePage } from './pages.js';
import { createKit, field, loginRedirect, runForm, type PortalEnv } from './portal-kit.js';
import { safeNextPath, serialFromDeviceHost } from './safe-redirect.js';
import { clearSessionCookie, csrfBinding, readSessionToken } from './session-cookie.js';
import { registerSignInRoutes } from './sign-in-routes.js';
import type { TicketStore } from '../proxy/ticket-store.js';
import { registerSingleHostRoutes, type SingleHostPortalOptions } from './single-host-routes.js';

export interface PortalDeps {
  registry: Registry;
  tickets: TicketStore;
  /** The portal's exact public origin, e.g. `https://portal.example.io` (Origin checks, links). */
  portalOrigin: string;
  /** Devices live on `<serial>.<deviceDomain>`. */
  deviceDomain: string;
  /** Served over TLS: `__Host-` cookies with Secure. */
  secure: boolean;
  /** HMAC key for CSRF tokens; random per process when omitted (forms then expire on restart). */
  csrfKey?: Uint8Array;
  logger?: Logger;
  /** Form posts per client address (default burst 30, 1 every 2 s). */
  postLimit?: RateLimiterOptions;
  /** Sign-in methods besides passwords, and whether passwords are on (default: passwords only). */
  sso?: SingleSignOn;
  /** The hub nodes for the admins' cluster page (one node outside cluster mode). */
  cluster?: { nodes(): ClusterNodeInfo[]; clustered: boolean };
  /** The single device host (PORTHOLE_DEVICE_HOST), when configured: its picker and confirmation. */
  singleHost?: Omit<SingleHostPortalOptions, 'secure' | 'tickets'>;
}

/** Bulk device forms carry up to 500 serials: larger than a login form, still small. */
const FORM_LIMIT_BYTES = 64 * 1024;

export function createPortalRoutes(deps: PortalDeps): Hono<PortalEnv> {
  const { registry, secure } = deps;
  const key = deps.csrfKey ?? randomBytes(32);
  const app = new Hono<PortalEnv>();

  const user = async (c: Context): Promise<SessionUser | undefined> => {
    const token = readSessionToken(c, secure);
    return token ? registry.userForSessionToken(token) : undefined;
  };
  const tokenFor = (c: Context) => csrfToken(key, csrfBinding(c, secure, true)!);
  const toLogin = loginRedirect;

  app.use(async (c, next) => {
    await next();
    c.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'");
    c.header('x-frame-options', 'DENY');
    c.header('x-content-type-options', 'nosniff');
    // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on the portal's own
    // form posts (and no Sec-Fetch-Site over plain HTTP), which the Origin check must refuse.
    c.header('referrer-policy', 'same-origin');
    c.header('cache-control', 'no-store');
  });
  app.onError(async (err, c) => {
    const status = errorStatus(err);
    if (status >= 500) deps.logger?.error('portal request failed', { err, path: c.req.path });
    const domain = domainErrorOf(err); // a lost database connection reads "the database is unavailable"
    const message = domain instanceof DomainError ? domain.message : 'Something went wrong on our side. Please try again.';
    // The signed-in user's navigation stays on error pages (only when loaded: a CSRF refusal comes first).
    const u = c.get('user');
    const page = (
      <MessagePage title={status === 403 ? 'Not allowed' : status === 404 ? 'Not found' : 'Sorry'} user={u} csrf={u ? c.get('csrf') : undefined} message={message} error>
        <p>
          <a href="/">Back to the start page</a>
        </p>
      </MessagePage>
    );
    return c.html(page, status as 400, errorHeaders(err));
  });
  app.use('*', async (c, next) => {
    // Every method that may carry a body: the CSRF check reads a PUT's form as it reads a POST's.
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    // hono's bodyLimit counts a chunked body as it streams and stops at the limit; closing the
    // connection keeps the server from reading the rest off the wire.
    const tooLarge = (cc: Context) => cc.html(<MessagePage title="Sorry" message="The form is too large." error />, 413, { connection: 'close' });
    return bodyLimit({ maxSize: FORM_LIMIT_BYTES, onError: tooLarge })(c, next);
  });
  app.post('*', rateLimit({ limiter: createRateLimiter(deps.postLimit ?? { capacity: 30, refillPerSecond: 0.5 }), message: 'too many requests from this address; wait a moment' }));
  app.use(
    '*',
    csrfProtection({ key, allowedOrigins: [deps.portalOrigin], binding: (c) => csrfBinding(c, secure, false) }),
  );
  app.use('*', async (c, next) => {
    const u = await user(c);
    c.set('user', u);
    // Pages of signed-in users always carry forms (log out at least); anonymous pages get the pre-session cookie lazily.
    if (u) c.set('csrf', tokenFor(c));
    await next();
  });

  const kit = createKit(registry);
  registerDeviceRoutes(app, kit);
  registerOrganizationRoutes(app, kit);
  registerAdminRoutes(app, kit, { portalOrigin: deps.portalOrigin });
  registerClusterRoutes(app, kit, deps.cluster);
  registerAccountRoutes(app, kit, { secure });
  const sso = deps.sso ?? createSingleSignOn({ ctx: registry.context, beginPasswordAttempt: registry.beginPasswordAttempt, localLogin: true });
  registerSignInRoutes(app, kit, { secure, sso, tokenFor });

  app.get('/', async (c) => {
    const u = c.get('user');
    return c.html(<HomePage user={u} csrf={u ? tokenFor(c) : undefined} />);
  });

  // ---- log out ----

  app.post('/logout', async (c) => {
    const token = readSessionToken(c, secure);
    if (token) await registry.logout(token);
    clearSessionCookie(c, secure);
    return c.redirect('/login', 303);
  });

  // ---- claim approval ----

  app.get('/claim', async (c) => {
    const u = c.get('user');
    if (!u) return toLogin(c);
    const code = c.req.query('code');
    if (!code) return c.html(<ClaimCodePage user={u} csrf={tokenFor(c)} />);
    return runForm(
      c,
      async () => {
        // Lookups by code are counted per user and address (registry/claims.ts): codes are short.
        const view = await registry.viewClaim(code.slice(0, 20), { user: u, clientIp: clientAddress(c) });
        const returnHost = view.returnUrl ? new URL(view.returnUrl).host : null;
        return c.html(<ClaimApprovePage user={u} csrf={tokenFor(c)} now={registry.context.now()} claim={{ ...view, returnHost }} choice={await registry.organizationsForNewDevices(u)} />);
      },
      (err) => <ClaimCodePage user={u} csrf={tokenFor(c)} code={code.slice(0, 20)} error={err.message} />,
    );
  });

  app.post('/claim', async (c) => {
    const u = c.get('user');
    if (!u) return toLogin(c);
    const body = await readFormBody(c);
    const code = field(body, 'code', 20);
    const action = field(body, 'action', 10);
    if (action !== 'approve' && action !== 'deny') {
      return c.html(<ClaimCodePage user={u} csrf={tokenFor(c)} code={code} error="Choose Approve or Deny." />, 400);
    }
    const actor = { user: u, clientIp: clientAddress(c) };
    if (action === 'deny') {
      // A denial stays on the portal: the claim's returnUrl is the starter's choice, perhaps a phishing page.
      const denied = await registry.denyClaim(code, actor);
      return c.html(<MessagePage title="Request denied" user={u} csrf={tokenFor(c)} message={`Device ${denied.serial} was not connected.`} />);
    }
    let outcome: { serial: string; returnUrl: string | null };
    try {
      const organizationId = field(body, 'organizationId', 64);
      outcome = await registry.approveClaim(code, actor, { confirmKeyReplacement: field(body, 'confirmKeyReplacement', 5) === 'yes', ...(organizationId ? { organizationId } : {}) });
    } catch (err) {
      if (!(err instanceof ConflictError) || err.field !== 'confirmKeyReplacement') throw err;
      // The page again, with the replacement spelled out and the box to tick.
      const view = await registry.viewClaim(code, actor);
      const returnHost = view.returnUrl ? new URL(view.returnUrl).host : null;
      return c.html(<ClaimApprovePage user={u} csrf={tokenFor(c)} now={registry.context.now()} claim={{ ...view, returnHost }} choice={await registry.organizationsForNewDevices(u)} error={err.message} />, 409);
    }
    // Only the URL the device gave when it started this claim: never one from this request.
    if (outcome.returnUrl) return c.redirect(returnUrlWith(outcome.returnUrl, 'approved'), 303);
    const device = await registry.findDeviceBySerial(outcome.serial);
    return c.html(
      <MessagePage title="Remote access enabled" user={u} csrf={tokenFor(c)} message={`Device ${outcome.serial} is connected to your account.`}>
        {device ? (
          <p>
            Open it at <a href={device.url}>{device.url}</a>.
          </p>
        ) : null}
      </MessagePage>,
    );
  });

  // ---- device login: the proxy sends visitors here, a ticket takes them back ----

  const singleHost = deps.singleHost ? registerSingleHostRoutes(app, kit, { ...deps.singleHost, secure, tickets: deps.tickets }) : undefined;

  app.get('/auth/device', async (c) => {
    if (singleHost?.isSingleHost(c.req.query('host'))) return c.get('user') ? singleHost.authDevice(c) : toLogin(c);
    const serial = serialFromDeviceHost(c.req.query('host'), deps.deviceDomain);
    if (!serial) return c.html(<MessagePage title="Not found" message="That is not a device address." error />, 400);
    const next = safeNextPath(c.req.query('next'));
    const u = c.get('user');
    if (!u) return toLogin(c);
    const device = await registry.findDeviceBySerial(serial);
    // Same answer for "no such device" and "not yours": serials are guessable, access is not.
    if (!device || !(await registry.canAccessDevice(u.id, device.id))) {
      deps.logger?.info('device login refused', { device: serial, userId: u.id });
      return c.html(
        <MessagePage title="No access" user={u} csrf={tokenFor(c)} message={`Your account has no access to device ${serial}.`} error />,
        403,
      );
    }
    const ticket = await deps.tickets.issue(u.id, serial, next);
    // With a single device host, device links point there: the ticket goes back to the serial host the visitor came from.
    const base = singleHost ? `${deps.portalOrigin.slice(0, deps.portalOrigin.indexOf('://'))}://${c.req.query('host')!.toLowerCase()}` : registry.context.deviceUrl(serial);
    const target = new URL('/.porthole/auth', base);
    target.searchParams.set('ticket', ticket);
    target.searchParams.set('next', next);
    return c.redirect(target.toString(), 303);
  });

  // A catch-all rather than notFound(): a parent app's notFound would win after app.route().
  app.all('*', (c) => {
    throw new NotFoundError(`there is no page at ${c.req.path.slice(0, 100)}`);
  });

  return app;
}

