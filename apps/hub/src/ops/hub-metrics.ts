// The hub's named metrics in one place, so the proxy, the WireGuard endpoint and the access log
// update the same series and /metrics documents them (issue 5 "Operations").
import { type Counter, type Gauge, type Histogram, MetricsRegistry } from './metrics.js';

export interface HubMetrics {
  registry: MetricsRegistry;
  /** Proxied HTTP requests by response status code (and `kind`: http, websocket, tcp). */
  proxyRequests: Counter;
  /** Time from request start to response end, seconds. */
  proxyLatency: Histogram;
  /** Requests, connections or packets refused or dropped, by reason (`smuggling`, `header_overflow`…). */
  drops: Counter;
  /** Bytes through the proxy by direction (`in` = from the visitor, `out` = to the visitor). */
  proxyBytes: Counter;
  /** Open upgraded connections (WebSocket passthrough and /.porthole/tcp). */
  openTunnels: Gauge;
  /** Access-log entries written, dropped (queue full) or failed (database down). */
  accessLog: Counter;
  /** WireGuard: configured peers and peers with a handshake in the last 3 minutes (data plane fills in). */
  wgPeers: Gauge;
  /** WireGuard handshakes completed (data plane increments). */
  wgHandshakes: Counter;
  /** WireGuard bytes by direction (`rx`, `tx`). */
  wgBytes: Counter;
}

export function createHubMetrics(registry = new MetricsRegistry()): HubMetrics {
  return {
    registry,
    proxyRequests: registry.counter('porthole_proxy_requests_total', 'Proxied requests by status code and kind.', ['status', 'kind']),
    proxyLatency: registry.histogram('porthole_proxy_request_duration_seconds', 'Proxied request duration until the response ended.', ['kind']),
    drops: registry.counter('porthole_drops_total', 'Requests, connections or packets refused or dropped, by reason.', ['reason']),
    proxyBytes: registry.counter('porthole_proxy_bytes_total', 'Bytes through the proxy (in = from visitors, out = to visitors).', ['direction']),
    openTunnels: registry.gauge('porthole_proxy_open_tunnels', 'Open WebSocket passthroughs and TCP tunnels.', ['kind']),
    accessLog: registry.counter('porthole_access_log_entries_total', 'Access-log entries by outcome (written, dropped, failed).', ['outcome']),
    wgPeers: registry.gauge('porthole_wg_peers', 'WireGuard peers by state (configured, active).', ['state']),
    wgHandshakes: registry.counter('porthole_wg_handshakes_total', 'Completed WireGuard handshakes.'),
    wgBytes: registry.counter('porthole_wg_bytes_total', 'WireGuard transport bytes by direction.', ['direction']),
  };
}
