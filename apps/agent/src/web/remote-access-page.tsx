/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The server-rendered "Remote access" page (works without JavaScript: forms post, the page
// refreshes itself with a meta refresh while something is in progress).
import type { FC, PropsWithChildren } from 'hono/jsx';
import type { AgentStatus } from '../agent.js';

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
  backLink?: { href: string; label: string };
}

const css = `
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
main{max-width:44rem;margin:2rem auto;padding:0 1rem}
.card{background:#fff;border:1px solid #dde1e8;border-radius:10px;padding:1.25rem 1.5rem;margin-bottom:1rem}
h1{font-size:1.35rem;margin:0 0 .25rem}
.muted{color:#667085}
.state{display:inline-block;padding:.15rem .6rem;border-radius:99px;font-weight:600;font-size:.9rem}
.state-off{background:#eef0f3}.state-online{background:#dcf5e3;color:#135c2b}
.state-waiting-approval,.state-connecting,.state-registering{background:#fff3d6;color:#7a5300}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:.75rem 0 0}dt{color:#667085}dd{margin:0;word-break:break-all}
.warn{background:#fff4e5;border-color:#f3c27a}.ok{background:#ecfbf0;border-color:#9bd8ae}.err{background:#fdecec;border-color:#f0a3a3}
button{font:inherit;border:0;border-radius:6px;padding:.5rem 1rem;cursor:pointer}
.primary{background:#2455d6;color:#fff}.danger{background:#c9302c;color:#fff}.plain{background:#e8ebf0}
form{display:inline-block;margin:.5rem .5rem 0 0}code{font-size:.85em}
input[type=password],input[type=text],input[type=number],select{font:inherit;padding:.4rem .6rem;border:1px solid #c5cad3;border-radius:6px}
.net{display:grid;grid-template-columns:max-content 1fr;gap:.5rem 1rem;align-items:center}.net input{max-width:18rem}
`;

