// What one hub node knows about the cluster, as plain data with the clock passed in: the nodes and
// their heartbeat leases, and which node holds each device's WireGuard session. A node whose lease
// lapsed is dead and holds nothing; a hold moves only to a newer handshake (so an older session
// never steals a device back). The database rows are the truth; this is the node's copy of them,
// refreshed by heartbeats and notifications, and asked on every proxied request (no round trip).

/** How often a node renews its lease. */
export const HEARTBEAT_MS = 1_000;
/** How long a lease lasts: a node missing about five heartbeats is dead. */
export const LEASE_MS = 5_000;

export interface NodeRecord {
  name: string;
  wgEndpoint: string;
  /** Internal listener URL (`http://host:port`); null for a node outside cluster mode. */
  clusterUrl: string | null;
  startedAtMs: number;
  lastSeenAtMs: number;
  leaseExpiresAtMs: number;
}

export interface HoldRecord {
  /** Device tunnel address (dotted quad): what the data plane and the proxy key devices by. */
  tunnelIp: string;
  node: string;
  /** Handshake time (wall clock, ms) of the session that gave the hold. */
  heldSinceMs: number;
}

export function isAlive(node: Pick<NodeRecord, 'leaseExpiresAtMs'>, nowMs: number): boolean {
  return node.leaseExpiresAtMs > nowMs;
}

/**
 * Whether a handshake at `handshakeMs` on `node` takes the hold from `current`: nobody holds the
 * device, its holder is dead, or this session is newer. The same node renewing is a take too.
 */
export function takesHold(current: HoldRecord | undefined, node: string, handshakeMs: number, holderAlive: boolean): boolean {
  if (!current || !holderAlive) return true;
  if (current.node === node) return handshakeMs >= current.heldSinceMs;
  return handshakeMs > current.heldSinceMs;
}

/**
 * A hold counts while its session can: WireGuard drops a session REJECT_AFTER_TIME (180 s) after
 * its handshake, and the holder writes every handshake (rekeys too), so an older hold is a device
 * that went offline on that node.
 */
export const HOLD_FRESH_MS = 180_000;

/**
 * Whether a hold on node `n` can be a live session: the node's lease holds, the session is younger
 * than a session lives, and it began after the node (re)started — a restarted process has none of
 * its predecessor's sessions.
 */
function live(n: NodeRecord, h: HoldRecord, now: number): boolean {
  return isAlive(n, now) && now - h.heldSinceMs < HOLD_FRESH_MS && h.heldSinceMs >= n.startedAtMs;
}

/** Where a device is, as far as the cluster view knows. */
export type HolderAnswer = { kind: 'self' } | { kind: 'node'; node: NodeRecord } | { kind: 'none' };

export class ClusterView {
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly holds = new Map<string, HoldRecord>();
  /** Set while this node cannot read the database: the view holds as it was then (see freeze). */
  private frozenAtMs: number | undefined;

  constructor(
    readonly self: string,
    private readonly clock: () => number,
  ) {}

  /**
   * The database cannot be read (an outage): judge leases and holds as of `atMs`, the last
   * successful read, instead of letting every other node's lease lapse on this node's clock. Nodes
   * keep serving each other's devices through an outage; one that died meanwhile fails its dials.
   */
  freeze(atMs: number): void {
    this.frozenAtMs ??= atMs;
  }

  /** A read succeeded again. */
  thaw(): void {
    this.frozenAtMs = undefined;
  }

  get frozen(): boolean {
    return this.frozenAtMs !== undefined;
  }

  /** The time leases and holds are judged at. */
  private now(): number {
    return this.frozenAtMs ?? this.clock();
  }

  /** Replaces the node list (each heartbeat reads it whole: a handful of rows). */
  setNodes(nodes: readonly NodeRecord[]): void {
    this.nodes.clear();
    for (const n of nodes) this.nodes.set(n.name, n);
  }

  /** Applies holds read from the database; an older record never replaces a newer one. */
  applyHolds(holds: readonly HoldRecord[]): string[] {
    const changed: string[] = [];
    for (const h of holds) {
      const current = this.holds.get(h.tunnelIp);
      if (current && current.node === h.node && current.heldSinceMs === h.heldSinceMs) continue;
      if (current && h.heldSinceMs < current.heldSinceMs) continue;
      this.holds.set(h.tunnelIp, h);
      changed.push(h.tunnelIp);
    }
    return changed;
  }

  /** Replaces every hold (a full reload). */
  replaceHolds(holds: readonly HoldRecord[]): void {
    this.holds.clear();
    for (const h of holds) this.holds.set(h.tunnelIp, h);
  }

  /** The device left the registry (deleted, or its address reused). */
  forget(tunnelIp: string): void {
    this.holds.delete(tunnelIp);
  }

  node(name: string): NodeRecord | undefined {
    return this.nodes.get(name);
  }

  isAlive(name: string): boolean {
    if (name === this.self) return true;
    const n = this.nodes.get(name);
    return n !== undefined && isAlive(n, this.now());
  }

  /** Every node, with whether its lease holds now. */
  listNodes(): (NodeRecord & { alive: boolean })[] {
    const now = this.now();
    return [...this.nodes.values()].map((n) => ({ ...n, alive: n.name === this.self || isAlive(n, now) }));
  }

  liveNodes(): NodeRecord[] {
    return this.listNodes().filter((n) => n.alive);
  }

  hold(tunnelIp: string): HoldRecord | undefined {
    return this.holds.get(tunnelIp);
  }

  /**
   * The live holder of a device: this node, another live node with a session young enough to be
   * up, or none (never held, its node died, or its session there is too old to be alive).
   */
  holderOf(tunnelIp: string): HolderAnswer {
    const h = this.holds.get(tunnelIp);
    if (!h) return { kind: 'none' };
    if (h.node === this.self) return { kind: 'self' };
    const now = this.now();
    const n = this.nodes.get(h.node);
    if (!n || !live(n, h, now)) return { kind: 'none' };
    return { kind: 'node', node: n };
  }

  /** Whether a handshake here at `handshakeMs` takes the device (a write is then due). */
  wouldTake(tunnelIp: string, handshakeMs: number): boolean {
    const current = this.holds.get(tunnelIp);
    return takesHold(current, this.self, handshakeMs, current ? this.isAlive(current.node) : false) && !(current?.node === this.self && current.heldSinceMs === handshakeMs);
  }

  /** Devices this view says a node holds (alive or not). */
  heldBy(node: string): string[] {
    const out: string[] = [];
    for (const h of this.holds.values()) if (h.node === node) out.push(h.tunnelIp);
    return out;
  }

  /** Devices each live node holds with a session young enough to be up. */
  countsByNode(): Map<string, number> {
    const now = this.now();
    const counts = new Map<string, number>();
    for (const h of this.holds.values()) {
      const n = h.node === this.self ? undefined : this.nodes.get(h.node);
      const counted = h.node === this.self ? now - h.heldSinceMs < HOLD_FRESH_MS : n !== undefined && live(n, h, now);
      if (counted) counts.set(h.node, (counts.get(h.node) ?? 0) + 1);
    }
    return counts;
  }
}
