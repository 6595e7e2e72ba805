/** @jsxImportSource hono/jsx */
// Server-rendered portal pages (hono JSX, no client script: every flow works without JavaScript).
// Hono escapes every interpolated value, so user input cannot inject markup.
import type { Child, FC } from 'hono/jsx';
import { ago, formatTime } from './format.js';
import { ErrorNote, Layout, SelectField, type PageUser } from './layout.js';

export type { PageUser } from './layout.js';

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
  /** The registered device's key that approving replaces, and when that key last connected. */
  replacesKey: { keyTag: string; lastHandshakeAt: string | null } | null;
}

/** Where a new device may go, when the approver has a choice: the organisations, and the one selected. */
export interface ClaimOrganizations {
  organizations: readonly { id: string; name: string }[];
  defaultId: string;
}

export const ClaimApprovePage: FC<{ user: PageUser; csrf: string; now: Date; claim: ClaimDetails; error?: string | undefined; choice?: ClaimOrganizations | undefined }> = ({ user, csrf, now, claim, error, choice }) => {
  // Replacing the key of someone else's (or nobody's) device is an administrator's decision: ticked, not clicked through.
  const mustConfirm = claim.replacesKey !== null && claim.existingOwner !== 'you';
  return (
    <Layout title="Enable remote access?" user={user} csrf={csrf} narrow>
      <ErrorNote message={error} />
      <p>
        Device <code>{claim.serial}</code> asks to be connected to your account <strong>{user.email}</strong>. Check that the
        code <code>{claim.userCode}</code> is the one the device shows.
      </p>
      {claim.existingOwner === 'you' && !claim.replacesKey ? <p class="note">This device is already yours.</p> : null}
      {claim.existingOwner === 'someone else' || claim.existingOwner === 'nobody' ? (
        <p class="note">This serial is already registered; only its owner or an administrator can approve.</p>
      ) : null}
      {claim.replacesKey ? (
        <div class="error" role="alert">
          <p>
            <strong>Approving replaces the key of the registered device {claim.serial}.</strong> The device now registered
            uses key <code>{claim.replacesKey.keyTag}</code>;{' '}
            {claim.replacesKey.lastHandshakeAt
              ? `its last handshake was ${formatTime(claim.replacesKey.lastHandshakeAt)} (${ago(claim.replacesKey.lastHandshakeAt, now)}).`
              : 'it has never connected.'}{' '}
            The request comes with key <code>{claim.keyTag}</code>. If the registered device is still in use, this request
            may come from another device claiming its serial: deny it.
          </p>
        </div>
      ) : null}
      {claim.returnHost ? <p class="note">Afterwards you return to the device at {claim.returnHost} (if you approve; a denial stays here).</p> : null}
      <form method="post" action="/claim">
        <input type="hidden" name="_csrf" value={csrf} />
        <input type="hidden" name="code" value={claim.userCode} />
        {choice && claim.existingOwner === null && choice.organizations.length > 1 ? (
          <p>
            <SelectField id="claim-org" name="organizationId" label="Organisation" options={choice.organizations.map((o) => ({ value: o.id, label: o.name }))} selected={choice.defaultId} />
          </p>
        ) : null}
        {mustConfirm ? (
          <p>
            <input id="confirm-replace" type="checkbox" name="confirmKeyReplacement" value="yes" />{' '}
            <label for="confirm-replace">I confirm replacing the key of device {claim.serial}</label>
          </p>
        ) : null}
        {/* Two different answers look different: Approve is the filled button, Deny the outlined one. */}
        <button type="submit" name="action" value="approve" class="approve">
          Approve
        </button>
        <button type="submit" name="action" value="deny" class="secondary deny">
          Deny
        </button>
      </form>
    </Layout>
  );
};

export const MessagePage: FC<{ title: string; user?: PageUser | undefined; csrf?: string | undefined; message: string; error?: boolean; children?: Child }> = (p) => (
  <Layout title={p.title} user={p.user} csrf={p.csrf} narrow>
    {p.error ? <ErrorNote message={p.message} /> : <p>{p.message}</p>}
    {p.children}
  </Layout>
);
