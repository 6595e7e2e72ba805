// This node's membership of the cluster: the heartbeat that renews its lease and reads the other
// nodes, the holds it takes when devices handshake with it (batched, compare-and-set), the
// LISTEN/NOTIFY channel that wakes the other nodes at once, and leaving (SIGTERM). It keeps the
// ClusterView up to date; reachability reads that view on every request.
import type { Database, DatabaseHandle } from '@porthole/db';
import { failureStreak, type Logger } from '../ops/logger.js';
import { ClusterView, HEARTBEAT_MS, LEASE_MS, type NodeRecord } from './cluster-view.js';
import { CLUSTER_CHANNEL, endLease, heartbeat, notify, parseNotice, pruneNodes, readHolds, takeHolds, type ClusterNotice } from './cluster-store.js';

/** Holds written within this window before a read are read again (late batched writes of others). */
const HOLD_READ_OVERLAP_MS = 30_000;
/** Every so often the whole hold table is read again (a missed notification, a deleted device). */
const FULL_HOLD_RELOAD_MS = 30_000;
/** Holds taken within this long are written together. */
const HOLD_WRITE_DELAY_MS = 50;
/** Nodes dead for a day are forgotten. */
const PRUNE_DEAD_AFTER_MS = 24 * 3600_000;

type NoticeBody = ClusterNotice extends infer N ? (N extends ClusterNotice ? Omit<N, 'from'> : never) : never;

export interface ClusterNodeOptions {
  db: Database;
  /** LISTEN support (PostgreSQL); without it the heartbeat's reads are the only path. */
  listen?: DatabaseHandle['listen'];
  nodeName: string;
  wgEndpoint: string;
  /** `http://host:port` of this node's internal listener; null outside cluster mode. */
  clusterUrl: string | null;
  logger: Logger;
  now?: () => number;
  heartbeatMs?: number;
  leaseMs?: number;
  /** Another node changed something cached here (devices, sessions). */
  onNotice?(notice: ClusterNotice): void;
  /** The set of live nodes changed (endpoints to tell agents about). */
  onNodesChanged?(live: NodeRecord[]): void;
  /** Holds of these devices changed (read from the database). */
  onHoldsChanged?(tunnelIps: string[]): void;
}

