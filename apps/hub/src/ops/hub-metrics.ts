// The hub's named metrics in one place, so the proxy, the WireGuard endpoint and the access log
// update the same series and /metrics documents them. Series read at scrape time from counters a
// component keeps anyway live beside that component (dataplane-metrics.ts, ws-transport-metrics.ts).
import { Counter, DEFAULT_BUCKETS, Gauge, Histogram, Registry, renderMetrics } from './metrics.js';

export interface HubMetrics {
  /** The hub's own series (prom-client); /metrics adds the process's (renderMetrics). */
  registry: Registry;
  /** The whole /metrics exposition: process, GC and event-loop series, then the hub's. */
  render(): Promise<string>;
  /** Proxied HTTP requests by response status code (and `kind`: http, websocket, tcp). */
  proxyRequests: Counter<'status' | 'kind'>;
  /** Time from request start to response end, seconds, by kind. */
  proxyLatency: Histogram<'kind'>;
  /** Requests, connections or packets refused or dropped, by reason (`smuggling`, `header_overflow`…). */
  drops: Counter<'reason'>;
  /** Bytes through the proxy by direction (`in` = from the visitor, `out` = to the visitor). */
  proxyBytes: Counter<'direction'>;
  /** Open upgraded connections (WebSocket passthrough and /.porthole/tcp). */
  openTunnels: Gauge<'kind'>;
  /** Access-log entries written, dropped (queue full) or failed (database down). */
  accessLog: Counter<'outcome'>;
  /** WireGuard handshakes completed (data plane increments). */
  wgHandshakes: Counter;
}

export function createHubMetrics(registry = new Registry()): HubMetrics {
  const registers = [registry];
  return {
    registry,
    render: () => renderMetrics(registry),
    proxyRequests: new Counter({ name: 'porthole_proxy_requests_total', help: 'Proxied requests by status code and kind.', labelNames: ['status', 'kind'], registers }),
    proxyLatency: new Histogram({
      name: 'porthole_proxy_request_duration_seconds',
      help: 'Proxied request duration until the response ended.',
      labelNames: ['kind'],
      buckets: DEFAULT_BUCKETS,
      registers,
    }),
    drops: new Counter({ name: 'porthole_drops_total', help: 'Requests, connections or packets refused or dropped, by reason.', labelNames: ['reason'], registers }),
    proxyBytes: new Counter({ name: 'porthole_proxy_bytes_total', help: 'Bytes through the proxy (in = from visitors, out = to visitors).', labelNames: ['direction'], registers }),
    openTunnels: new Gauge({ name: 'porthole_proxy_open_tunnels', help: 'Open WebSocket passthroughs and TCP tunnels.', labelNames: ['kind'], registers }),
    accessLog: new Counter({ name: 'porthole_access_log_entries_total', help: 'Access-log entries by outcome (written, dropped, failed).', labelNames: ['outcome'], registers }),
    wgHandshakes: new Counter({ name: 'porthole_wg_handshakes_total', help: 'Completed WireGuard handshakes.', registers }),
  };
}
