/** @jsxImportSource hono/jsx */
// Admin access-log routes: the filtered page and the CSV export, streamed page by page through the
// keyset cursor so an export of millions of rows holds one page (1000 rows) in memory at a time.
import type { Hono } from 'hono';
import type { AccessLogSearch } from '../registry/access-log-search.js';
import { normalizeSerial } from '../registry/serial.js';
import { AccessLogPage, type AccessLogFilters } from './access-log-page.js';
import { csvLine } from './csv.js';
import { parseUtcInput } from './format.js';
import { runForm, type PortalContext, type PortalEnv, type PortalKit } from './portal-kit.js';

const PAGE_SIZE = 100;
const EXPORT_BATCH = 1000;
const CSV_HEADER = ['time_utc', 'device', 'user_email', 'user_id', 'client_ip', 'method', 'path', 'status', 'bytes_in', 'bytes_out', 'duration_ms'];

function readFilters(c: PortalContext): AccessLogFilters {
  return {
    serial: (c.req.query('serial') ?? '').trim().toLowerCase().slice(0, 63),
    from: (c.req.query('from') ?? '').slice(0, 19),
    to: (c.req.query('to') ?? '').slice(0, 19),
  };
}

/** The registry query for the filters; ValidationError naming the field that is wrong. */
function toSearch(f: AccessLogFilters): AccessLogSearch {
  const search: AccessLogSearch = {};
  if (f.serial) search.serial = normalizeSerial(f.serial, 'device serial');
  const from = parseUtcInput(f.from, 'from');
  const to = parseUtcInput(f.to, 'to');
  if (from) search.from = from;
  // "To 12:00" includes the whole minute 12:00.
  if (to) search.to = new Date(to.getTime() + 59_999);
  return search;
}

export function registerAccessLogRoutes(app: Hono<PortalEnv>, kit: PortalKit): void {
  const { registry, logger } = { registry: kit.registry, logger: kit.registry.context.logger };

  app.get('/admin/access-log', async (c) => {
    const filters = readFilters(c);
    const cursor = c.req.query('cursor')?.slice(0, 200);
    const view = { user: kit.userOf(c), csrf: c.get('csrf'), now: registry.context.now(), filters, first: !cursor };
    return runForm(
      c,
      async () => {
        const page = await registry.searchAccessLog({ ...toSearch(filters), limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) });
        return c.html(<AccessLogPage {...view} entries={page.entries} nextCursor={page.nextCursor} />);
      },
      (err) => <AccessLogPage {...view} entries={[]} nextCursor={null} error={err.message} />,
    );
  });

  app.get('/admin/access-log.csv', async (c) => {
    const filters = readFilters(c);
    const search = toSearch(filters); // a bad filter is a 400 page before any byte is streamed
    let cursor: string | undefined;
    let started = false;
    let rows = 0;
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          let text = '';
          if (!started) {
            started = true;
            text += csvLine(CSV_HEADER);
          }
          const page = await registry.searchAccessLog({ ...search, limit: EXPORT_BATCH, ...(cursor ? { cursor } : {}) });
          for (const e of page.entries) {
            text += csvLine([e.at, e.serial, e.email, e.userId, e.clientIp, e.method, e.path, e.status, e.bytesIn, e.bytesOut, e.durationMs]);
          }
          rows += page.entries.length;
          controller.enqueue(encoder.encode(text));
          if (page.nextCursor) cursor = page.nextCursor;
          else controller.close();
        } catch (err) {
          // Headers are gone already: cut the download short so it cannot pass for complete.
          logger?.error('access log export failed', { err, rows });
          controller.error(err);
        }
      },
    });
    const stamp = registry.context.now().toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
    const name = `porthole-access-log-${filters.serial || 'all'}-${stamp}.csv`;
    return c.body(stream, 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${name}"`,
    });
  });
}
