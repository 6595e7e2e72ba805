// Keeps the hub's WireGuard peer set in step with the registry and writes peer status back.
// Registrations, disables, deletes and re-keys reach the data plane within a poll interval (the
// in-process change hook makes it immediate); handshake/endpoint/traffic flow back in batches.
// Traffic counters alone move with every keepalive: written for a peer only when they grew by
// TRAFFIC_WRITE_BYTES or after trafficFlushMs, else 30,000 idle devices rewrite ~12,000 rows
// every 10 s (that write was 15–20% of the hub's CPU at that scale).
// Handshakes take two paths. A device coming online (no handshake written within the online
// window, REJECT_AFTER_TIME) is written within FIRST_CONTACT_DELAY_MS, in a batch of its own, so
// the portal and other hub nodes see it at once. A rekey of a peer that is online (every ~2 min,
// ~230/s at 30,000 devices) waits for the status flush: the database's "online" rule (180 s)
// holds as long as each rekey is written within a flush interval.
import type { PeerChange } from '@porthole/db';
import { constants, formatEndpoint, sameEndpoint, type Endpoint, type PeerConfig, type PeerStatus as WgPeerStatus, type PeerUpdate } from '@porthole/wireguard';
import { parseIpv4Address } from '@porthole/netstack';
import { failureStreak, type Logger } from '../ops/logger.js';
import type { Peer, PeerChanges, PeerSet, PeerStatus } from '../registry/index.js';
import type { PeerRole } from './overlay-router.js';
import { RESUME_WINDOW_MS, resumablePeers } from './resume-peers.js';

/** The registry operations peer sync needs (a subset of the Registry). */
export interface PeerSource {
  listPeers(): Promise<PeerSet>;
  changesSince(version: number): Promise<PeerChanges>;
  onChange?(listener: (changes: PeerChange[]) => void): () => void;
  recordPeerStatus(statuses: readonly PeerStatus[]): Promise<void>;
}

/** The WireGuard device operations peer sync needs. */
export interface PeerTarget {
  addPeer(config: PeerConfig): unknown;
  updatePeer(publicKey: string, update: PeerUpdate): unknown;
  removePeer(publicKey: string): boolean;
  getPeer(publicKey: string): WgPeerStatus | undefined;
  peers(): WgPeerStatus[];
  /** Every peer's handshake, endpoint and traffic, without a status object per peer. */
  forEachPeerActivity(visit: (publicKey: string, endpoint: Endpoint | undefined, lastHandshakeMs: number | undefined, rxBytes: number, txBytes: number) => void): void;
}

export interface PeerSyncOptions {
  source: PeerSource;
  target: PeerTarget;
  /** Monotonic clock of the WireGuard device (its lastHandshakeMs values are on this clock). */
  monotonicNow: () => number;
  /** Wall clock, to turn monotonic handshake times into timestamps for the database. */
  wallNow?: () => number;
  /** How often to ask for changes made elsewhere (another hub node, a missed hook). Default 1000 ms. */
  pollIntervalMs?: number;
  /** How often to write status back. Default 10 s. */
  statusFlushMs?: number;
  /** A peer whose only change is traffic is written at most this often (unless it moved a lot). Default 5 min. */
  trafficFlushMs?: number;
  logger?: Logger;
  /**
   * Called with peers that come back (re-enabled) shortly after being removed, their old endpoint
   * already set: the overlay dials them instead of waiting for their next handshake attempt.
   */
  onReturn?(peers: { publicKey: string; tunnelIp: string }[]): void;
  /** Called when a peer leaves the data plane (deleted, disabled, re-keyed), with its tunnel address. */
  onRemoved?(tunnelIp: string): void;
}

/** Traffic growth (rx + tx bytes) that is written at the next flush without waiting for trafficFlushMs. */
export const TRAFFIC_WRITE_BYTES = 1024 * 1024;

/** How long a device coming online waits for others to share its write (a reconnect wave). */
export const FIRST_CONTACT_DELAY_MS = 200;

/** What was last written for a peer. */
interface Written {
  handshakeMs: number | undefined;
  endpoint: string | null;
  /** What `endpoint` was formatted from: the same place needs no formatting. */
  endpointObject: Endpoint | undefined;
  rxBytes: number;
  txBytes: number;
  atMs: number;
}

interface Known {
  role: PeerRole;
  tunnelIp: number;
  /** `tunnelIp` as the registry wrote it (handed out on every handshake: no formatting there). */
  tunnelIpText: string;
  name: string;
  organizationId: string | null;
}