export const Layout: FC<PropsWithChildren<{ title: string; refreshSeconds?: number }>> = ({ title, refreshSeconds, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      {refreshSeconds ? <meta http-equiv="refresh" content={String(refreshSeconds)} /> : null}
      <title>{title}</title>
      <style>{css}</style>
    </head>
    <body>
      <main>{children}</main>
    </body>
  </html>
);

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

const Csrf: FC<{ token: string }> = ({ token }) => <input type="hidden" name="csrf" value={token} />;

export const RemoteAccessPage: FC<PageProps> = ({ status: s, basePath, csrf, nowMs, claimApproved, claimDenied, showLogout, notice, backLink }) => {
  const busy = s.phase === 'waiting-approval' || s.phase === 'connecting' || s.phase === 'registering';
  const canEnable = !s.enabled && s.phase === 'off';
  return (
    <Layout title={`Remote access · ${s.serial}`} refreshSeconds={busy || (claimApproved && s.phase !== 'online') ? 3 : undefined}>
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
          Status: <span class={`state state-${s.phase}`} id="phase">{PHASE_TEXT[s.phase]}</span>
          {s.phase === 'online' ? <span> since {when(s.onlineSinceMs, nowMs)}</span> : null}
        </p>
        {s.phase === 'off' && !s.enabled ? (
          <p class="muted">
            When enabled, people you allow on the portal can open this device's web interface from anywhere. The device
            connects out to the hub; nothing on your router needs to change.
          </p>
        ) : null}
        {s.phase === 'waiting-approval' && s.claim ? (
          <p>
            Approve this device on the portal with code <strong id="user-code">{s.claim.userCode}</strong>:{' '}
            <a href={s.claim.verificationUriComplete}>open the approval page</a>. The code expires{' '}
            {new Date(s.claim.expiresAtMs).toISOString().slice(11, 16)} UTC.
          </p>
        ) : null}
        {s.phase === 'connecting' ? <p>Connecting to the hub…{s.nextRetryAtMs ? ` next attempt ${when(s.nextRetryAtMs, nowMs).replace(/\(.*\)/, '')}` : ''}</p> : null}
        {canEnable ? (
          <form method="post" action={`${basePath}/enable`}>
            <Csrf token={csrf} />
            <button class="primary" type="submit" id="enable">Enable remote access</button>
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
            <dd>{s.certificate.origin}</dd>
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
          <dd>
            {s.target}
            {s.exposed.map((e) => (
              <span>
                , port {e.port} → {e.host}:{e.targetPort}
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
      <NetworkCard status={s} basePath={basePath} csrf={csrf} />
    </Layout>
  );
};

/** Proxy and transport settings (issue 9): the same protection as every other form on the page. */
const NetworkCard: FC<{ status: AgentStatus; basePath: string; csrf: string }> = ({ status: s, basePath, csrf }) => {
  const n = s.network;
  const p = n.proxy;
  return (
    <div class="card" id="network">
      <h2 style="font-size:1.1rem;margin:0 0 .5rem">Network</h2>
      <p class="muted">
        Currently: {p ? p.text : 'direct connection'}, transport{' '}
        {n.transport === 'auto' ? 'automatic (UDP, WebSocket over HTTPS when UDP is blocked)' : n.transport === 'udp' ? 'UDP only' : 'WebSocket over HTTPS only'}
        {' '}(from {n.source}). The device only ever contacts the hub: its HTTPS port (API and WebSocket) and, when UDP
        is used, its WireGuard UDP port.
      </p>
      <form method="post" action={`${basePath}/network`} class="net">
        <Csrf token={csrf} />
        <label for="net-transport">Transport</label>
        <select id="net-transport" name="transport">
          <option value="auto" selected={n.transport === 'auto'}>Automatic</option>
          <option value="udp" selected={n.transport === 'udp'}>UDP only</option>
          <option value="websocket" selected={n.transport === 'websocket'}>WebSocket over HTTPS only</option>
        </select>
        <label for="net-proxy">Proxy</label>
        <select id="net-proxy" name="proxyKind">
          <option value="none" selected={!p}>None</option>
          <option value="socks5" selected={p?.kind === 'socks5'}>SOCKS5</option>
          <option value="socks4a" selected={p?.kind === 'socks4a'}>SOCKS4a (TCP only)</option>
          <option value="http" selected={p?.kind === 'http'}>HTTP CONNECT</option>
        </select>
        <label for="net-host">Proxy host</label>
        <input type="text" id="net-host" name="proxyHost" value={p?.host ?? ''} autocomplete="off" />
        <label for="net-port">Proxy port</label>
        <input type="number" id="net-port" name="proxyPort" min="1" max="65535" value={p ? String(p.port) : ''} />
        <label for="net-user">User name</label>
        <input type="text" id="net-user" name="proxyUsername" value={p?.username ?? ''} autocomplete="off" />
        <label for="net-pass">Password</label>
        <input type="password" id="net-pass" name="proxyPassword" autocomplete="new-password" placeholder={p?.hasPassword ? '(unchanged)' : ''} />
        <span></span>
        <span>
          <button class="primary" type="submit" id="save-network">Save network settings</button>
        </span>
      </form>
      {n.source === 'this page' ? (
        <form method="post" action={`${basePath}/network`}>
          <Csrf token={csrf} />
          <input type="hidden" name="reset" value="1" />
          <button class="plain" type="submit">Use the command-line settings</button>
        </form>
      ) : null}
    </div>
  );
};

export const LoginPage: FC<{ basePath: string; csrf: string; error?: string; serial: string }> = ({ basePath, csrf, error, serial }) => (
  <Layout title={`Remote access · ${serial}`}>
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

export const MessagePage: FC<{ title: string; message: string }> = ({ title, message }) => (
  <Layout title={title}>
    <div class="card err">
      <h1>{title}</h1>
      <p>{message}</p>
    </div>
  </Layout>
);
