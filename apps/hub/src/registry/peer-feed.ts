// What the hub's data plane follows: the full peer set with its version, the changes since a
// version (durable, ordered: see libs/db peer-changes), in-process listeners called after commit,
// and batched handshake/traffic status written back from the WireGuard endpoint.
import { eq, sql, type SQL } from 'drizzle-orm';
import {
  adminPeers,
  currentPeerVersion,
  devices,
  peerChangesSince,
  type Database,
  type Executor,
  type PeerChange,
  type PeerKind,
} from '@porthole/db';
import { inTransaction, type RegistryContext } from './context.js';

export interface Peer {
  kind: PeerKind;
  publicKey: string;
  tunnelIp: string;
  /** Device serial or admin peer name. */
  name: string;
  /** Its organisation: an admin peer reaches only that organisation's devices (null: not recorded, in older changes). */
  organizationId?: string | null;
  /**
   * Where and when the peer was last heard from (full peer set only): lets a restarted hub dial
   * recently seen peers itself instead of waiting for their next handshake.
   */
  lastEndpoint?: string | null;
  lastHandshakeAt?: Date | null;
}

export interface PeerSet {
  version: number;
  peers: Peer[];
}

export interface PeerChanges {
  /** Apply these, then ask again from `version`. */
  version: number;
  changes: PeerChange[];
  /** True when more changes are waiting (the page was full). */
  more: boolean;
}

export type PeerChangeListener = (changes: PeerChange[]) => void;

/** What a peer is read with from either peer table; `name` is a device's serial or an admin peer's name. */
function peerColumns(table: typeof devices | typeof adminPeers, name: typeof devices.serial | typeof adminPeers.name) {
  return {
    publicKey: table.publicKey,
    tunnelIp: sql<string>`host(${table.tunnelIp})`,
    name,
    organizationId: table.organizationId,
    lastEndpoint: table.lastEndpoint,
    lastHandshakeAt: table.lastHandshakeAt,
  };
}

