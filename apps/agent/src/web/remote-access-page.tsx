/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The server-rendered "Remote access" page (works without JavaScript: forms post, the page
// refreshes itself with a meta refresh while something is in progress). A device that embeds the
// page passes a frame (its own header and navigation) so the page looks like the rest of its UI.
import type { FC, PropsWithChildren } from 'hono/jsx';
import { raw } from 'hono/html';
import type { AgentStatus } from '../agent.js';
import { COUNTDOWN_SCRIPT, Csrf, EnableForm, JournalCard, NetworkCard, WindowLine, unrewritable, utcTime } from './page-parts.js';

/** The embedding device's page frame: its own document, header and navigation around `children`. */
export type PageFrame = FC<PropsWithChildren<{ title: string; refreshSeconds?: number | undefined }>>;

export interface PageProps {
  status: AgentStatus;
  basePath: string;
  csrf: string;
  nowMs: number;
  /** `?claim=approved` on the way back from the portal. */
  claimApproved: boolean;
  /** `?claim=denied`: the owner (or someone) refused on the portal. */
  claimDenied?: boolean;
  showLogout: boolean;
  notice?: string;
  /** A link back to the embedding device's UI, e.g. { href: '/', label: 'Back to the meter' }. */
  backLink?: { href: string; label: string } | undefined;
  /** The visitor came through the hub (the device's public URL): Disable would cut them off. */
  remote?: boolean;
  /** CSP nonce of the countdown script. */
  nonce?: string | undefined;
  frame?: PageFrame | undefined;
}

// Every rule is scoped to .ra so an embedding device's own styles stay as they are.
const css = `
.ra{max-width:44rem;margin:1.5rem auto;padding:0 1rem}
.ra .card{background:#fff;border:1px solid #dde1e8;border-radius:10px;padding:1.25rem 1.5rem;margin-bottom:1rem}
.ra h1{font-size:1.35rem;margin:0 0 .25rem}.ra h2{font-size:1.1rem;margin:0 0 .5rem}
.ra .muted{color:#667085}
.ra .state{display:inline-block;padding:.15rem .6rem;border-radius:99px;font-weight:600;font-size:.9rem}
.ra .state-off{background:#eef0f3}.ra .state-online{background:#dcf5e3;color:#135c2b}
.ra .state-waiting-approval,.ra .state-connecting,.ra .state-registering{background:#fff3d6;color:#7a5300}
.ra dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:.75rem 0 0}.ra dt{color:#667085}.ra dd{margin:0;word-break:break-all}
.ra .warn{background:#fff4e5;border-color:#f3c27a}.ra .ok{background:#ecfbf0;border-color:#9bd8ae}.ra .err{background:#fdecec;border-color:#f0a3a3}
.ra button{font:inherit;border:0;border-radius:6px;padding:.5rem 1rem;cursor:pointer;margin:0;width:auto}
.ra .primary{background:#1f5fbf;color:#fff}.ra .danger{background:#c9302c;color:#fff}.ra .plain{background:#e8ebf0;color:#1d2330}
.ra form{display:inline-block;margin:.5rem .5rem 0 0}.ra form.enable{display:block}.ra code{font-size:.85em}
.ra fieldset{border:0;padding:0;margin:.25rem 0 .5rem}.ra legend{font-weight:600;margin-bottom:.25rem}
.ra label.choice{display:inline-block;margin:0 1rem .25rem 0;color:inherit;font-size:1rem}.ra label.choice input{width:auto}
.ra input[type=password],.ra input[type=text],.ra input[type=number],.ra select{font:inherit;padding:.4rem .6rem;border:1px solid #c5cad3;border-radius:6px}
.ra .net{display:grid;grid-template-columns:max-content 1fr;gap:.5rem 1rem;align-items:center}.ra .net input{max-width:18rem}
.ra table{border-collapse:collapse;width:100%;font-size:.9rem}.ra th,.ra td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #eef0f3;vertical-align:top}
.ra .live{color:#135c2b;font-weight:600}
`;
const standaloneCss = `body{font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}`;

export const Layout: FC<PropsWithChildren<{ title: string; refreshSeconds?: number | undefined; frame?: PageFrame | undefined; script?: { nonce: string; code: string } | undefined }>> = ({
  title,
  refreshSeconds,
  frame: Frame,
  script,
  children,
}) => {
  const body = (
    <div class="ra">
      <style>{css}</style>
      {children}
      {script ? <script nonce={script.nonce}>{raw(script.code)}</script> : null}
    </div>
  );
  if (Frame) {
    return (
      <Frame title={title} refreshSeconds={refreshSeconds}>
        {body}
      </Frame>
    );
  }
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {refreshSeconds ? <meta http-equiv="refresh" content={String(refreshSeconds)} /> : null}
        {/* No favicon request: the page has none, and the browser would ask for /favicon.ico. */}
        <link rel="icon" href="data:," />
        <title>{title}</title>
        <style>{standaloneCss}</style>
      </head>
      <body>{body}</body>
    </html>
  );
};

