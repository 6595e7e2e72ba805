// The hub's cluster mode wired together (PORTHOLE_CLUSTER_LISTEN): this node's membership, the
// internal listener other nodes dial through, the dialer that goes through a device's holder, the
// notifications that keep every node's caches in step, and the SIGTERM hand-over that moves this
// node's devices to the others before it closes. createHub calls joinCluster before the data plane
// starts (so a restarted node knows which devices others hold) and attach once everything exists.
import type { MoveMessage } from '@porthole/device-control';
import type { DatabaseHandle } from '@porthole/db';
import type { HubConfig } from '../config/config-schema.js';
import type { Logger } from '../ops/logger.js';
import type { DeviceDialer } from '../proxy/contracts.js';
import { createClusterDialer, createClusterListener, type ClusterListener } from './cluster-listener.js';
import { createPacketRelay } from './cluster-relay.js';
import { startClusterNode, type ClusterNode } from './cluster-node.js';
import type { ClusterNotice } from './cluster-store.js';
import type { NodeRecord } from './cluster-view.js';
import type { Reachability } from './reachability.js';

/** How long a leaving node waits for its devices to handshake with another node. */
export const HANDOVER_WAIT_MS = 5_000;
/** Move messages sent at once. */
const MOVE_CONCURRENCY = 64;

export interface JoinedCluster {
  node: ClusterNode;
  /** Set by attach: what a notification or a change of live nodes does here. */
  handlers: { notice(n: ClusterNotice): void; nodes(live: NodeRecord[]): void; holds(tunnelIps: string[]): void };
}

/** Starts this node's membership (heartbeat, holds, notifications); undefined outside cluster mode. */
export async function joinCluster(o: { config: HubConfig; database: DatabaseHandle; logger: Logger }): Promise<JoinedCluster | undefined> {
  if (!o.config.clusterListen) return undefined;
  const handlers: JoinedCluster['handlers'] = { notice: () => {}, nodes: () => {}, holds: () => {} };
  const listen = o.database.listen?.bind(o.database);
  const node = await startClusterNode({
    db: o.database.db,
    ...(listen ? { listen } : {}),
    nodeName: o.config.nodeName,
    wgEndpoint: o.config.wgEndpoint,
    clusterUrl: `http://${o.config.clusterListen}`,
    logger: o.logger,
    onNotice: (n) => handlers.notice(n),
    onNodesChanged: (live) => handlers.nodes(live),
    onHoldsChanged: (ips) => handlers.holds(ips),
  });
  return { node, handlers };
}

export interface AttachOptions {
  joined: JoinedCluster;
  config: HubConfig;
  logger: Logger;
  reachability: Reachability;
  localDialer: DeviceDialer;
  isDeviceAddress(address: string): boolean;
  /** Tunnel addresses of devices whose session is on this node now. */
  localDevices(): string[];
  /** One control message to a device (device-control's send). */
  sendControl(tunnelIp: string, name: string, message: unknown): Promise<number>;
  /** The policy message as it is now (its endpoints follow the live nodes). */
  policy(): unknown;
  invalidateDevice(serial: string): void;
  invalidateAllDevices(): void;
  invalidateSessions(ended: { userId: string } | { tokenHash: string }): void;
  /** Peer set changed elsewhere: catch up now rather than at the next poll. */
  peersChanged(): void;
  /** Milliseconds since this node's last handshake with the peer at `tunnelIp` (the relay's admin routes). */
  handshakeAgeMs(tunnelIp: string): number | undefined;
  /** A packet another node relayed here (the overlay router's fromRelay). */
  deliverRelayed(fromNode: string, packet: Uint8Array): void;
}

