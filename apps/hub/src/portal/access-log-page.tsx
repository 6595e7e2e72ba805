/** @jsxImportSource hono/jsx */
// The admin access-log page: filters (device, time range in UTC), newest first with keyset
// paging, and a CSV export link carrying the same filters.
import type { FC } from 'hono/jsx';
import type { AccessLogRow } from '../registry/access-log-search.js';
import { AccessLogTable, type ViewBase } from './device-pages.js';
import { ErrorNote, InputField, Layout } from './layout.js';

export interface AccessLogFilters {
  serial: string;
  /** datetime-local values, UTC. */
  from: string;
  to: string;
}

export function logQuery(f: AccessLogFilters, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...f, ...extra })) if (v) params.set(k, v);
  const s = params.toString();
  return s ? `?${s}` : '';
}

export const AccessLogPage: FC<ViewBase & { filters: AccessLogFilters; entries: AccessLogRow[]; nextCursor: string | null; first: boolean }> = (p) => (
  <Layout title="Access log" user={p.user} csrf={p.csrf} current="/admin/access-log">
    <ErrorNote message={p.error} />
    <form method="get" action="/admin/access-log" class="filters" role="search" aria-label="Filter the access log">
      <InputField label="Device serial" id="serial" name="serial" type="text" value={p.filters.serial} maxlength={63} autocomplete="off" placeholder="all devices" />
      <InputField label="From (UTC)" id="from" name="from" type="datetime-local" value={p.filters.from} />
      <InputField label="To (UTC)" id="to" name="to" type="datetime-local" value={p.filters.to} />
      <button type="submit">Show</button>
      <a class="button secondary" href={`/admin/access-log.csv${logQuery(p.filters)}`} style="margin:0">
        Download CSV
      </a>
    </form>
    <AccessLogTable entries={p.entries} now={p.now} showDevice caption="Proxied requests, newest first" />
    <nav class="pager" aria-label="Pages">
      {!p.first ? <a href={`/admin/access-log${logQuery(p.filters)}`}>Newest</a> : null}
      {p.nextCursor ? <a href={`/admin/access-log${logQuery(p.filters, { cursor: p.nextCursor })}`}>Older requests</a> : null}
    </nav>
  </Layout>
);
