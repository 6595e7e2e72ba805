// `porthole log`: the access log of one device (who reached it, when, with what result), newest
// first, over /api/v1/access-log; follows cursors until --limit entries are shown.
import type { AccessLogPage, AccessLogPageEntry } from '@porthole/api-contract';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { formatBytes, formatTime, parseIntOption, parseTime } from '../format.js';
import { printTable } from '../output.js';

const API_PAGE = 1000;

/** Who made a request, as the portal's access log shows it (`userEmail` is null for an account since deleted). */
function visitor(e: AccessLogPageEntry): string {
  if (e.userEmail) return e.userEmail;
  return e.userId ? `deleted account ${e.userId}` : 'anonymous';
}

export const log: Command = {
  path: 'log',
  summary: 'Show the access log of a device, newest first.',
  description: 'The hub keeps the log per device, so --device is required. Times are UTC.',
  options: {
    device: { type: 'string', arg: 'SERIAL', help: 'the device (required)' },
    since: { type: 'string', arg: '1h|ISO', help: 'entries at or after this time (a duration ago or an ISO date-time)' },
    until: { type: 'string', arg: '1h|ISO', help: 'entries at or before this time' },
    limit: { type: 'string', arg: 'N', help: 'at most N entries (default 100)' },
  },
  async run(ctx, args) {
    const v = args.values;
    if (typeof v.device !== 'string') throw new UsageError('the access log is kept per device: give --device SERIAL', 'log');
    const now = ctx.now();
    const from = v.since !== undefined ? parseTime(v.since as string, '--since', now) : undefined;
    const to = v.until !== undefined ? parseTime(v.until as string, '--until', now) : undefined;
    if (from && to && from > to) throw new UsageError('--since is later than --until', 'log');
    const limit = v.limit !== undefined ? parseIntOption(v.limit as string, '--limit', 1, 1_000_000) : 100;

    const client = ctx.client(args);
    const entries: AccessLogPageEntry[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.get<AccessLogPage>('/access-log', {
        serial: v.device,
        from: from?.toISOString(),
        to: to?.toISOString(),
        limit: Math.min(API_PAGE, limit - entries.length),
        cursor,
      });
      entries.push(...page.entries);
      cursor = page.nextCursor ?? undefined;
      if (cursor && entries.length < limit) ctx.err(`… ${entries.length} entries so far`);
    } while (cursor && entries.length < limit);

    if (v.json) return ctx.json({ entries, nextCursor: cursor ?? null });
    printTable(ctx, entries, `No access to ${v.device} in that time.`, [
      { header: 'TIME', value: (e) => formatTime(e.at) },
      { header: 'METHOD', value: (e) => e.method },
      { header: 'PATH', value: (e) => e.path },
      { header: 'STATUS', value: (e) => e.status, align: 'right' },
      { header: 'CLIENT', value: (e) => e.clientIp },
      { header: 'USER', value: visitor },
      { header: 'IN', value: (e) => formatBytes(e.bytesIn), align: 'right' },
      { header: 'OUT', value: (e) => formatBytes(e.bytesOut), align: 'right' },
      { header: 'MS', value: (e) => e.durationMs, align: 'right' },
    ]);
    if (cursor) ctx.err(`More entries: raise --limit (showing ${entries.length}).`);
  },
};