export function attachCluster(o: AttachOptions) {
  const { node } = o.joined;
  const log = o.logger.child({ component: 'cluster' });
  const secret = o.config.clusterSecret!;
  const relay = createPacketRelay({
    secret,
    nodeName: o.config.nodeName,
    view: node.view,
    reachability: o.reachability,
    handshakeAgeMs: o.handshakeAgeMs,
    deliver: o.deliverRelayed,
    logger: o.logger,
  });
  const listener: ClusterListener = createClusterListener({
    relay,
    secret,
    nodeName: o.config.nodeName,
    isDeviceAddress: o.isDeviceAddress,
    reachability: o.reachability,
    localDialer: o.localDialer,
    dialTimeoutMs: o.config.dialTimeoutMs,
    logger: o.logger,
  });
  const dialer = createClusterDialer({ secret, nodeName: o.config.nodeName, reachability: o.reachability, localDialer: o.localDialer });

  o.joined.handlers.notice = (n) => {
    if (n.kind === 'device') {
      if (n.serials.includes('*')) o.invalidateAllDevices();
      else for (const serial of n.serials) o.invalidateDevice(serial);
      o.peersChanged();
    } else if (n.kind === 'sessions') {
      for (const ended of n.ended) if (!('userId' in ended && ended.userId === '*')) o.invalidateSessions(ended);
    } else if (n.kind === 'peers') {
      o.peersChanged();
    }
  };
  // A device another node took over: tunnels still open through here would pull it back.
  o.joined.handlers.holds = (ips) => {
    for (const ip of ips) if (o.reachability.locate(ip).kind !== 'local') listener.closeTunnels(ip);
  };
  // Agents learn the live endpoints from the policy: push it again when nodes come or go.
  o.joined.handlers.nodes = () => {
    if (node.leaving) return;
    const devices = o.localDevices();
    void forEachLimited(devices, MOVE_CONCURRENCY, (ip) => o.sendControl(ip, 'policy', o.policy()).catch(() => {}));
  };

  return {
    dialer,
    listener,
    /** The admin peers' packet relay (the overlay router's relay in cluster mode). */
    relay,
    async listen() {
      const bound = await listener.listen(o.config.clusterListen!);
      log.info('cluster listener up', { node: o.config.nodeName, listen: `${bound.address}:${bound.port}` });
      return bound;
    },
    /** Another node changed devices or ended sessions: what this node publishes. */
    publishDevices(serials: string[]) {
      if (serials.length > 0) void node.publish({ kind: 'device', serials });
    },
    publishSessionsEnded(ended: { userId: string } | { tokenHash: string }) {
      void node.publish({ kind: 'sessions', ended: [ended] });
    },
    /**
     * SIGTERM: tell every device held here to move to another live node, keep serving them until
     * they have (or `waitMs`), then end the lease (nothing more is sent here).
     */
    async handOver(waitMs = HANDOVER_WAIT_MS): Promise<{ moved: number; remaining: number }> {
      const others = node
        .liveEndpoints()
        .filter((e) => e !== o.config.wgEndpoint);
      node.startLeaving();
      const devices = o.localDevices();
      if (others.length === 0 || devices.length === 0) {
        await node.leave();
        return { moved: 0, remaining: devices.length };
      }
      const message: MoveMessage = { from: o.config.nodeName, fromEndpoint: o.config.wgEndpoint, endpoints: others };
      log.info('handing devices over to the other nodes', { devices: devices.length, endpoints: others });
      await forEachLimited(devices, MOVE_CONCURRENCY, (ip) =>
        o.sendControl(ip, 'move', message).then(
          (status) => status >= 300 && log.debug('move refused', { tunnelIp: ip, status }),
          (err: unknown) => log.debug('move not delivered', { tunnelIp: ip, err: String(err) }),
        ),
      );
      const deadline = Date.now() + waitMs;
      let remaining = devices;
      for (;;) {
        const still = remaining.filter((ip) => o.reachability.locate(ip).kind === 'local');
        // A device that moved: tunnels kept open through here would pull it back.
        for (const ip of remaining) if (!still.includes(ip)) listener.closeTunnels(ip);
        remaining = still;
        if (remaining.length === 0 || Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await node.leave();
      log.info('hand-over done', { moved: devices.length - remaining.length, remaining: remaining.length });
      return { moved: devices.length - remaining.length, remaining: remaining.length };
    },
    async close() {
      relay.close();
      await listener.close();
      await node.close();
    },
  };
}

export type AttachedCluster = ReturnType<typeof attachCluster>;

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}