function when(ms: number | undefined, now: number): string {
  if (ms === undefined) return '—';
  const ago = Math.max(0, Math.round((now - ms) / 1000));
  const rel = ago < 60 ? `${ago} s ago` : ago < 3600 ? `${Math.round(ago / 60)} min ago` : `${Math.round(ago / 3600)} h ago`;
  return `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)} UTC (${rel})`;
}

const PHASE_TEXT: Record<AgentStatus['phase'], string> = {
  off: 'Off',
  'waiting-approval': 'Waiting for approval',
  registering: 'Registering',
  connecting: 'Connecting',
  online: 'Online',
};

export const RemoteAccessPage: FC<PageProps> = ({ status: s, basePath, csrf, nowMs, claimApproved, claimDenied, showLogout, notice, backLink, remote, nonce, frame }) => {
  // Back from the portal before the agent's next poll saw the approval: say approved, not "waiting".
  const justApproved = claimApproved && s.phase === 'waiting-approval';
  const phaseClass = justApproved ? 'connecting' : s.phase;
  const phaseText = justApproved ? 'Approved, connecting' : PHASE_TEXT[s.phase];
  const busy = s.phase === 'waiting-approval' || s.phase === 'connecting' || s.phase === 'registering';
  const canEnable = !s.enabled && s.phase === 'off';
  const counting = s.enabled && typeof s.exposure.untilMs === 'number';
  return (
    <Layout
      title={`Remote access · ${s.serial}`}
      refreshSeconds={busy || (claimApproved && s.phase !== 'online') ? 3 : undefined}
      frame={frame}
      script={counting && nonce ? { nonce, code: COUNTDOWN_SCRIPT } : undefined}
    >
      {backLink ? (
        <p>
          <a href={backLink.href}>← {backLink.label}</a>
        </p>
      ) : null}
      <div class="card">
        <h1>Remote access</h1>
        <div class="muted">
          Device <code>{s.serial}</code>
        </div>
        <p>
          Status: <span class={`state state-${phaseClass}`} id="phase">{phaseText}</span>
          {s.phase === 'online' ? <span> since {when(s.onlineSinceMs, nowMs)}</span> : null}
        </p>
        <WindowLine status={s} nowMs={nowMs} />
        {s.phase === 'off' && !s.enabled ? (
          <p class="muted">
            When enabled, people you allow on the portal can open this device's web interface from anywhere. The device
            connects out to the hub; nothing on your router needs to change.
          </p>
        ) : null}
        {s.phase === 'waiting-approval' && s.claim && !justApproved ? (
          <p>
            Approve this device on the portal with code <strong id="user-code">{s.claim.userCode}</strong>:{' '}
            <a href={s.claim.verificationUriComplete}>open the approval page</a>. The code expires{' '}
            {new Date(s.claim.expiresAtMs).toISOString().slice(11, 16)} UTC.
          </p>
        ) : null}
        {s.phase === 'connecting' ? <p>Connecting to the hub…{s.nextRetryAtMs ? ` next attempt ${when(s.nextRetryAtMs, nowMs).replace(/\(.*\)/, '')}` : ''}</p> : null}
        {remote && s.enabled ? (
          <p class="card warn" id="remote-warning">
            You are using this page through remote access. Disable cuts your own connection at once, and only someone at
            the device can turn remote access on again.
          </p>
        ) : null}
        {canEnable ? (
          <EnableForm status={s} basePath={basePath} csrf={csrf} />
        ) : s.phase === 'waiting-approval' ? (
          <form method="post" action={`${basePath}/disable`}>
            <Csrf token={csrf} />
            <button class="plain" type="submit" id="cancel">Cancel the request</button>
          </form>
        ) : (
          <form method="post" action={`${basePath}/disable`}>
            <Csrf token={csrf} />
            <button class="danger" type="submit" id="disable">Disable</button>
          </form>
        )}
        {!s.enabled && s.registered && s.phase === 'off' ? (
          <form method="post" action={`${basePath}/forget`}>
            <Csrf token={csrf} />
            <button class="plain" type="submit">Forget registration</button>
          </form>
        ) : null}
        {showLogout ? (
          <form method="post" action={`${basePath}/logout`}>
            <Csrf token={csrf} />
            <button class="plain" type="submit">Log out</button>
          </form>
        ) : null}
      </div>

      {claimApproved ? (
        <div class="card ok">
          Approved on the portal.{' '}
          {s.publicUrl ? (
            <span>
              This device is reachable at <a href={s.publicUrl} id="public-url-banner">{s.publicUrl}</a>
              {s.phase === 'online' ? '.' : ' as soon as the tunnel is up.'}
            </span>
          ) : (
            'Finishing the registration…'
          )}
        </div>
      ) : null}
      {claimDenied ? <div class="card err">The request was denied on the portal; remote access stays off.</div> : null}
      {!s.enabled && s.exposure.endedAtMs !== undefined ? (
        <div class="card warn" id="window-ended">
          The access window ended at {utcTime(s.exposure.endedAtMs)}: the device turned remote access off by itself.
        </div>
      ) : null}
      {notice ? <div class="card ok">{notice}</div> : null}
      {s.lastError ? (
        <div class="card err" id="error">
          {s.lastError}
        </div>
      ) : null}
      {s.clockProblems.length > 0 ? (
        <div class="card warn" id="clock-problems">
          <strong>Clock problem</strong>
          <ul>
            {s.clockProblems.map((p) => (
              <li>{p.message}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {s.certificate?.pending ? (
        <div class="card warn" id="certificate-changed">
          <strong>The device's HTTPS certificate changed.</strong> Remote visitors get an error page until you decide.
          <dl>
            <dt>Address</dt>
            <dd>{unrewritable(s.certificate.origin)}</dd>
            <dt>Trusted (SHA-256)</dt>
            <dd><code>{s.certificate.pinned}</code></dd>
            <dt>New (SHA-256)</dt>
            <dd><code>{s.certificate.pending.fingerprint}</code></dd>
            <dt>Seen</dt>
            <dd>{s.certificate.pending.seenAt}</dd>
          </dl>
          <p>Accept it only if you know why it changed (device replaced, reset or updated).</p>
          <form method="post" action={`${basePath}/accept-certificate`}>
            <Csrf token={csrf} />
            <input type="hidden" name="fingerprint" value={s.certificate.pending.fingerprint} />
            <button class="primary" type="submit">Trust the new certificate</button>
          </form>
        </div>
      ) : null}

      <div class="card">
        <dl>
          <dt>Public URL</dt>
          <dd id="public-url">{s.publicUrl ? <a href={s.publicUrl}>{s.publicUrl}</a> : '—'}</dd>
          <dt>Last handshake</dt>
          <dd>{when(s.lastHandshakeAtMs, nowMs)}</dd>
          <dt>Transport</dt>
          <dd id="transport">{s.transport ?? '—'}</dd>
          {s.transportReason ? (
            <>
              <dt>Why</dt>
              <dd id="transport-reason">{s.transportReason}</dd>
            </>
          ) : null}
          {s.transportProblems.map((p) => (
            <>
              <dt>Problem</dt>
              <dd class="transport-problem">{p}</dd>
            </>
          ))}
          <dt>Tunnel address</dt>
          <dd>{s.tunnelIp ?? '—'}</dd>
          <dt>Forwards to</dt>
          <dd id="forwards-to">
            {unrewritable(s.target)}
            {s.exposed.map((e) => (
              <span>
                , port {e.port} → {e.host}:{e.targetPort}
                {e.mode === 'modbus-read-only' ? ' (Modbus/TCP, read-only)' : ''}
              </span>
            ))}
          </dd>
          {s.certificate?.pinned ? (
            <>
              <dt>Trusted certificate</dt>
              <dd><code>{s.certificate.pinned}</code></dd>
            </>
          ) : null}
        </dl>
      </div>
      <JournalCard entries={s.journal} />
      <NetworkCard status={s} basePath={basePath} csrf={csrf} />
    </Layout>
  );
};

/** A remote visitor pressed Disable: one more step, since it cuts their own connection. */
export const DisableConfirmPage: FC<{ basePath: string; csrf: string; serial: string; frame?: PageFrame | undefined }> = ({ basePath, csrf, serial, frame }) => (
  <Layout title={`Remote access · ${serial}`} frame={frame}>
    <div class="card warn" id="confirm-disable">
      <h1>Disable remote access?</h1>
      <p>
        You are connected to this device through remote access. Disabling it cuts your own connection at once, and
        only someone at the device can turn remote access on again.
      </p>
      <form method="post" action={`${basePath}/disable`}>
        <Csrf token={csrf} />
        <input type="hidden" name="confirm" value="1" />
        <button class="danger" type="submit" id="disable-anyway">Disable anyway</button>
      </form>
      <a href={`${basePath}/`}>Keep remote access on</a>
    </div>
  </Layout>
);

export const LoginPage: FC<{ basePath: string; csrf: string; error?: string; serial: string; frame?: PageFrame | undefined }> = ({ basePath, csrf, error, serial, frame }) => (
  <Layout title={`Remote access · ${serial}`} frame={frame}>
    <div class="card">
      <h1>Remote access</h1>
      <p class="muted">Device <code>{serial}</code>. Enter the device password to manage remote access.</p>
      {error ? <p class="err card">{error}</p> : null}
      <form method="post" action={`${basePath}/login`}>
        <Csrf token={csrf} />
        <input type="password" name="password" autocomplete="current-password" aria-label="Password" required />{' '}
        <button class="primary" type="submit">Log in</button>
      </form>
    </div>
  </Layout>
);

export const MessagePage: FC<{ title: string; message: string; frame?: PageFrame | undefined }> = ({ title, message, frame }) => (
  <Layout title={title} frame={frame}>
    <div class="card err">
      <h1>{title}</h1>
      <p>{message}</p>
    </div>
  </Layout>
);
