// The cluster's rows in the database: node heartbeats (the lease), device holds written with a
// compare-and-set on the handshake time, the hub-wide WireGuard identity, and the notification
// channel that wakes the other nodes. Every statement is one round trip; none runs per request.
import { sql } from 'drizzle-orm';
import { resultRows, type Database } from '@porthole/db';
import type { HoldRecord, NodeRecord } from './cluster-view.js';

/** The LISTEN/NOTIFY channel every node listens on. */
export const CLUSTER_CHANNEL = 'porthole_cluster';

/** A node refuses to start when the database was set up with another hub key. */
export class HubIdentityError extends Error {
  constructor(recorded: string, mine: string) {
    super(
      `this node's WireGuard key (public key ${mine.slice(0, 8)}…) is not the hub's: the database records public key ${recorded.slice(0, 8)}…, ` +
        'which every device trusts. Give every node the same PORTHOLE_WG_KEY_FILE (or the data directory\'s hub.key of the node that created the database).',
    );
    this.name = 'HubIdentityError';
  }
}

const HUB_KEY_SETTING = 'wireguard_public_key';

/** Records the hub's public key on first start; refuses a node whose key differs. */
export async function checkHubIdentity(db: Database, publicKey: string): Promise<void> {
  await db.execute(sql`insert into hub_settings (name, value) values (${HUB_KEY_SETTING}, ${publicKey}) on conflict (name) do nothing`);
  const rows = resultRows<{ value: string }>(await db.execute(sql`select value from hub_settings where name = ${HUB_KEY_SETTING}`));
  const recorded = rows[0]?.value;
  if (recorded !== undefined && recorded !== publicKey) throw new HubIdentityError(recorded, publicKey);
}

interface NodeRow {
  name: string;
  wg_endpoint: string;
  cluster_url: string | null;
  started_at: string | Date;
  last_seen_at: string | Date;
  lease_expires_at: string | Date;
}

/** A timestamp column as raw SQL returns it (a Date from postgres.js, text from PGlite), in epoch ms. */
export const timestampMs = (v: string | Date) => (v instanceof Date ? v.getTime() : Date.parse(v));

function toNode(r: NodeRow): NodeRecord {
  return {
    name: r.name,
    wgEndpoint: r.wg_endpoint,
    clusterUrl: r.cluster_url,
    startedAtMs: timestampMs(r.started_at),
    lastSeenAtMs: timestampMs(r.last_seen_at),
    leaseExpiresAtMs: timestampMs(r.lease_expires_at),
  };
}

export interface Heartbeat {
  name: string;
  wgEndpoint: string;
  clusterUrl: string | null;
  startedAt: Date;
  now: Date;
  leaseMs: number;
}

/**
 * Renews this node's lease and reads every node, in one statement. The lease is computed from the
 * node's own clock, as is every reader's "now": nodes of one cluster need synchronised clocks
 * (NTP), which a lease of seconds tolerates.
 */
export async function heartbeat(db: Database, h: Heartbeat): Promise<NodeRecord[]> {
  const expires = new Date(h.now.getTime() + h.leaseMs);
  const rows = resultRows<NodeRow>(
    await db.execute(sql`
      with me as (
        insert into cluster_nodes (name, wg_endpoint, cluster_url, started_at, last_seen_at, lease_expires_at)
        values (${h.name}, ${h.wgEndpoint}, ${h.clusterUrl}, ${h.startedAt.toISOString()}, ${h.now.toISOString()}, ${expires.toISOString()})
        on conflict (name) do update set wg_endpoint = excluded.wg_endpoint, cluster_url = excluded.cluster_url,
          started_at = excluded.started_at, last_seen_at = excluded.last_seen_at, lease_expires_at = excluded.lease_expires_at
        returning name, wg_endpoint, cluster_url, started_at, last_seen_at, lease_expires_at
      )
      select * from me
      union all
      select name, wg_endpoint, cluster_url, started_at, last_seen_at, lease_expires_at from cluster_nodes where name <> ${h.name}`),
  );
  return rows.map(toNode);
}

/** Ends this node's lease now (SIGTERM): the others stop sending it anything at their next read. */
export async function endLease(db: Database, name: string, now: Date): Promise<void> {
  await db.execute(sql`update cluster_nodes set lease_expires_at = ${now.toISOString()}, last_seen_at = ${now.toISOString()} where name = ${name}`);
}

/** Forgets nodes dead for longer than `olderThan` (their holds are ignored already). */
export async function pruneNodes(db: Database, olderThan: Date): Promise<void> {
  await db.execute(sql`delete from cluster_nodes where lease_expires_at < ${olderThan.toISOString()}`);
}

