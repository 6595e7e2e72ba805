// /metrics series of cluster mode, read at scrape time from what the cluster view, the dialer and
// the internal listener count anyway (nothing per request).
import type { HubMetrics } from '../ops/hub-metrics.js';
import { collectedCounter, collectedGauge } from '../ops/metrics.js';
import type { ClusterView } from './cluster-view.js';

export interface ClusterMetricSources {
  view: Pick<ClusterView, 'listNodes' | 'countsByNode' | 'self'>;
  /** Dials this node carried to other nodes. */
  dialer: { remoteDials: number };
  /** Dials other nodes asked of this one, by outcome. */
  listener: { stats: { served: number; unauthorized: number; refused: number; failed: number }; openTunnels: number };
  /** The admin peers' packet relay (cluster-relay.ts). */
  relay: { stats: { sent: number; dropped: number; received: number; refused: number } };
}

export function instrumentCluster({ registry }: HubMetrics, s: ClusterMetricSources): void {
  collectedGauge(registry, 'porthole_cluster_nodes', 'Hub nodes in the cluster by state (alive, dead).', ['state'], () => {
    const nodes = s.view.listNodes();
    const alive = nodes.filter((n) => n.alive).length;
    return [
      { labels: { state: 'alive' }, value: alive },
      { labels: { state: 'dead' }, value: nodes.length - alive },
    ];
  });
  collectedGauge(registry, 'porthole_cluster_devices_held', 'Devices whose WireGuard session this node holds.', [], () => [{ labels: {}, value: s.view.countsByNode().get(s.view.self) ?? 0 }]);
  collectedCounter(
    registry,
    'porthole_cluster_dials_total',
    'Device connections through another node (out) and for other nodes (in, by outcome: served, unauthorized, refused, failed).',
    ['direction', 'outcome'],
    () => [
      { labels: { direction: 'out', outcome: 'attempted' }, value: s.dialer.remoteDials },
      ...Object.entries(s.listener.stats).map(([outcome, value]) => ({ labels: { direction: 'in', outcome }, value })),
    ],
  );
  collectedGauge(registry, 'porthole_cluster_open_tunnels', 'Open connections other nodes carry to devices through this node.', [], () => [{ labels: {}, value: s.listener.openTunnels }]);
  collectedCounter(
    registry,
    'porthole_cluster_relay_packets_total',
    "Admin peers' IP packets relayed between nodes: out (sent, dropped: no stream or a full one) and in (received, refused: a bad frame closed the stream).",
    ['direction', 'outcome'],
    () => [
      { labels: { direction: 'out', outcome: 'sent' }, value: s.relay.stats.sent },
      { labels: { direction: 'out', outcome: 'dropped' }, value: s.relay.stats.dropped },
      { labels: { direction: 'in', outcome: 'received' }, value: s.relay.stats.received },
      { labels: { direction: 'in', outcome: 'refused' }, value: s.relay.stats.refused },
    ],
  );
}