/** Enabled devices and all admin peers, read in one snapshot together with the version they reflect. */
export async function listPeers(ctx: RegistryContext): Promise<PeerSet> {
  return ctx.db.transaction(
    async (tx) => {
      const ex = tx as unknown as Executor;
      const version = await currentPeerVersion(ex);
      const deviceRows = await ex.select(peerColumns(devices, devices.serial)).from(devices).where(eq(devices.status, 'enabled'));
      const adminRows = await ex.select(peerColumns(adminPeers, adminPeers.name)).from(adminPeers);
      return {
        version,
        peers: [
          ...deviceRows.map((r) => ({ kind: 'device' as const, ...r })),
          ...adminRows.map((r) => ({ kind: 'admin' as const, ...r })),
        ],
      };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}

/** Changes recorded after `version`, never splitting one version's changes across pages. */
export async function changesSince(ctx: RegistryContext, version: number, limit = 1000): Promise<PeerChanges> {
  // Most calls are the data plane's poll (every second), and most find nothing new: the counter
  // alone answers them, one statement instead of two (on PGlite a statement costs ~1 ms of CPU).
  const current = await currentPeerVersion(ctx.db);
  if (current <= version) return { version, changes: [], more: false };
  const rows = await peerChangesSince(ctx.db, version, limit + 1);
  if (rows.length <= limit) return { version: rows.at(-1)?.version ?? current, changes: rows, more: false };
  let page = rows.slice(0, limit);
  const lastVersion = rows[limit]!.version;
  // The next row shares the page's last version: hold that version back (unless it alone fills a page).
  const cut = page.filter((c) => c.version !== lastVersion);
  if (cut.length > 0) page = cut;
  return { version: page.at(-1)!.version, changes: page, more: true };
}

export interface PeerStatus {
  publicKey: string;
  /** Which table holds the peer; unset: both are tried (a caller that does not know). */
  kind?: PeerKind;
  lastHandshakeAt: Date | null;
  endpoint: string | null;
  rxBytes: number;
  txBytes: number;
}

const STATUS_BATCH = 5000;

/** A Postgres array literal of strings (NULL for null): one parameter instead of one per row. */
function textArray(values: readonly (string | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : `"${v.replace(/["\\]/g, '\\$&')}"`)).join(',')}}`;
}

/**
 * Planner settings for the status update, local to its transaction: a nested loop that finds each
 * key through the table's unique public_key index. Left to itself the planner hashes the whole
 * table for every flush (a seq scan of every device), though a flush carries only the peers that
 * rekeyed since the last one, about a twelfth of an online fleet (10 s flushes, a rekey every
 * 125 s). The index's cost grows with the rows written, the hash's with the fleet. Measured on
 * PGlite, CPU per flush of 8% of the devices, hashed against through the index: on a data
 * directory whose rows were each written ten times (a hub that has run a while), 67 against 64 ms
 * at 30,000 devices and 253 against 182 ms at 100,000; on a fresh in-memory table at 30,000,
 * 109 against 55 ms.
 */
const KEYED_UPDATE_PLAN = sql`select set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)`;

/** The update that writes `batch` to `table` (unknown keys match nothing). */
export function peerStatusUpdate(table: typeof devices | typeof adminPeers, batch: readonly PeerStatus[]): SQL {
  const keys = textArray(batch.map((s) => s.publicKey));
  const handshakes = textArray(batch.map((s) => s.lastHandshakeAt?.toISOString() ?? null));
  const endpoints = textArray(batch.map((s) => s.endpoint));
  const rx = `{${batch.map((s) => Math.max(0, Math.floor(s.rxBytes))).join(',')}}`;
  const tx = `{${batch.map((s) => Math.max(0, Math.floor(s.txBytes))).join(',')}}`;
  return sql`
    update ${table} as t set
      last_handshake_at = coalesce(v.hs, t.last_handshake_at),
      last_endpoint = coalesce(v.ep, t.last_endpoint),
      rx_bytes = v.rx, tx_bytes = v.tx
    from unnest(${keys}::text[], ${handshakes}::timestamptz[], ${endpoints}::text[], ${rx}::bigint[], ${tx}::bigint[]) as v(pk, hs, ep, rx, tx)
    where t.public_key = v.pk`;
}

/** Runs `statement` (a status update, or an EXPLAIN of one) under KEYED_UPDATE_PLAN; returns its result. */
export function withKeyedUpdatePlan<T>(db: Database, statement: (tx: Executor) => Promise<T>): Promise<T> {
  return inTransaction(db, async (tx) => {
    await tx.execute(KEYED_UPDATE_PLAN);
    return statement(tx);
  });
}

/**
 * Writes handshake/endpoint/traffic for many peers, one transaction per 5,000 peers of a table.
 * Unknown keys are ignored. Each column travels as one array parameter (unnest), not one
 * parameter per row: building and binding thousands of parameters cost about as much as the
 * update itself.
 */
export async function recordPeerStatus(ctx: RegistryContext, statuses: readonly PeerStatus[]): Promise<void> {
  // Each table gets only its own peers' rows, and no statement when it has none: at 30,000
  // devices a rekey wave's flush is ~2,300 device rows and, most of the time, no admin peer.
  for (const [table, kind] of [[devices, 'device'], [adminPeers, 'admin']] as const) {
    const mine = statuses.filter((s) => s.kind === undefined || s.kind === kind);
    for (let i = 0; i < mine.length; i += STATUS_BATCH) {
      const batch = mine.slice(i, i + STATUS_BATCH);
      await withKeyedUpdatePlan(ctx.db, (tx) => tx.execute(peerStatusUpdate(table, batch)));
    }
  }
}

/** Fan-out of committed changes to in-process listeners; a throwing listener cannot hurt the others. */
export function createChangeEmitter(onListenerError: (err: unknown) => void) {
  const listeners = new Set<PeerChangeListener>();
  return {
    emit(changes: PeerChange[]) {
      if (changes.length === 0) return;
      for (const listener of listeners) {
        try {
          listener(changes);
        } catch (err) {
          onListenerError(err);
        }
      }
    },
    onChange(listener: PeerChangeListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
