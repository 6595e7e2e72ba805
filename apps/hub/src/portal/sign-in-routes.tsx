/** @jsxImportSource hono/jsx */
// Sign-in routes of the portal: /login (password), /signup, single sign-on (/login/oidc starts,
// /login/oidc/callback finishes), directory sign-in (/login/directory) and the signed-in user's
// sign-in methods (/account/sign-in). Every way ends in the same portal session cookie.
//
// The OIDC flow cookie holds the sign-in's secret (state, nonce and PKCE verifier derive from it,
// auth/oidc.ts), whether it signs in or links, and where to go afterwards. It is HttpOnly, `__Host-`
// over TLS, and SameSite=Lax: the provider's redirect back is a cross-site top-level GET, which Lax
// cookies accompany; it lives 10 minutes and the callback deletes it (one use).
import type { Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { ForbiddenError, UnauthorizedError } from '../errors.js';
import { burnPasswordCheck, MIN_PASSWORD_LENGTH } from '../auth/passwords.js';
import type { SingleSignOn } from '../auth/single-sign-on.js';
import { readFormBody } from '../http/form-body.js';
import { clientAddress } from '../http/rate-limit.js';
import { field, runForm, type PortalContext, type PortalEnv, type PortalKit } from './portal-kit.js';
import { safeNextPath } from './safe-redirect.js';
import { setSessionCookie } from './session-cookie.js';
import { LoginPage, SignInMethodsPage, SignUpPage, type SignInOptions } from './sign-in-pages.js';

const FLOW_TTL_SECONDS = 600;

export function flowCookieName(secure: boolean): string {
  return secure ? '__Host-porthole_sso' : 'porthole_sso';
}

interface Flow {
  secret: string;
  intent: 'in' | 'link';
  next: string;
}

function writeFlow(c: Context, secure: boolean, flow: Flow): void {
  const value = `${flow.secret}.${flow.intent}.${Buffer.from(flow.next).toString('base64url')}`;
  setCookie(c, flowCookieName(secure), value, { path: '/', httpOnly: true, secure, sameSite: 'Lax', maxAge: FLOW_TTL_SECONDS });
}

/** The flow this browser started, taken (deleted) so a callback works once. */
function takeFlow(c: Context, secure: boolean): Flow | undefined {
  const value = getCookie(c, flowCookieName(secure));
  if (value === undefined) return undefined;
  deleteCookie(c, flowCookieName(secure), { path: '/', secure });
  const m = /^([A-Za-z0-9_-]{43})\.(in|link)\.([A-Za-z0-9_-]{0,2800})$/.exec(value);
  if (!m) return undefined;
  return { secret: m[1]!, intent: m[2] as Flow['intent'], next: safeNextPath(Buffer.from(m[3]!, 'base64url').toString('utf8')) };
}

export interface SignInRouteOptions {
  secure: boolean;
  sso: SingleSignOn;
  /** The CSRF token for a form on this response (creates the pre-session cookie when needed). */
  tokenFor(c: Context): string;
}

export function registerSignInRoutes(app: Hono<PortalEnv>, kit: PortalKit, options: SignInRouteOptions): void {
  const { registry } = kit;
  const { secure, sso, tokenFor } = options;
  const methods = (passwordForm: boolean): SignInOptions => ({
    password: sso.localLogin ? 'form' : passwordForm ? 'admin' : 'none',
    oidcName: sso.oidcName,
    directoryName: sso.directoryName,
    signUp: sso.localLogin,
  });
  /** `?method=password` shows the bootstrap admin's password form when local login is off. */
  const wantsPassword = (c: Context) => c.req.query('method') === 'password';

  const loginPage = (c: Context, props: { next: string; error?: string; email?: string; username?: string; passwordForm?: boolean }) => (
    <LoginPage csrf={tokenFor(c)} {...methods(props.passwordForm ?? false)} next={props.next} email={props.email} username={props.username} error={props.error} />
  );

  app.get('/login', async (c) => {
    const next = safeNextPath(c.req.query('next'));
    if (c.get('user')) return c.redirect(next, 303);
    return c.html(loginPage(c, { next, passwordForm: wantsPassword(c) }));
  });

  app.post('/login', async (c) => {
    const body = await readFormBody(c);
    const next = safeNextPath(field(body, 'next', 2048));
    const email = field(body, 'email', 254);
    const password = field(body, 'password', 512);
    const again = { next, email, passwordForm: !sso.localLogin };
    return runForm(
      c,
      async () => {
        if (!sso.passwordLoginAllowed(email)) {
          // Local login is off and this is not the bootstrap admin: the answer and its cost are a wrong password's.
          await burnPasswordCheck(password);
          throw new UnauthorizedError('e-mail address or password is wrong', { field: 'password' });
        }
        const result = await registry.login({ email, password, clientIp: clientAddress(c) });
        setSessionCookie(c, secure, result.session.token);
        return c.redirect(next, 303);
      },
      (err) => loginPage(c, { ...again, error: err.message }),
    );
  });

  app.get('/signup', async (c) => {
    const next = safeNextPath(c.req.query('next'));
    if (c.get('user') || !sso.localLogin) return c.redirect(c.get('user') ? next : `/login?next=${encodeURIComponent(next)}`, 303);
    return c.html(<SignUpPage csrf={tokenFor(c)} next={next} minLength={MIN_PASSWORD_LENGTH} />);
  });

  app.post('/signup', async (c) => {
    const body = await readFormBody(c);
    const next = safeNextPath(field(body, 'next', 2048));
    const email = field(body, 'email', 254);
    const password = field(body, 'password', 512);
    return runForm(
      c,
      async () => {
        if (!sso.localLogin) throw new ForbiddenError('sign-up with a password is switched off on this hub; sign in with single sign-on or your directory account');
        // A taken address is a login attempt with this password (registry/accounts.ts): the answer
        // never says that the address has an account.
        const result = await registry.signUpAndLogIn({ email, password, clientIp: clientAddress(c) });
        setSessionCookie(c, secure, result.session.token);
        return c.redirect(next, 303);
      },
      (err) => <SignUpPage csrf={tokenFor(c)} next={next} email={email} error={err.message} minLength={MIN_PASSWORD_LENGTH} />,
    );
  });

  // ---- OpenID Connect ----

  app.post('/login/oidc', async (c) => {
    const body = await readFormBody(c);
    const next = safeNextPath(field(body, 'next', 2048));
    const intent = field(body, 'intent', 10) === 'link' ? 'link' : 'in';
    if (intent === 'link' && !c.get('user')) return c.redirect('/login', 303);
    return runForm(
      c,
      async () => {
        const start = await sso.startOidc();
        writeFlow(c, secure, { secret: start.flowSecret, intent, next });
        return c.redirect(start.authorizationUrl, 303);
      },
      (err) => loginPage(c, { next, error: err.message }),
    );
  });

  app.get('/login/oidc/callback', async (c) => {
    const flow = takeFlow(c, secure);
    const params = new URL(c.req.url).searchParams;
    const u = c.get('user');
    return runForm(
      c,
      async () => {
        if (!flow) throw new UnauthorizedError('this sign-in was not started in this browser, or took longer than 10 minutes; start again');
        if (flow.intent === 'link') {
          if (!u) throw new UnauthorizedError('sign in with your password first, then link the provider');
          await sso.linkOidc(params, flow.secret, u);
          return c.redirect('/account/sign-in?done=linked', 303);
        }
        const result = await sso.finishOidc(params, flow.secret, clientAddress(c));
        setSessionCookie(c, secure, result.session.token);
        return c.redirect(flow.next, 303);
      },
      (err) => (u ? methodsPage(c, err.message) : loginPage(c, { next: flow?.next ?? '/', error: err.message })),
    );
  });

  // ---- LDAP directory ----

  app.post('/login/directory', async (c) => {
    const body = await readFormBody(c);
    const next = safeNextPath(field(body, 'next', 2048));
    const username = field(body, 'username', 256);
    return runForm(
      c,
      async () => {
        if (!sso.directoryName) throw new ForbiddenError('directory sign-in is not configured on this hub');
        const result = await sso.directorySignIn({ username, password: field(body, 'password', 1024), clientIp: clientAddress(c) });
        setSessionCookie(c, secure, result.session.token);
        return c.redirect(next, 303);
      },
      (err) => loginPage(c, { next, username, error: err.message }),
    );
  });

  // ---- the signed-in user's sign-in methods ----

  /** The signed-in user's sign-in methods; a refused link shows its error instead of the "linked" notice. */
  const methodsPage = async (c: Context, error?: string) => {
    const u = kit.userOf(c as PortalContext);
    const notice = c.req.query('done') === 'linked' ? 'Linked: you can sign in with it from now on.' : undefined;
    return (
      <SignInMethodsPage
        user={u}
        csrf={tokenFor(c)}
        identities={await sso.identities(u.id)}
        oidcName={sso.oidcName}
        directoryName={sso.directoryName}
        notice={error === undefined ? notice : undefined}
        error={error}
      />
    );
  };

  app.get('/account/sign-in', kit.requireUser, async (c) => c.html(await methodsPage(c)));

  app.post('/account/sign-in/directory', kit.requireUser, async (c) => {
    const body = await readFormBody(c);
    return runForm(
      c,
      async () => {
        await sso.linkDirectory({ username: field(body, 'username', 256), password: field(body, 'password', 1024), clientIp: clientAddress(c), user: kit.userOf(c) });
        return c.redirect('/account/sign-in?done=linked', 303);
      },
      (err) => methodsPage(c, err.message),
    );
  });
}
