/** @jsxImportSource hono/jsx */
// The sign-in pages: log in (single sign-on button, directory form, password form, each when
// configured), sign up with a password, and the signed-in user's sign-in methods (linking a
// provider to a password account). No script: every flow is a form post.
import type { FC } from 'hono/jsx';
import type { IdentityInfo } from '../auth/identity-provisioning.js';
import { Csrf, ErrorNote, Layout, Notice, type PageUser } from './layout.js';

export interface SignInOptions {
  /** `form`: the password form; `admin`: only the bootstrap admin's (local login off); `none`. */
  password: 'form' | 'admin' | 'none';
  /** Name of the OpenID Connect provider, when configured. */
  oidcName?: string | undefined;
  /** Name of the LDAP directory, when configured. */
  directoryName?: string | undefined;
  /** Local sign-up is on. */
  signUp: boolean;
}

export interface LoginPageProps extends SignInOptions {
  csrf: string;
  next: string;
  email?: string | undefined;
  username?: string | undefined;
  error?: string | undefined;
}

/** The code of a claim link (`/claim?code=BCDF-GHJK`) that a sign-in continues to, or undefined. */
export function claimCodeIn(next: string): string | undefined {
  const url = new URL(next, 'http://portal.invalid');
  const code = url.searchParams.get('code');
  return url.pathname === '/claim' && code && /^[A-Za-z0-9-]{1,20}$/.test(code) ? code.toUpperCase() : undefined;
}

/**
 * Why this sign-in, when it continues a device's "Enable remote access": the owner came from the
 * device's page and should know what the account is for before making one. The serial is shown
 * after sign-in only: looking a code up costs a throttled attempt of a signed-in user, and an
 * anonymous page must not turn codes into serials.
 */
const ClaimIntro: FC<{ next: string }> = ({ next }) => {
  const code = claimCodeIn(next);
  return code ? (
    <section class="panel" aria-label="Connecting a device">
      <p>
        <strong>A device is asking to be connected to your account</strong> for remote access: you clicked “Enable remote
        access” on its page. Sign in or create an account here; the next page names the device by its serial and asks you to
        approve it.
      </p>
      <p class="note">
        The code it showed you: <code>{code}</code>. Only approve if the device shows the same code.
      </p>
    </section>
  ) : null;
};

const OidcButton: FC<{ csrf: string; next: string; name: string; intent?: 'link' }> = (p) => (
  <form method="post" action="/login/oidc">
    <Csrf token={p.csrf} />
    <input type="hidden" name="next" value={p.next} />
    {p.intent ? <input type="hidden" name="intent" value={p.intent} /> : null}
    <button type="submit">{p.intent === 'link' ? `Link ${p.name}` : `Sign in with ${p.name}`}</button>
  </form>
);

const DirectoryForm: FC<{ csrf: string; next: string; name: string; action: string; username?: string | undefined; button: string }> = (p) => (
  <form method="post" action={p.action}>
    <Csrf token={p.csrf} />
    <input type="hidden" name="next" value={p.next} />
    <label for="username">User name ({p.name})</label>
    <input id="username" type="text" name="username" value={p.username ?? ''} required autocomplete="username" autocapitalize="none" spellcheck={false} />
    <label for="directoryPassword">Password ({p.name})</label>
    <input id="directoryPassword" type="password" name="password" required autocomplete="current-password" />
    <button type="submit">{p.button}</button>
  </form>
);

export const LoginPage: FC<LoginPageProps> = (p) => (
  <Layout title={p.password === 'admin' ? 'Administrator sign-in' : 'Log in'} narrow>
    <ErrorNote message={p.error} />
    <ClaimIntro next={p.next} />
    {p.oidcName && p.password !== 'admin' ? <OidcButton csrf={p.csrf} next={p.next} name={p.oidcName} /> : null}
    {p.directoryName && p.password !== 'admin' ? (
      <section aria-label={`Sign in with your ${p.directoryName} account`}>
        <h2>Sign in with your {p.directoryName} account</h2>
        <DirectoryForm csrf={p.csrf} next={p.next} name={p.directoryName} action="/login/directory" username={p.username} button="Sign in" />
      </section>
    ) : null}
    {p.password !== 'none' ? (
      <section aria-label="Log in with a password">
        {p.oidcName || p.directoryName ? <h2>{p.password === 'admin' ? 'Bootstrap administrator' : 'Log in with a password'}</h2> : null}
        <form method="post" action="/login">
          <Csrf token={p.csrf} />
          <input type="hidden" name="next" value={p.next} />
          <label for="email">E-mail address</label>
          <input id="email" type="email" name="email" value={p.email ?? ''} required autocomplete="username" />
          <label for="password">Password</label>
          <input id="password" type="password" name="password" required autocomplete="current-password" />
          <button type="submit">Log in</button>
        </form>
      </section>
    ) : null}
    {p.signUp ? (
      <p class="note">
        No account yet? <a href={`/signup?next=${encodeURIComponent(p.next)}`}>Sign up</a>
      </p>
    ) : null}
  </Layout>
);

export const SignUpPage: FC<{ csrf: string; next: string; email?: string; error?: string | undefined; minLength: number }> = (p) => (
  <Layout title="Create an account" narrow>
    <ErrorNote message={p.error} />
    <ClaimIntro next={p.next} />
    <form method="post" action="/signup">
      <Csrf token={p.csrf} />
      <input type="hidden" name="next" value={p.next} />
      <label for="email">E-mail address</label>
      <input id="email" type="email" name="email" value={p.email ?? ''} required autocomplete="username" autofocus />
      <label for="password">Password (at least {p.minLength} characters)</label>
      <input id="password" type="password" name="password" required minlength={p.minLength} autocomplete="new-password" />
      <button type="submit">Create account</button>
    </form>
    <p class="note">
      Have an account? <a href={`/login?next=${encodeURIComponent(p.next)}`}>Log in</a>
    </p>
  </Layout>
);

const PROVIDER_LABEL = { oidc: 'Single sign-on', ldap: 'Directory' } as const;

export const SignInMethodsPage: FC<{
  user: PageUser;
  csrf: string;
  identities: readonly IdentityInfo[];
  oidcName?: string | undefined;
  directoryName?: string | undefined;
  notice?: string | undefined;
  error?: string | undefined;
}> = (p) => (
  <Layout title="Sign-in methods" user={p.user} csrf={p.csrf} narrow>
    <Notice message={p.notice} />
    <ErrorNote message={p.error} />
    {p.identities.length > 0 ? (
      <ul>
        {p.identities.map((i) => (
          <li>
            {PROVIDER_LABEL[i.provider]} ({i.issuer}) as {i.email}
          </li>
        ))}
      </ul>
    ) : (
      <p>This account signs in with its password only.</p>
    )}
    {p.oidcName || p.directoryName ? (
      <p class="note">Link a provider that knows you under {p.user.email}; afterwards you can sign in with it too.</p>
    ) : null}
    {p.oidcName ? <OidcButton csrf={p.csrf} next="/account/sign-in" name={p.oidcName} intent="link" /> : null}
    {p.directoryName ? (
      <DirectoryForm csrf={p.csrf} next="/account/sign-in" name={p.directoryName} action="/account/sign-in/directory" button={`Link ${p.directoryName}`} />
    ) : null}
  </Layout>
);
