import { describe, expect, it } from 'vitest';
import { createHubMetrics } from './hub-metrics.js';
import { MetricsRegistry } from './metrics.js';

describe('MetricsRegistry', () => {
  it('renders counters, gauges and histograms in Prometheus text format, byte for byte', () => {
    const r = new MetricsRegistry();
    const c = r.counter('req_total', 'Requests.', ['status']);
    c.inc({ status: 200 });
    c.inc({ status: 200 }, 2);
    c.inc({ status: 502 });
    c.inc({ status: 200 }, -5); // ignored: counters never go down
    r.gauge('peers', 'Peers.').set(3);
    const h = r.histogram('lat_seconds', 'Latency.', [], [0.1, 1]);
    h.observe(0.05);
    h.observe(0.1);
    h.observe(0.5);
    h.observe(7);
    expect(r.render()).toBe(
      [
        '# HELP req_total Requests.',
        '# TYPE req_total counter',
        'req_total{status="200"} 3',
        'req_total{status="502"} 1',
        '# HELP peers Peers.',
        '# TYPE peers gauge',
        'peers 3',
        '# HELP lat_seconds Latency.',
        '# TYPE lat_seconds histogram',
        'lat_seconds_bucket{le="0.1"} 2',
        'lat_seconds_bucket{le="1"} 3',
        'lat_seconds_bucket{le="+Inf"} 4',
        'lat_seconds_sum 7.65',
        'lat_seconds_count 4',
        '',
      ].join('\n'),
    );
  });

  it('escapes label values and reads collected gauges at scrape time', () => {
    const r = new MetricsRegistry();
    r.counter('x_total', 'X.', ['reason']).inc({ reason: 'a "quoted"\nline\\' });
    let n = 1;
    r.gauge('queue', 'Q.').collect(() => n);
    n = 42;
    const text = r.render();
    expect(text).toContain('x_total{reason="a \\"quoted\\"\\nline\\\\"} 1');
    expect(text).toContain('queue 42');
  });

  it('shares a metric asked for twice and refuses a type clash or a bad name', () => {
    const r = new MetricsRegistry();
    expect(r.counter('a_total', 'A.')).toBe(r.counter('a_total', 'A.'));
    expect(() => r.gauge('a_total', 'A.')).toThrow(/already registered/);
    expect(() => r.counter('bad-name', 'B.')).toThrow(/invalid metric name/);
    expect(() => r.histogram('h', 'H.', ['le'])).toThrow(/invalid label/);
  });

  it('a throwing collector drops only its own samples', () => {
    const r = new MetricsRegistry();
    r.gauge('broken', 'B.').collect(() => {
      throw new Error('db down');
    });
    r.counter('fine_total', 'F.').inc();
    expect(r.render()).toContain('fine_total 1');
  });

  it('creates the hub metric set', () => {
    const m = createHubMetrics();
    m.proxyRequests.inc({ status: 200, kind: 'http' });
    m.drops.inc({ reason: 'smuggling' });
    const text = m.registry.render();
    expect(text).toContain('porthole_proxy_requests_total{status="200",kind="http"} 1');
    expect(text).toContain('porthole_drops_total{reason="smuggling"} 1');
    expect(text).toContain('# TYPE porthole_proxy_request_duration_seconds histogram');
  });
});
