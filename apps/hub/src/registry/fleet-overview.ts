// The fleet at a glance, derived from the database alone (so every hub node shows the same numbers):
// devices online (handshake within ONLINE_WINDOW_MS), recent handshakes (devices whose latest
// handshake is under a minute old) and proxied requests per minute (access-log rows).
import { count, sql } from 'drizzle-orm';
import { accessLog, adminPeers, devices, resultRows } from '@porthole/db';
import type { RegistryContext } from './context.js';
import { ONLINE_WINDOW_MS } from './devices.js';

export interface FleetOverview {
  at: string;
  devices: { total: number; enabled: number; disabled: number; online: number; neverSeen: number };
  /** Devices whose latest WireGuard handshake happened in the last 60 s (a lower bound of handshakes/min). */
  handshakesLastMinute: number;
  /** Proxied requests written to the access log in the last 60 s. */
  requestsLastMinute: number;
  /** Requests per minute for the last `minutes` whole minutes, oldest first (minute = ISO start). */
  requestsPerMinute: { minute: string; requests: number }[];
  adminPeers: number;
}

export async function fleetOverview(ctx: RegistryContext, minutes = 15): Promise<FleetOverview> {
  const now = ctx.now();
  const nowIso = now.toISOString();
  const onlineSince = new Date(now.getTime() - ONLINE_WINDOW_MS).toISOString();
  const minuteAgo = new Date(now.getTime() - 60_000).toISOString();
  // One pass over devices; the partial counts come from the same snapshot.
  const [d] = resultRows<{ total: string; enabled: string; online: string; recent: string; never: string }>(
    await ctx.db.execute(sql`
      select count(*) as total,
             count(*) filter (where ${devices.status} = 'enabled') as enabled,
             count(*) filter (where ${devices.lastHandshakeAt} >= ${onlineSince}::timestamptz) as online,
             count(*) filter (where ${devices.lastHandshakeAt} >= ${minuteAgo}::timestamptz) as recent,
             count(*) filter (where ${devices.lastHandshakeAt} is null) as never
      from ${devices}`),
  );
  const firstMinute = new Date(Math.floor(now.getTime() / 60_000) * 60_000 - (minutes - 1) * 60_000);
  const perMinute = resultRows<{ minute: string; n: string }>(
    await ctx.db.execute(sql`
      select (extract(epoch from date_trunc('minute', ${accessLog.at})) * 1000)::bigint as minute, count(*) as n
      from ${accessLog}
      where ${accessLog.at} >= ${firstMinute.toISOString()}::timestamptz and ${accessLog.at} <= ${nowIso}::timestamptz
      group by 1`),
  );
  const byMinute = new Map(perMinute.map((r) => [Number(r.minute), Number(r.n)]));
  const [lastMinute] = await ctx.db
    .select({ n: count() })
    .from(accessLog)
    .where(sql`${accessLog.at} > ${minuteAgo}::timestamptz and ${accessLog.at} <= ${nowIso}::timestamptz`);
  const [peers] = await ctx.db.select({ n: count() }).from(adminPeers);
  const total = Number(d?.total ?? 0);
  const enabled = Number(d?.enabled ?? 0);
  return {
    at: nowIso,
    devices: { total, enabled, disabled: total - enabled, online: Number(d?.online ?? 0), neverSeen: Number(d?.never ?? 0) },
    handshakesLastMinute: Number(d?.recent ?? 0),
    requestsLastMinute: Number(lastMinute?.n ?? 0),
    requestsPerMinute: Array.from({ length: minutes }, (_, i) => {
      const t = firstMinute.getTime() + i * 60_000;
      return { minute: new Date(t).toISOString(), requests: byMinute.get(t) ?? 0 };
    }),
    adminPeers: Number(peers?.n ?? 0),
  };
}
