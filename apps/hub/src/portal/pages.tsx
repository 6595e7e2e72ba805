/** @jsxImportSource hono/jsx */
// Server-rendered portal pages (hono JSX, no client script: every flow works without JavaScript).
// Hono escapes every interpolated value, so user input cannot inject markup.
import type { Child, FC } from 'hono/jsx';
import { ErrorNote, Layout, type PageUser } from './layout.js';

export type { PageUser } from './layout.js';

export const LoginPage: FC<{ csrf: string; next: string; email?: string; error?: string | undefined }> = (p) => (
  <Layout title="Log in" narrow>
    <ErrorNote message={p.error} />
    <form method="post" action="/login">
      <input type="hidden" name="_csrf" value={p.csrf} />
      <input type="hidden" name="next" value={p.next} />
      <label for="email">E-mail address</label>
      <input id="email" type="email" name="email" value={p.email ?? ''} required autocomplete="username" autofocus />
      <label for="password">Password</label>
      <input id="password" type="password" name="password" required autocomplete="current-password" />
      <button type="submit">Log in</button>
    </form>
    <p class="note">
      No account yet? <a href={`/signup?next=${encodeURIComponent(p.next)}`}>Sign up</a>
    </p>
  </Layout>
);

export const SignUpPage: FC<{ csrf: string; next: string; email?: string; error?: string | undefined; minLength: number }> = (p) => (
  <Layout title="Create an account" narrow>
    <ErrorNote message={p.error} />
    <form method="post" action="/signup">
      <input type="hidden" name="_csrf" value={p.csrf} />
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

export const HomePage: FC<{ user?: PageUser | undefined; csrf?: string | undefined }> = (p) => (
  <Layout title="Remote access" user={p.user} csrf={p.csrf} narrow>
    {p.user ? (
      <p>
        Signed in as <strong>{p.user.email}</strong>. To connect a device, click “Enable remote access” on the device and
        follow its link, or <a href="/claim">enter its code</a>.
      </p>
    ) : (
      <p>
        <a href="/login">Log in</a> or <a href="/signup">create an account</a> to connect your devices.
      </p>
    )}
  </Layout>
);

export const ClaimCodePage: FC<{ user: PageUser; csrf: string; error?: string | undefined; code?: string }> = (p) => (
  <Layout title="Connect a device" user={p.user} csrf={p.csrf} current="/claim" narrow>
    <ErrorNote message={p.error} />
    <form method="get" action="/claim">
      <label for="code">Code shown by the device</label>
      <input id="code" type="text" name="code" value={p.code ?? ''} placeholder="BCDF-GHJK" required autocomplete="off" autofocus />
      <button type="submit">Continue</button>
    </form>
  </Layout>
);

export interface ClaimDetails {
  userCode: string;
  serial: string;
  keyTag: string;
  returnHost: string | null;
  existingOwner: 'you' | 'someone else' | 'nobody' | null;
}

export const ClaimApprovePage: FC<{ user: PageUser; csrf: string; claim: ClaimDetails }> = ({ user, csrf, claim }) => (
  <Layout title="Enable remote access?" user={user} csrf={csrf} narrow>
    <p>
      Device <code>{claim.serial}</code> asks to be connected to your account <strong>{user.email}</strong>. Check that the
      code <code>{claim.userCode}</code> is the one the device shows.
    </p>
    {claim.existingOwner === 'you' ? <p class="note">This device is already yours; approving updates its key.</p> : null}
    {claim.existingOwner === 'someone else' || claim.existingOwner === 'nobody' ? (
      <p class="note">This serial is already registered; only its owner or an administrator can approve.</p>
    ) : null}
    {claim.returnHost ? <p class="note">Afterwards you return to the device at {claim.returnHost}.</p> : null}
    <form method="post" action="/claim">
      <input type="hidden" name="_csrf" value={csrf} />
      <input type="hidden" name="code" value={claim.userCode} />
      <button type="submit" name="action" value="approve">
        Approve
      </button>
      <button type="submit" name="action" value="deny">
        Deny
      </button>
    </form>
  </Layout>
);

export const MessagePage: FC<{ title: string; user?: PageUser | undefined; csrf?: string | undefined; message: string; error?: boolean; children?: Child }> = (p) => (
  <Layout title={p.title} user={p.user} csrf={p.csrf} narrow>
    {p.error ? <ErrorNote message={p.message} /> : <p>{p.message}</p>}
    {p.children}
  </Layout>
);