export class PeerSync {
  private version = 0;
  private readonly known = new Map<string, Known>(); // public key → what the registry says
  private readonly byAddress = new Map<number, string>(); // tunnel IP → public key
  private readonly lastWritten = new Map<string, Written>();
  private pollTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private syncing: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private loaded: Peer[] = [];
  /** Endpoints of recently removed peers (bounded): a re-enabled device is dialled there. */
  private readonly departed = new Map<string, { endpoint: NonNullable<WgPeerStatus['endpoint']>; atMs: number }>();
  /** Devices that came online and wait for their prompt write. */
  private readonly firstContacts = new Set<string>();
  private firstContactTimer: NodeJS.Timeout | undefined;
  /** Status writes run one after another, so an older view never lands after a newer one. */
  private writes: Promise<void> = Promise.resolve();
  // A database outage fails every round: one warning per streak, not one per second.
  private readonly syncFailures;
  private readonly writeFailures;

  constructor(private readonly options: PeerSyncOptions) {
    this.syncFailures = failureStreak(options.logger, { failed: 'peer sync failed; keeping the current peer set', recovered: 'peer sync works again' });
    this.writeFailures = failureStreak(options.logger, { failed: 'peer status write failed; will retry', recovered: 'peer status writes work again' });
  }

  /** Loads the whole peer set, then follows changes. Resolves once the first load is applied. */
  async start(): Promise<void> {
    const set = await this.options.source.listPeers();
    const wanted = new Set(set.peers.map((p) => p.publicKey));
    for (const status of this.options.target.peers()) {
      if (!wanted.has(status.publicKey)) this.options.target.removePeer(status.publicKey);
    }
    for (const peer of set.peers) this.upsert(peer);
    this.loaded = set.peers;
    this.version = set.version;
    this.unsubscribe = this.options.source.onChange?.((changes) => this.applyCommitted(changes));
    const poll = this.options.pollIntervalMs ?? 1000;
    this.pollTimer = setInterval(() => void this.catchUp(), poll);
    this.pollTimer.unref();
    const flush = this.options.statusFlushMs ?? 10_000;
    this.flushTimer = setInterval(() => void this.flushStatus(), flush);
    this.flushTimer.unref();
  }

  /** Stops following and writes the last status. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearInterval(this.flushTimer);
    clearTimeout(this.firstContactTimer);
    this.unsubscribe?.();
    await this.syncing;
    await this.flushStatus(true);
  }

  /**
   * A WireGuard handshake with `publicKey` completed. A peer not written as online (no handshake
   * written within REJECT_AFTER_TIME) is written within FIRST_CONTACT_DELAY_MS; a rekey of an
   * online peer waits for the status flush.
   */
  handshakeCompleted(publicKey: string): void {
    if (this.stopped || !this.known.has(publicKey)) return;
    const last = this.lastWritten.get(publicKey);
    const online = last?.handshakeMs !== undefined && this.options.monotonicNow() - last.handshakeMs < constants.REJECT_AFTER_TIME_MS;
    if (online) return;
    this.firstContacts.add(publicKey);
    this.firstContactTimer ??= setTimeout(() => {
      this.firstContactTimer = undefined;
      void this.flushFirstContacts();
    }, FIRST_CONTACT_DELAY_MS);
    this.firstContactTimer.unref?.();
  }

  /** Writes the status of the devices that came online since the last call. Never throws. */
  flushFirstContacts(): Promise<void> {
    const keys = [...this.firstContacts];
    this.firstContacts.clear();
    if (keys.length === 0) return this.writes;
    return this.enqueueWrite(() => {
      const batch: PeerStatus[] = [];
      const written: [string, Written][] = [];
      const mono = this.options.monotonicNow();
      const wall = this.options.wallNow?.() ?? Date.now();
      for (const key of keys) {
        const peer = this.options.target.getPeer(key);
        if (!peer || !this.known.has(key)) continue;
        this.collect(batch, written, key, peer.endpoint, peer.lastHandshakeMs, peer.rxBytes, peer.txBytes, mono, wall, this.lastWritten.get(key));
      }
      return { batch, written };
    });
  }

  /**
   * Peers of the first load heard from within `windowMs` before `wallNowMs`, with their last endpoint
   * set on the WireGuard peer (a restarted hub dials them: resume-peers.ts). Call once after start.
   */
  takeResumable(wallNowMs: number, windowMs?: number): { publicKey: string; tunnelIp: string }[] {
    const peers = resumablePeers(this.loaded, wallNowMs, windowMs);
    this.loaded = [];
    const out: { publicKey: string; tunnelIp: string }[] = [];
    for (const peer of peers) {
      const status = this.options.target.getPeer(peer.publicKey);
      // A peer that already reached us (or was roamed) keeps its own endpoint.
      if (!status || status.endpoint) continue;
      this.options.target.updatePeer(peer.publicKey, { endpoint: peer.endpoint });
      out.push({ publicKey: peer.publicKey, tunnelIp: peer.tunnelIp });
    }
    return out;
  }

