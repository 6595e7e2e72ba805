/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// Parts of the Remote access page: the Enable form with the exposure-window choices, the window's
// countdown, the access journal and the Network card. Server-rendered; the countdown ticks with a
// few lines of script (CSP nonce) and is correct at load time without it.
import type { FC } from 'hono/jsx';
import { raw } from 'hono/html';
import type { JournalEntry } from '@porthole/device-control';
import type { AgentStatus } from '../agent.js';
import { describeWindow } from '../exposure/exposure-window.js';

export const Csrf: FC<{ token: string }> = ({ token }) => <input type="hidden" name="csrf" value={token} />;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * An address shown as text that the agent's own forwarder must not rewrite: seen through the
 * tunnel, the page is an HTML body from the target, and its byte-wise self-link rewriting would
 * turn "http://127.0.0.1:8080" into the public URL. A character reference reads the same.
 */
export function unrewritable(text: string) {
  return raw(escapeHtml(text).replace('://', '&#58;//'));
}

export function utcTime(ms: number): string {
  return `${new Date(ms).toISOString().replace('T', ' ').slice(0, 16)} UTC`;
}

/** "2 h 5 min", "4 min 10 s": the time left, as the countdown script also writes it. */
export function timeLeft(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
}

/** Ticks #countdown each second from its data-until (ms); reloads when the window ends. */
export const COUNTDOWN_SCRIPT = `(function(){var el=document.getElementById('countdown');if(!el)return;var end=Number(el.getAttribute('data-until'));
function tick(){var s=Math.max(0,Math.round((end-Date.now())/1000)),h=Math.floor(s/3600),m=Math.floor(s%3600/60);
el.textContent=h>0?h+' h '+m+' min':m+' min '+(s%60)+' s';if(s===0){setTimeout(function(){location.reload()},2000);return}setTimeout(tick,1000)}tick()})();`;

export const EnableForm: FC<{ status: AgentStatus; basePath: string; csrf: string }> = ({ status: s, basePath, csrf }) => {
  const choices = s.exposure.choices;
  const preferred = choices.includes(null) ? null : choices.at(-1);
  return (
    <form method="post" action={`${basePath}/enable`} class="enable">
      <Csrf token={csrf} />
      <fieldset>
        <legend>Keep remote access on</legend>
        {choices.map((h) => (
          <label class="choice">
            <input type="radio" name="window" value={h === null ? 'off' : String(h)} checked={h === preferred} /> {describeWindow(h)}
          </label>
        ))}
      </fieldset>
      {typeof s.exposure.maxHours === 'number' ? (
        <p class="muted" id="fleet-maximum">Your fleet administrator allows at most {s.exposure.maxHours === 1 ? '1 hour' : `${s.exposure.maxHours} hours`} at a time.</p>
      ) : null}
      <button class="primary" type="submit" id="enable">Enable remote access</button>
    </form>
  );
};

/** The running window: when it ends and how long is left. */
export const WindowLine: FC<{ status: AgentStatus; nowMs: number }> = ({ status: s, nowMs }) => {
  const until = s.exposure.untilMs;
  if (!s.enabled || until === undefined) return null;
  if (until === null) return <p id="window">Remote access stays on until you turn it off.</p>;
  return (
    <p id="window">
      Remote access turns itself off at <strong>{utcTime(until)}</strong>:{' '}
      <strong id="countdown" data-until={String(until)}>{timeLeft(until - nowMs)}</strong> left.
    </p>
  );
};

function what(e: JournalEntry): string {
  if (e.kind === 'tcp') return `TCP port ${e.port}`;
  const n = `${e.requests} ${e.requests === 1 ? 'request' : 'requests'}`;
  const refused = e.refused > 0 ? `, ${e.refused} refused by the hub` : '';
  return e.kind === 'websocket' ? `WebSocket (${n}${refused})` : `web interface, ${n}${refused}`;
}

export const JournalCard: FC<{ entries: JournalEntry[]; limit?: number }> = ({ entries, limit = 50 }) => (
  <div class="card" id="journal">
    <h2>Who came in</h2>
    {entries.length === 0 ? (
      <p class="muted">No remote visits yet. Every visit through the hub is listed here, kept on this device.</p>
    ) : (
      <>
        <table>
          <thead>
            <tr>
              <th>When (UTC)</th>
              <th>Who</th>
              <th>From</th>
              <th>What</th>
            </tr>
          </thead>
          <tbody>
            {entries.slice(0, limit).map((e) => (
              <tr class="visit">
                <td>
                  {e.startedAt.replace('T', ' ').slice(0, 16)}
                  {e.ended ? ` – ${e.lastAt.slice(11, 16)}` : <span class="live"> (now)</span>}
                </td>
                <td>
                  {e.user ? e.user.email : <span class="muted">not signed in (public device)</span>}
                  {e.user?.organisation ? <div class="muted">{e.user.organisation}</div> : null}
                </td>
                <td>
                  <code>{e.clientIp}</code>
                </td>
                <td>{what(e)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p class="muted">
          {entries.length > limit ? `The newest ${limit} of ${entries.length} visits. ` : ''}The device keeps the newest 500 visits.
        </p>
      </>
    )}
  </div>
);

/** Proxy and transport settings: the same protection as every other form on the page. */
export const NetworkCard: FC<{ status: AgentStatus; basePath: string; csrf: string }> = ({ status: s, basePath, csrf }) => {
  const n = s.network;
  const p = n.proxy;
  return (
    <div class="card" id="network">
      <h2>Network</h2>
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