export async function startClusterNode(o: ClusterNodeOptions) {
  const log = o.logger.child({ component: 'cluster' });
  // A heartbeat a second: a database outage is one warning (and a reminder a minute), not one per beat.
  const heartbeatFailures = failureStreak(log, { failed: 'cluster heartbeat failed', recovered: 'cluster heartbeat works again' });
  const now = o.now ?? Date.now;
  const leaseMs = o.leaseMs ?? LEASE_MS;
  const view = new ClusterView(o.nodeName, now);
  const startedAt = new Date(now());
  let leaving = false;
  let leaseEnded = false;
  let closed = false;
  let liveKey = '';
  let lastFullReloadMs = 0;

  function noteNodes(nodes: NodeRecord[]): void {
    view.setNodes(nodes);
    const live = view.liveNodes();
    const key = live.map((n) => `${n.name}=${n.wgEndpoint}`).sort().join(',');
    if (key !== liveKey) {
      const first = liveKey === '';
      liveKey = key;
      if (!first) log.info('cluster nodes changed', { live: live.map((n) => n.name) });
      o.onNodesChanged?.(live);
    }
  }

  let lastReadMs = now();
  async function beat(): Promise<void> {
    const t = now();
    let nodes: NodeRecord[];
    try {
      nodes = await heartbeat(o.db, {
      name: o.nodeName,
      wgEndpoint: o.wgEndpoint,
      clusterUrl: o.clusterUrl,
      startedAt,
      now: new Date(t),
      leaseMs: leaseEnded ? 0 : leaseMs,
      });
    } catch (err) {
      view.freeze(lastReadMs);
      throw err;
    }
    if (closed) return;
    lastReadMs = t;
    view.thaw();
    noteNodes(nodes);
    await refreshHolds(t - lastFullReloadMs >= FULL_HOLD_RELOAD_MS);
  }

  async function refreshHolds(full: boolean): Promise<void> {
    const t = now();
    if (full) {
      view.replaceHolds(await readHolds(o.db));
      lastFullReloadMs = t;
    } else {
      const changed = view.applyHolds(await readHolds(o.db, new Date(t - HOLD_READ_OVERLAP_MS)));
      if (changed.length > 0) o.onHoldsChanged?.(changed);
    }
  }

  await beat();
  let beating: Promise<void> | undefined;
  const heartbeatMs = o.heartbeatMs ?? HEARTBEAT_MS;
  const timer = setInterval(() => {
    // A database that hangs rather than refuses (a connect timeout is 10 s) freezes the view too.
    if (now() - lastReadMs > 2 * heartbeatMs) view.freeze(lastReadMs);
    if (beating) return; // a slow database: never two heartbeats at once
    beating = beat()
      .then(() => heartbeatFailures.succeeded(), (err: unknown) => heartbeatFailures.failed(err))
      .finally(() => (beating = undefined));
  }, heartbeatMs);
  timer.unref();
  if (Math.random() < 0.01) void pruneNodes(o.db, new Date(now() - PRUNE_DEAD_AFTER_MS)).catch(() => {});

  let unlisten: (() => Promise<void>) | undefined;
  if (o.listen) {
    const sub = await o.listen(CLUSTER_CHANNEL, (payload) => {
      const notice = parseNotice(payload);
      if (!notice || notice.from === o.nodeName || closed) return;
      if (notice.kind === 'holds') void refreshHolds(false).catch((err: unknown) => log.debug('hold refresh failed', { err: String(err) }));
      else if (notice.kind === 'nodes') void beat().catch(() => {});
      o.onNotice?.(notice);
    });
    unlisten = sub.unlisten;
  }

  // Holds to take, by public key: the newest handshake of each, written together.
  const pending = new Map<string, { publicKey: string; handshakeAt: Date }>();
  let writeTimer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  function flushHolds(): void {
    writeTimer = undefined;
    if (pending.size === 0 || closed) return;
    const batch = [...pending.values()];
    pending.clear();
    writing = writing
      .then(async () => {
        const taken = await takeHolds(o.db, o.nodeName, batch, new Date(now()));
        view.applyHolds(taken);
        if (taken.length > 0) await notify(o.db, { from: o.nodeName, kind: 'holds' });
      })
      .catch((err: unknown) => log.warn('writing device holds failed', { err: String(err), devices: batch.length }));
  }

  async function publish(notice: NoticeBody): Promise<void> {
    try {
      await notify(o.db, { ...notice, from: o.nodeName } as ClusterNotice);
    } catch (err) {
      log.warn('cluster notification failed', { err: String(err), kind: notice.kind });
    }
  }

  return {
    view,
    /** A device completed a handshake with this node at `atMs` (wall clock): take its hold if newer. */
    noteHandshake(publicKey: string, tunnelIp: string, atMs: number): void {
      if (leaving || closed || !view.wouldTake(tunnelIp, atMs)) return;
      pending.set(publicKey, { publicKey, handshakeAt: new Date(atMs) });
      writeTimer ??= setTimeout(flushHolds, HOLD_WRITE_DELAY_MS);
    },
    /** Endpoints of every live node, this node's first (what agents are told). */
    liveEndpoints(): string[] {
      const others = view
        .liveNodes()
        .filter((n) => n.name !== o.nodeName)
        .map((n) => n.wgEndpoint);
      return [o.wgEndpoint, ...others.filter((e) => e !== o.wgEndpoint)];
    },
    publish,
    get leaving() {
      return leaving;
    },
    /**
     * Starts leaving (SIGTERM): no new holds are taken here, but the lease stays, so the devices
     * held here stay reachable through this node until each has handshaken with another one (whose
     * newer hold then wins). Ending the lease at once left them held by nobody, "offline" on every
     * node, between this moment and their new node's hold.
     */
    startLeaving(): void {
      leaving = true;
    },
    /** Ends the lease now and tells the others: nothing more is sent here. */
    async leave(): Promise<void> {
      leaving = true;
      if (leaseEnded) return;
      leaseEnded = true;
      try {
        await endLease(o.db, o.nodeName, new Date(now()));
        await notify(o.db, { from: o.nodeName, kind: 'nodes' });
      } catch (err) {
        log.warn('ending the lease failed; the others see it lapse', { err: String(err) });
      }
    },
    async close(): Promise<void> {
      closed = true;
      clearInterval(timer);
      if (writeTimer) clearTimeout(writeTimer);
      await writing;
      await beating;
      await unlisten?.().catch(() => {});
    },
  };
}

export type ClusterNode = Awaited<ReturnType<typeof startClusterNode>>;
