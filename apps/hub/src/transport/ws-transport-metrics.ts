// /metrics series for the WebSocket carrier, read at scrape time from the counters it keeps anyway.
import type { HubMetrics } from '../ops/hub-metrics.js';
import type { WsDatagramTransport } from './ws-datagram-transport.js';

export function instrumentWsTransport(metrics: HubMetrics, transport: WsDatagramTransport): void {
  const { registry } = metrics;
  const rows = (map: Record<string, number>) => Object.entries(map).map(([reason, value]) => ({ labels: { reason }, value }));
  registry.gauge('porthole_ws_transport_connections', 'Open WireGuard-over-WebSocket carrier connections.').collect(() => transport.stats.open);
  registry
    .counter('porthole_ws_transport_datagrams_total', 'WireGuard datagrams carried over WebSocket, by direction (rx, tx).', ['direction'])
    .collect(() => [
      { labels: { direction: 'rx' }, value: transport.stats.rxDatagrams },
      { labels: { direction: 'tx' }, value: transport.stats.txDatagrams },
    ]);
  registry.counter('porthole_ws_transport_refused_total', 'WebSocket carrier upgrades refused, by reason.', ['reason']).collect(() => rows(transport.stats.refused));
  registry.counter('porthole_ws_transport_drops_total', 'WebSocket carrier datagrams dropped, by reason.', ['reason']).collect(() => rows(transport.stats.drops));
  registry.counter('porthole_ws_transport_closed_total', 'WebSocket carrier connections closed by the hub, by reason.', ['reason']).collect(() => rows(transport.stats.closed));
}