  get peerVersion(): number {
    return this.version;
  }

  /** Who owns a tunnel address (for the overlay router). */
  roleOf(address: number): PeerRole | undefined {
    const key = this.byAddress.get(address);
    return key === undefined ? undefined : this.known.get(key)?.role;
  }

  /** The organisation of a tunnel address's owner (for the overlay router); undefined when unknown. */
  organizationOf(address: number): string | undefined {
    const key = this.byAddress.get(address);
    return (key === undefined ? undefined : this.known.get(key)?.organizationId) ?? undefined;
  }

  /**
   * The device at a tunnel address as the registry's peer set has it (undefined: an admin peer or
   * no peer), so a device coming online needs no query to be named: its serial, and its
   * organisation (null when the change that brought it did not record one).
   */
  deviceAt(address: number): { serial: string; organizationId: string | null } | undefined {
    const key = this.byAddress.get(address);
    const known = key === undefined ? undefined : this.known.get(key);
    return known?.role === 'device' ? { serial: known.name, organizationId: known.organizationId } : undefined;
  }

  /** The tunnel address of a peer the registry knows (undefined: unknown key). */
  tunnelIpOf(publicKey: string): string | undefined {
    return this.known.get(publicKey)?.tunnelIpText;
  }

  /** The public key that owns a tunnel address, if any. */
  peerAt(address: number): string | undefined {
    return this.byAddress.get(address);
  }

  /**
   * Changes this process has just committed (the registry's emitter, before it answers the request
   * that made them): applied at once when they are the next versions. So a device registered here
   * is a peer before its registration is answered, and its first handshake is not dropped for
   * arriving ahead of a read of the feed (then the device retries only 5 s later). Versions come from
   * one counter row in commit order, and each emit carries all of its version's changes. Anything
   * not next (another node's change first, or one recorded without an emit) is read from the feed.
   */
  private applyCommitted(changes: readonly PeerChange[]): void {
    if (this.stopped) return;
    let i = 0;
    // Already read from the feed by a catch-up that got there first.
    while (i < changes.length && changes[i]!.version <= this.version) i++;
    while (i < changes.length && changes[i]!.version === this.version + 1) {
      const version = changes[i]!.version;
      for (; i < changes.length && changes[i]!.version === version; i++) this.apply(changes[i]!);
      this.version = version;
    }
    if (i < changes.length) void this.catchUp();
  }

