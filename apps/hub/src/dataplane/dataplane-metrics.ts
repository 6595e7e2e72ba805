// /metrics series for the data plane, read at scrape time from the counters the WireGuard device,
// the overlay router, the netstack and the metered bind keep anyway (nothing on the packet path).
import type { HubMetrics } from '../ops/hub-metrics.js';
import { collectedCounter, collectedGauge } from '../ops/metrics.js';
import type { MeteredBind } from './metered-bind.js';
import type { Overlay } from './overlay.js';
import type { PeerSocketsStats } from './peer-sockets.js';
import type { UdpIngress } from './udp-ingress.js';
import { HANDSHAKE_HOLD_MS, KEEPALIVE_HOLD_MS } from './udp-ingress-protocol.js';

export function instrumentOverlay({ registry }: HubMetrics, overlay: Overlay, bind: MeteredBind): void {
  const device = overlay.wireguard.device;
  collectedGauge(registry, 'porthole_wg_peers', 'WireGuard peers by state (configured, active).', ['state'], () => {
    return [
      { labels: { state: 'configured' }, value: device.peerCount },
      { labels: { state: 'active' }, value: device.sessionCount },
    ];
  });
  collectedCounter(registry, 'porthole_wg_bytes_total', 'WireGuard transport bytes by direction.', ['direction'], () => [
    { labels: { direction: 'rx' }, value: bind.traffic.rxBytes },
    { labels: { direction: 'tx' }, value: bind.traffic.txBytes },
  ]);
  collectedCounter(
    registry,
    'porthole_dataplane_drops_total',
    'Packets dropped by the data plane, by layer (wireguard, router, netstack) and reason.',
    ['layer', 'reason'],
    () => {
      const rows: { labels: { layer: string; reason: string }; value: number }[] = [];
      for (const [reason, value] of Object.entries(device.drops)) if (value > 0) rows.push({ labels: { layer: 'wireguard', reason }, value });
      for (const [reason, value] of overlay.router.drops) rows.push({ labels: { layer: 'router', reason }, value });
      for (const [reason, value] of Object.entries(overlay.netstack.stats.drops)) if (value > 0) rows.push({ labels: { layer: 'netstack', reason }, value });
      return rows;
    },
  );
}

/** The UDP ingress thread's counters (udp-ingress.ts), read from its shared counters at scrape time. */
export function instrumentUdpIngress({ registry }: HubMetrics, ingress: UdpIngress): void {
  collectedCounter(
    registry,
    'porthole_wg_ingress_datagrams_total',
    'WireGuard datagrams the UDP ingress thread received, by outcome (passed to the data plane, or the reason it dropped them there).',
    ['outcome'],
    () => {
      const stats = ingress.stats;
      return [{ labels: { outcome: 'passed' }, value: stats.passed }, ...Object.entries(stats.drops).map(([outcome, value]) => ({ labels: { outcome }, value }))];
    },
  );
  collectedCounter(registry, 'porthole_wg_ingress_cookie_replies_total', 'Cookie replies the UDP ingress thread sent (handshakes asked for mac2 under load).', [], () => [
    { labels: {}, value: ingress.stats.cookieReplies },
  ]);
  collectedCounter(
    registry,
    'porthole_wg_ingress_batches_total',
    `Messages the UDP ingress thread passed datagrams to the main thread in (several datagrams each when they arrive together, keepalives held up to ${KEEPALIVE_HOLD_MS} ms, initiations up to ${HANDSHAKE_HOLD_MS} ms).`,
    [],
    () => [{ labels: {}, value: ingress.stats.batches }],
  );
  collectedCounter(registry, 'porthole_wg_ingress_restarts_total', 'Times the UDP ingress thread died and was started again.', [], () => [{ labels: {}, value: ingress.stats.restarts }]);
}

/** The per-device sockets on the WireGuard port (peer-sockets.ts), with or without the ingress thread. */
export function instrumentPeerSockets({ registry }: HubMetrics, read: () => PeerSocketsStats): void {
  collectedGauge(registry, 'porthole_wg_peer_sockets', 'UDP sockets on the WireGuard port connected to one online device each.', [], () => [{ labels: {}, value: read().open }]);
  collectedCounter(registry, 'porthole_wg_peer_socket_datagrams_total', 'Datagrams through the per-device sockets, by direction.', ['direction'], () => [
    { labels: { direction: 'rx' }, value: read().received },
    { labels: { direction: 'tx' }, value: read().sent },
  ]);
}
