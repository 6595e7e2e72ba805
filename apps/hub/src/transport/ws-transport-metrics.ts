// /metrics series for the WebSocket carrier, read at scrape time from the counters it keeps anyway.
import type { HubMetrics } from '../ops/hub-metrics.js';
import { collectedCounter, collectedGauge } from '../ops/metrics.js';
import type { WsDatagramTransport } from './ws-datagram-transport.js';

export function instrumentWsTransport({ registry }: HubMetrics, transport: WsDatagramTransport): void {
  const byReason = (map: Record<string, number>) => Object.entries(map).map(([reason, value]) => ({ labels: { reason }, value }));
  collectedGauge(registry, 'porthole_ws_transport_connections', 'Open WireGuard-over-WebSocket carrier connections.', [], () => transport.stats.open);
  collectedCounter(registry, 'porthole_ws_transport_datagrams_total', 'WireGuard datagrams carried over WebSocket, by direction (rx, tx).', ['direction'], () => [
    { labels: { direction: 'rx' }, value: transport.stats.rxDatagrams },
    { labels: { direction: 'tx' }, value: transport.stats.txDatagrams },
  ]);
  collectedCounter(registry, 'porthole_ws_transport_refused_total', 'WebSocket carrier upgrades refused, by reason.', ['reason'], () => byReason(transport.stats.refused));
  collectedCounter(registry, 'porthole_ws_transport_drops_total', 'WebSocket carrier datagrams dropped, by reason.', ['reason'], () => byReason(transport.stats.drops));
  collectedCounter(registry, 'porthole_ws_transport_closed_total', 'WebSocket carrier connections closed by the hub, by reason.', ['reason'], () => byReason(transport.stats.closed));
}