  /** Applies every change since the last applied version; concurrent calls coalesce. */
  catchUp(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      try {
        do {
          this.again = false;
          let page: PeerChanges;
          do {
            page = await this.options.source.changesSince(this.version);
            // What applyCommitted applied while the page was on its way is not applied again:
            // an older change after a newer one would undo it (a removed device back for a while).
            for (const change of page.changes) if (change.version > this.version) this.apply(change);
            this.version = Math.max(this.version, page.version);
          } while (page.more && !this.stopped);
        } while (this.again && !this.stopped);
        this.syncFailures.succeeded();
      } catch (err) {
        // The database may be briefly away: the data plane keeps its current peers and retries.
        this.syncFailures.failed(err);
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  /**
   * Writes the status of peers whose handshake or endpoint changed, and of peers whose traffic
   * grew by TRAFFIC_WRITE_BYTES or was last written trafficFlushMs ago; `all` writes every
   * change (on stop). Never throws.
   */
  flushStatus(all = false): Promise<void> {
    return this.enqueueWrite(() => {
      const mono = this.options.monotonicNow();
      const wall = this.options.wallNow?.() ?? Date.now();
      const trafficFlushMs = this.options.trafficFlushMs ?? 300_000;
      const batch: PeerStatus[] = [];
      const written: [string, Written][] = [];
      this.options.target.forEachPeerActivity((publicKey, endpointObject, handshakeMs, rxBytes, txBytes) => {
        const last = this.lastWritten.get(publicKey);
        // Not heard from since this hub started: nothing to record (and the row keeps its counters).
        // At start that is every peer: writing them all blocked the event loop for seconds at 30,000.
        if (!last && handshakeMs === undefined && endpointObject === undefined && rxBytes === 0 && txBytes === 0) return;
        if (last && last.handshakeMs === handshakeMs && sameEndpoint(last.endpointObject, endpointObject)) {
          if (rxBytes === last.rxBytes && txBytes === last.txBytes) return;
          const grew = rxBytes - last.rxBytes + (txBytes - last.txBytes);
          if (!all && grew < TRAFFIC_WRITE_BYTES && mono - last.atMs < trafficFlushMs) return;
        }
        this.collect(batch, written, publicKey, endpointObject, handshakeMs, rxBytes, txBytes, mono, wall, last);
      });
      return { batch, written };
    });
  }

  /** Adds one peer's status to a write and what will count as written once it succeeds. */
  private collect(
    batch: PeerStatus[],
    written: [string, Written][],
    publicKey: string,
    endpointObject: Endpoint | undefined,
    handshakeMs: number | undefined,
    rxBytes: number,
    txBytes: number,
    mono: number,
    wall: number,
    last: Written | undefined,
  ): void {
    // `ws:` marks a device on the WebSocket carrier; UDP stays `address:port`.
    const endpoint = last && sameEndpoint(last.endpointObject, endpointObject) ? last.endpoint : endpointText(endpointObject);
    const role = this.known.get(publicKey)?.role;
    batch.push({
      publicKey,
      ...(role ? { kind: role } : {}),
      lastHandshakeAt: handshakeMs === undefined ? null : new Date(wall - (mono - handshakeMs)),
      endpoint,
      rxBytes,
      txBytes,
    });
    written.push([publicKey, { handshakeMs, endpoint, endpointObject, rxBytes, txBytes, atMs: mono }]);
  }

  /** Runs `prepare` after the writes before it, then writes its batch. Never rejects. */
  private enqueueWrite(prepare: () => { batch: PeerStatus[]; written: [string, Written][] }): Promise<void> {
    const next = this.writes.then(async () => {
      const { batch, written } = prepare();
      if (batch.length === 0) return;
      try {
        await this.options.source.recordPeerStatus(batch);
        for (const [key, w] of written) if (this.known.has(key)) this.lastWritten.set(key, w);
        this.writeFailures.succeeded();
      } catch (err) {
        // Not recorded as written: the next status flush picks these peers up again.
        this.writeFailures.failed(err, { peers: batch.length });
      }
    });
    this.writes = next;
    return next;
  }

  private apply(change: PeerChange): void {
    if (change.op === 'remove') this.remove(change.publicKey);
    else this.upsert(change);
  }

  private upsert(peer: Peer): void {
    const tunnelIp = parseIpv4Address(peer.tunnelIp);
    const previous = this.known.get(peer.publicKey);
    // A tunnel address moves to a new key on re-key: the old owner must lose it first.
    const holder = this.byAddress.get(tunnelIp);
    if (holder !== undefined && holder !== peer.publicKey) this.remove(holder);
    const allowedIps = [`${peer.tunnelIp}/32`];
    if (previous) {
      if (previous.tunnelIp !== tunnelIp) this.byAddress.delete(previous.tunnelIp);
      this.options.target.updatePeer(peer.publicKey, { allowedIps });
    } else if (this.options.target.getPeer(peer.publicKey)) {
      this.options.target.updatePeer(peer.publicKey, { allowedIps });
    } else {
      this.options.target.addPeer({ publicKey: peer.publicKey, allowedIps });
      const gone = this.departed.get(peer.publicKey);
      this.departed.delete(peer.publicKey);
      if (gone && this.options.monotonicNow() - gone.atMs < RESUME_WINDOW_MS) {
        this.options.target.updatePeer(peer.publicKey, { endpoint: gone.endpoint });
        this.options.onReturn?.([{ publicKey: peer.publicKey, tunnelIp: peer.tunnelIp }]);
      }
    }
    this.known.set(peer.publicKey, { role: peer.kind, tunnelIp, tunnelIpText: peer.tunnelIp, name: peer.name, organizationId: peer.organizationId ?? null });
    this.byAddress.set(tunnelIp, peer.publicKey);
  }

  private remove(publicKey: string): void {
    const known = this.known.get(publicKey);
    if (known && this.byAddress.get(known.tunnelIp) === publicKey) this.byAddress.delete(known.tunnelIp);
    this.known.delete(publicKey);
    this.lastWritten.delete(publicKey);
    this.firstContacts.delete(publicKey);
    const status = this.options.target.getPeer(publicKey);
    if (status?.endpoint) {
      if (this.departed.size >= 4096) this.departed.delete(this.departed.keys().next().value!);
      this.departed.set(publicKey, { endpoint: status.endpoint, atMs: this.options.monotonicNow() });
    }
    this.options.target.removePeer(publicKey);
    if (known) this.options.onRemoved?.(known.tunnelIpText);
  }
}

function endpointText(endpoint: Endpoint | undefined): string | null {
  return endpoint ? formatEndpoint(endpoint) : null;
}