/**
 * Takes the hold of devices (by public key) for `node` at the given handshake times: a device
 * nobody holds, held by a node whose lease lapsed, or held with an older handshake. Returns the
 * holds actually written (an older session on this node loses against a newer one elsewhere).
 */
export async function takeHolds(db: Database, node: string, holds: readonly { publicKey: string; handshakeAt: Date }[], now: Date): Promise<HoldRecord[]> {
  if (holds.length === 0) return [];
  const keys = `{${holds.map((h) => `"${h.publicKey}"`).join(',')}}`;
  const times = `{${holds.map((h) => `"${h.handshakeAt.toISOString()}"`).join(',')}}`;
  const rows = resultRows<{ tunnel_ip: string; held_since: string | Date }>(
    await db.execute(sql`
      insert into device_holders as h (device_id, node_name, held_since)
      select d.id, ${node}, v.hs from unnest(${keys}::text[], ${times}::timestamptz[]) as v(pk, hs) join devices d on d.public_key = v.pk
      on conflict (device_id) do update set node_name = excluded.node_name, held_since = excluded.held_since
      where h.held_since < excluded.held_since
         or (h.node_name = excluded.node_name and h.held_since <= excluded.held_since)
         or not exists (select 1 from cluster_nodes n where n.name = h.node_name and n.lease_expires_at > ${now.toISOString()})
      returning host((select tunnel_ip from devices where id = h.device_id)) as tunnel_ip, h.held_since`),
  );
  return rows.map((r) => ({ tunnelIp: r.tunnel_ip, node, heldSinceMs: timestampMs(r.held_since) }));
}

/** Holds whose handshake is at or after `since` (all of them when undefined). */
export async function readHolds(db: Database, since?: Date): Promise<HoldRecord[]> {
  const rows = resultRows<{ tunnel_ip: string; node_name: string; held_since: string | Date }>(
    await db.execute(
      since
        ? sql`select host(d.tunnel_ip) as tunnel_ip, h.node_name, h.held_since from device_holders h join devices d on d.id = h.device_id where h.held_since >= ${since.toISOString()}`
        : sql`select host(d.tunnel_ip) as tunnel_ip, h.node_name, h.held_since from device_holders h join devices d on d.id = h.device_id`,
    ),
  );
  return rows.map((r) => ({ tunnelIp: r.tunnel_ip, node: r.node_name, heldSinceMs: timestampMs(r.held_since) }));
}

/** What a notification says: who sent it and what changed, for the others to reload. */
export type ClusterNotice =
  | { from: string; kind: 'device'; serials: string[] }
  | { from: string; kind: 'sessions'; ended: ({ userId: string } | { tokenHash: string })[] }
  | { from: string; kind: 'holds' }
  | { from: string; kind: 'peers' }
  | { from: string; kind: 'nodes' };

const NOTICE_KINDS = new Set<string>(['device', 'sessions', 'holds', 'peers', 'nodes']);

/** NOTIFY payloads are limited to 8000 bytes: long lists become "reload everything". */
const MAX_PAYLOAD_BYTES = 7_000;

export async function notify(db: Database, notice: ClusterNotice): Promise<void> {
  let payload = JSON.stringify(notice);
  if (payload.length > MAX_PAYLOAD_BYTES) {
    // Too many to name: the others drop every cached row or session (they re-read within seconds anyway).
    payload = JSON.stringify(notice.kind === 'device' ? { ...notice, serials: ['*'] } : notice.kind === 'sessions' ? { ...notice, ended: [{ userId: '*' }] } : notice);
  }
  await db.execute(sql`select pg_notify(${CLUSTER_CHANNEL}, ${payload})`);
}

export function parseNotice(payload: string): ClusterNotice | undefined {
  try {
    const v = JSON.parse(payload) as ClusterNotice;
    // Unknown kinds too are dropped (an older node's ticket notices during a rolling upgrade, say).
    if (typeof v !== 'object' || v === null || typeof v.from !== 'string' || !NOTICE_KINDS.has(v.kind)) return undefined;
    if (v.kind === 'device' && !(Array.isArray(v.serials) && v.serials.every((s) => typeof s === 'string'))) return undefined;
    if (v.kind === 'sessions') {
      const ok = Array.isArray(v.ended) && v.ended.every((e) => typeof e === 'object' && e !== null && (typeof (e as { userId?: unknown }).userId === 'string' || typeof (e as { tokenHash?: unknown }).tokenHash === 'string'));
      if (!ok) return undefined;
    }
    return v;
  } catch {
    return undefined;
  }
}
