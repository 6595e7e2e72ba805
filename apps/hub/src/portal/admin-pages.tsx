/** @jsxImportSource hono/jsx */
// Fleet admin pages: the live overview (auto-refreshing without script) and all devices with
// server-side search, filters, sort, keyset paging and a bulk enable/disable form.
import type { FC } from 'hono/jsx';
import type { DeviceSort } from '../registry/device-admin.js';
import type { DeviceInfo, FleetOverview } from '../registry/index.js';
import { DeviceCells, type ViewBase } from './device-pages.js';
import { formatTime } from './format.js';
import { Csrf, InputField, Layout, Page, SelectField, Table, Tags } from './layout.js';

export const OVERVIEW_REFRESH_SECONDS = 15;

export const OverviewPage: FC<ViewBase & { overview: FleetOverview }> = (p) => {
  const o = p.overview;
  const peak = Math.max(1, ...o.requestsPerMinute.map((m) => m.requests));
  const n = (x: number) => x.toLocaleString('en');
  const cards: [string, number, string, string?][] = [
    ['Devices online', o.devices.online, `of ${n(o.devices.enabled)} enabled`, '/admin/devices?online=yes'],
    ['Handshakes, last minute', o.handshakesLastMinute, 'devices with a WireGuard handshake in the last 60 s'],
    ['Proxied requests, last minute', o.requestsLastMinute, 'from the access log', '/admin/access-log'],
    ['Disabled devices', o.devices.disabled, `of ${n(o.devices.total)} registered`, '/admin/devices?status=disabled'],
    ['Never connected', o.devices.neverSeen, 'registered, no handshake yet'],
    ['Admin WireGuard peers', o.adminPeers, 'laptops on the overlay', '/admin/peers'],
  ];
  return (
    <Layout title="Fleet overview" user={p.user} csrf={p.csrf} current="/admin" refreshSeconds={OVERVIEW_REFRESH_SECONDS}>
      <p class="note">
        As of {formatTime(o.at, true)}; this page refreshes every {OVERVIEW_REFRESH_SECONDS} s.
      </p>
      <div class="cards">
        {cards.map(([label, value, note, href]) => (
          <section class="card" aria-label={label}>
            <div class="note">{label}</div>
            <div class="n">{href ? <a href={href}>{n(value)}</a> : n(value)}</div>
            <div class="note">{note}</div>
          </section>
        ))}
      </div>
      <h2 id="rpm-h">Proxied requests per minute</h2>
      <div class="bars" role="img" aria-labelledby="rpm-h" aria-describedby="rpm-list">
        {o.requestsPerMinute.map((m) => (
          <span style={`height:${Math.round((m.requests / peak) * 100)}%`} title={`${m.minute.slice(11, 16)} UTC: ${m.requests}`} />
        ))}
      </div>
      <p class="note">
        {o.requestsPerMinute[0]!.minute.slice(11, 16)} – {o.requestsPerMinute.at(-1)!.minute.slice(11, 16)} UTC:{' '}
        {o.requestsPerMinute.every((m) => m.requests === 0) ? 'no proxied requests in this time.' : `peak ${n(peak)} requests/min.`}
      </p>
      <ul id="rpm-list" class="visually-hidden">
        {o.requestsPerMinute.map((m) => (
          <li>
            {m.minute.slice(11, 16)} UTC: {m.requests} requests
          </li>
        ))}
      </ul>
    </Layout>
  );
};

export interface DeviceFilters {
  q: string;
  status: '' | 'enabled' | 'disabled';
  online: '' | 'yes' | 'no';
  tag: string;
  sort: DeviceSort;
}

const SORT_LABELS: Record<DeviceSort, string> = { serial: 'Serial A→Z', '-serial': 'Serial Z→A', '-lastSeen': 'Last seen, newest first' };
const SORT_CHOICES = Object.entries(SORT_LABELS).map(([value, label]) => ({ value, label }));
const ONLINE_CHOICES = [
  { value: '', label: 'any' },
  { value: 'yes', label: 'online' },
  { value: 'no', label: 'offline' },
];
const STATUS_CHOICES = [
  { value: '', label: 'any' },
  { value: 'enabled', label: 'enabled' },
  { value: 'disabled', label: 'disabled' },
];

/** The query string of a filter set (empty values left out), for links that keep the filters. */
export function filterQuery(f: DeviceFilters, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ q: f.q, status: f.status, online: f.online, tag: f.tag, sort: f.sort === 'serial' ? '' : f.sort, ...extra })) {
    if (v) params.set(k, v);
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

export const AdminDevicesPage: FC<ViewBase & { filters: DeviceFilters; devices: DeviceInfo[]; nextCursor: string | null; first: boolean; back: string }> = (p) => {
  const f = p.filters;
  return (
    <Page view={p} title="All devices" current="/admin/devices">
      <form method="get" action="/admin/devices" class="filters" role="search" aria-label="Find devices">
        <InputField label="Serial contains" id="q" name="q" type="search" value={f.q} maxlength={63} autocomplete="off" placeholder="an1234" />
        <div>
          <SelectField id="online" label="Connection" options={ONLINE_CHOICES} selected={f.online} />
        </div>
        <div>
          <SelectField id="status" label="Status" options={STATUS_CHOICES} selected={f.status} />
        </div>
        <InputField label="Tag" id="tag" name="tag" type="text" value={f.tag} maxlength={64} autocomplete="off" size={12} />
        <div>
          <SelectField id="sort" label="Sort" options={SORT_CHOICES} selected={f.sort} />
        </div>
        <button type="submit">Search</button>
        {filterQuery(f) ? (
          <a href="/admin/devices" style="align-self:center">
            Clear
          </a>
        ) : null}
      </form>
      {p.devices.length === 0 ? (
        <p>No devices match.</p>
      ) : (
        <form method="post" action="/admin/devices/bulk">
          <Csrf token={p.csrf} />
          <input type="hidden" name="back" value={p.back} />
          <Table stack caption={`Devices matching the search, ${SORT_LABELS[f.sort]}`} columns={[{ label: 'Select', pick: true }, 'Serial', 'State', 'Last seen', 'Owner', 'Tags', 'Agent']}>
            {p.devices.map((d) => (
              <tr>
                <td data-label="Select">
                  <input type="checkbox" name="serial" value={d.serial} id={`sel-${d.serial}`} aria-label={`Select ${d.serial}`} />
                </td>
                <DeviceCells device={d} now={p.now} label="Serial" />
                <td data-label="Owner">{d.owner?.email ?? <span class="note">—</span>}</td>
                <td data-label="Tags">
                  <Tags tags={d.tags} />
                </td>
                <td data-label="Agent">{d.agentVersion ?? <span class="note">—</span>}</td>
              </tr>
            ))}
          </Table>
          <div class="row">
            <button type="submit" name="action" value="disable" class="danger">
              Disable selected
            </button>
            <button type="submit" name="action" value="enable" class="secondary">
              Enable selected
            </button>
          </div>
        </form>
      )}
      <nav class="pager" aria-label="Pages">
        {!p.first ? <a href={`/admin/devices${filterQuery(f)}`}>First page</a> : null}
        {p.nextCursor ? <a href={`/admin/devices${filterQuery(f, { cursor: p.nextCursor })}`}>Next page</a> : null}
      </nav>
    </Page>
  );
};
