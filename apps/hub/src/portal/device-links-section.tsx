/** @jsxImportSource hono/jsx */
// The device page's owner controls: the exposure window the device reported (until
// when, with the time left; until turned off; or when it ended) and the installer links (make one,
// its URL shown once to copy, the list with uses, revoke).
import type { FC } from 'hono/jsx';
import type { DeviceInfo, DeviceLinkInfo } from '../registry/index.js';
import { ago, formatTime } from './format.js';
import { Csrf, ListTable, RevokeButton, When } from './layout.js';

export const LINK_HOURS = [1, 8, 24, 72, 168] as const;

/** "2 h 5 min", "12 min", "40 s": the time left in a window. */
export function timeLeft(untilMs: number, nowMs: number): string {
  const s = Math.max(0, Math.round((untilMs - nowMs) / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

/** The owner's exposure window as the device reported it. */
export const ExposureWindow: FC<{ device: DeviceInfo; now: Date }> = ({ device: d, now }) => {
  if (d.exposureEndedAt) {
    return (
      <span id="exposure-window">
        Ended <time datetime={d.exposureEndedAt}>{formatTime(d.exposureEndedAt)}</time>{' '}
        <span class="note">({ago(d.exposureEndedAt, now)}; the device closed remote access itself)</span>
      </span>
    );
  }
  if (d.exposureUntil) {
    const untilMs = Date.parse(d.exposureUntil);
    if (untilMs <= now.getTime()) {
      return (
        <span id="exposure-window">
          Ended <time datetime={d.exposureUntil}>{formatTime(d.exposureUntil)}</time> <span class="note">(the device has not confirmed yet)</span>
        </span>
      );
    }
    return (
      <span id="exposure-window">
        Open until <time datetime={d.exposureUntil}>{formatTime(d.exposureUntil)}</time> <strong id="exposure-left">{timeLeft(untilMs, now.getTime())} left</strong>
      </span>
    );
  }
  return <span id="exposure-window">{d.online ? 'Until turned off on the device' : <span class="note">Not reported (until turned off, or the device has not said)</span>}</span>;
};

/** The box that makes a grant or an installer link read-only (GET and HEAD only). */
export const ReadOnlyChoice: FC<{ what: 'link' | 'access' }> = ({ what }) => (
  <div>
    <label style="font-weight:400">
      <input type="checkbox" name="readOnly" value="1" /> Read-only {what} (view pages only)
    </label>
  </div>
);

export const InstallerLinksSection: FC<{ links: DeviceLinkInfo[]; base: string; csrf: string; now: Date; newLink?: { url: string; expiresAt: string } | undefined }> = (p) => (
  <section aria-labelledby="links-h">
    <h2 id="links-h">Installer links</h2>
    <p class="note">
      A link opens this device for a few hours without an account, for example for an installer. Anyone holding it gets in: send it only to that person. Read-only links allow viewing pages, nothing else.
    </p>
    {p.newLink ? (
      <div class="panel" id="new-link">
        <label for="new-link-url" style="margin-top:0">
          New link, valid until {formatTime(p.newLink.expiresAt)}. Copy it now: it is shown only once.
        </label>
        <input id="new-link-url" type="text" class="wide mono" readonly value={p.newLink.url} />
      </div>
    ) : null}
    <ListTable
      rows={p.links}
      empty="No installer links yet."
      columns={['Link', 'Access', 'Made', 'Valid until', { label: 'Uses', num: true }]}
      actions
      stack
      caption="Installer links of this device"
    >
      {p.links.map((l) => {
        const over = l.revokedAt !== null || Date.parse(l.expiresAt) <= p.now.getTime();
        return (
          <tr>
            <td class="mono" data-label="Link">
              {l.id.slice(0, 8)}
            </td>
            <td data-label="Access">{l.readOnly ? 'read-only' : 'full'}</td>
            <td data-label="Made">
              <When iso={l.createdAt} now={p.now} />
              {l.createdBy ? <span class="note"> by {l.createdBy}</span> : null}
            </td>
            <td data-label="Valid until">
              {l.revokedAt ? (
                <span>
                  revoked <When iso={l.revokedAt} now={p.now} />
                </span>
              ) : (
                <span>
                  {over ? 'expired ' : ''}
                  <When iso={l.expiresAt} now={p.now} />
                </span>
              )}
            </td>
            <td class="num" data-label="Uses">
              {l.uses}
            </td>
            <td data-label="">
              {over ? null : <RevokeButton action={`${p.base}/links/revoke`} csrf={p.csrf} fields={{ id: l.id }} label={`Revoke installer link ${l.id.slice(0, 8)}`} />}
            </td>
          </tr>
        );
      })}
    </ListTable>
    <form method="post" action={`${p.base}/links`} class="row panel">
      <Csrf token={p.csrf} />
      <div>
        <label for="link-hours">Valid for</label>
        <select id="link-hours" name="hours">
          {LINK_HOURS.map((h) => (
            <option value={String(h)} selected={h === 8}>
              {h === 1 ? '1 hour' : h < 48 ? `${h} hours` : `${h / 24} days`}
            </option>
          ))}
        </select>
      </div>
      <ReadOnlyChoice what="link" />
      <button type="submit">Make installer link</button>
    </form>
  </section>
);
