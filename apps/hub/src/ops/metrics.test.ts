import type { AddressInfo } from 'node:net';
import { createServer, get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHealth, handleOpsRequest } from './health.js';
import { createHubMetrics } from './hub-metrics.js';
import { Registry, collectedCounter, collectedGauge, metricValue, renderMetrics } from './metrics.js';

/** One metric family of a parsed exposition. */
interface Family {
  type: string;
  help: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE_RE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`);
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const n = Number(text);
  if (text === '' || Number.isNaN(n)) throw new Error(`bad value in: ${line}`);
  return n;
}

function parseLabels(text: string | undefined, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!text) return labels;
  LABEL_RE.lastIndex = 0;
  while (LABEL_RE.lastIndex < text.length) {
    const m = LABEL_RE.exec(text);
    if (!m) throw new Error(`bad labels in: ${line}`);
    if (m[1]! in labels) throw new Error(`duplicate label ${m[1]} in: ${line}`);
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/**
 * A strict reader of the Prometheus text format 0.0.4: every sample belongs to a family declared
 * by # TYPE before it, families are contiguous and declared once, no series repeats, and each
 * histogram's buckets are cumulative with +Inf equal to _count. Throws on the first violation.
 */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  let current: string | undefined;
  const familyOf = (name: string) => {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      const base = name.slice(0, -suffix.length);
      if (name.endsWith(suffix) && ['histogram', 'summary'].includes(families.get(base)?.type ?? '')) return base;
    }
    return name;
  };
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (!new RegExp(`^${NAME}$`).test(name)) throw new Error(`bad metric name: ${line}`);
      const family = families.get(name) ?? { type: 'untyped', help: '', samples: [] };
      if (kind === 'TYPE') {
        if (family.type !== 'untyped' || family.samples.length > 0) throw new Error(`TYPE repeated or late: ${line}`);
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`bad type: ${line}`);
        family.type = rest;
      } else family.help = rest;
      families.set(name, family);
      current = name;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE_RE.exec(line);
    if (!m) throw new Error(`not a sample: ${line}`);
    const family = familyOf(m[1]!);
    if (family !== current || !families.has(family)) throw new Error(`sample outside its family's block: ${line}`);
    const labels = parseLabels(m[2], line);
    const key = `${m[1]}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`series repeated: ${line}`);
    seen.add(key);
    families.get(family)!.samples.push({ name: m[1]!, labels, value: parseValue(m[3]!, line) });
  }
  for (const [name, f] of families) {
    if (f.type !== 'histogram') continue;
    const series = new Map<string, { le: number; value: number }[]>();
    for (const s of f.samples.filter((x) => x.name === `${name}_bucket`)) {
      const { le, ...rest } = s.labels;
      const k = JSON.stringify(Object.entries(rest).sort());
      series.set(k, [...(series.get(k) ?? []), { le: parseValue(le!, name), value: s.value }]);
    }
    for (const [k, buckets] of series) {
      for (let i = 1; i < buckets.length; i++) {
        if (!(buckets[i]!.le > buckets[i - 1]!.le) || buckets[i]!.value < buckets[i - 1]!.value) throw new Error(`${name}${k}: buckets not cumulative`);
      }
      const count = f.samples.find((s) => s.name === `${name}_count` && JSON.stringify(Object.entries(s.labels).sort()) === k);
      if (buckets.at(-1)!.le !== Infinity || count?.value !== buckets.at(-1)!.value) throw new Error(`${name}${k}: +Inf bucket differs from _count`);
    }
  }
  return families;
}

const sample = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}) =>
  [...families.values()].flatMap((f) => f.samples).find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;

describe('the exposition reader used below', () => {
  it.each([
    ['a sample without a TYPE', 'x_total 1\n'],
    ['a repeated series', '# TYPE x counter\nx{a="1"} 1\nx{a="1"} 2\n'],
    ['a bad value', '# TYPE x gauge\nx one\n'],
    ['unquoted labels', '# TYPE x gauge\nx{a=1} 1\n'],
    ['buckets that shrink', '# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n'],
    ['+Inf unlike _count', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n'],
  ])('refuses %s', (_what, text) => {
    expect(() => parseExposition(text)).toThrow();
  });
});

describe('hub metrics on prom-client', () => {
  it('/metrics text is valid exposition with the process, GC and event-loop series and every hub series', async () => {
    const m = createHubMetrics();
    m.proxyRequests.inc({ status: 200, kind: 'http' });
    m.proxyRequests.inc({ status: 200, kind: 'http' });
    m.proxyRequests.inc({ status: 502, kind: 'websocket' });
    m.proxyLatency.observe({ kind: 'http' }, 0.004);
    m.proxyLatency.observe({ kind: 'http' }, 7);
    m.drops.inc({ reason: 'a "quoted"\nreason\\' });
    m.proxyBytes.inc({ direction: 'in' }, 512);
    m.openTunnels.inc({ kind: 'tcp' });
    m.accessLog.inc({ outcome: 'written' }, 3);
    m.wgHandshakes.inc();
    // Enough garbage for a scavenge, so the GC histogram has samples (it has none before one).
    let families = parseExposition(await m.render());
    for (let round = 0; round < 50 && sample(families, 'nodejs_gc_duration_seconds_count', { kind: 'minor' }) === undefined; round++) {
      let junk: object[] = [];
      for (let i = 0; i < 200_000; i++) junk.push({ i });
      junk = [];
      await new Promise((resolve) => setImmediate(resolve));
      families = parseExposition(await m.render());
    }

    const types = Object.fromEntries([...families].map(([name, f]) => [name, f.type]));
    expect(types).toMatchObject({
      porthole_proxy_requests_total: 'counter',
      porthole_proxy_request_duration_seconds: 'histogram',
      porthole_drops_total: 'counter',
      porthole_proxy_bytes_total: 'counter',
      porthole_proxy_open_tunnels: 'gauge',
      porthole_access_log_entries_total: 'counter',
      porthole_wg_handshakes_total: 'counter',
      process_cpu_seconds_total: 'counter',
      process_resident_memory_bytes: 'gauge',
      process_open_fds: 'gauge',
      nodejs_heap_size_used_bytes: 'gauge',
      nodejs_eventloop_lag_seconds: 'gauge',
      nodejs_eventloop_lag_p99_seconds: 'gauge',
      nodejs_gc_duration_seconds: 'histogram',
    });
    expect(sample(families, 'nodejs_gc_duration_seconds_count', { kind: 'minor' })).toBeGreaterThan(0);
    expect(sample(families, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample(families, 'porthole_proxy_requests_total', { status: '200', kind: 'http' })).toBe(2);
    expect(sample(families, 'porthole_proxy_requests_total', { status: '502', kind: 'websocket' })).toBe(1);
    expect(sample(families, 'porthole_proxy_request_duration_seconds_bucket', { le: '0.005', kind: 'http' })).toBe(1);
    expect(sample(families, 'porthole_proxy_request_duration_seconds_count', { kind: 'http' })).toBe(2);
    expect(sample(families, 'porthole_proxy_request_duration_seconds_sum', { kind: 'http' })).toBeCloseTo(7.004);
    expect(sample(families, 'porthole_drops_total', { reason: 'a "quoted"\nreason\\' })).toBe(1);
    expect(sample(families, 'porthole_proxy_bytes_total', { direction: 'in' })).toBe(512);
    expect(sample(families, 'porthole_proxy_open_tunnels', { kind: 'tcp' })).toBe(1);
    expect(sample(families, 'porthole_access_log_entries_total', { outcome: 'written' })).toBe(3);
    expect(sample(families, 'porthole_wg_handshakes_total')).toBe(1);
  });

  it('two hubs in one process keep their own series and share the process series', async () => {
    const a = createHubMetrics();
    const b = createHubMetrics();
    a.drops.inc({ reason: 'x' });
    expect(await metricValue(a.drops, { reason: 'x' })).toBe(1);
    expect(await metricValue(b.drops, { reason: 'x' })).toBe(0);
    expect(parseExposition(await b.render()).has('process_cpu_seconds_total')).toBe(true);
  });
});

describe('series read at scrape time', () => {
  it('counters and gauges read their source on every scrape; label sets may change between scrapes', async () => {
    const r = new Registry();
    let rows = [{ labels: { reason: 'a' }, value: 1 }];
    let open = 2;
    collectedCounter(r, 'c_total', 'C.', ['reason'], () => rows);
    collectedGauge(r, 'open_now', 'Open.', [], () => open);
    let f = parseExposition(await renderMetrics(r));
    expect(sample(f, 'c_total', { reason: 'a' })).toBe(1);
    expect(sample(f, 'open_now')).toBe(2);
    rows = [{ labels: { reason: 'b' }, value: 5 }];
    open = 0;
    f = parseExposition(await renderMetrics(r));
    expect(sample(f, 'c_total', { reason: 'a' })).toBeUndefined();
    expect(sample(f, 'c_total', { reason: 'b' })).toBe(5);
    expect(sample(f, 'open_now')).toBe(0);
  });

  it('a reader that throws breaks neither the scrape nor its series (they keep their last value)', async () => {
    const r = new Registry();
    let fail = false;
    collectedCounter(r, 'c_total', 'C.', [], () => {
      if (fail) throw new Error('db down');
      return 4;
    });
    collectedGauge(r, 'g', 'G.', [], () => {
      if (fail) throw new Error('db down');
      return 5;
    });
    let fine = 9;
    collectedCounter(r, 'fine_total', 'F.', [], () => fine);
    expect(sample(parseExposition(await renderMetrics(r)), 'c_total')).toBe(4);
    fail = true;
    fine = 10;
    const f = parseExposition(await renderMetrics(r));
    expect(sample(f, 'c_total')).toBe(4);
    expect(sample(f, 'g')).toBe(5);
    expect(sample(f, 'fine_total')).toBe(10);
  });

  it('a counter reader never makes a series go negative, and instrumenting twice replaces the reader', async () => {
    const r = new Registry();
    collectedCounter(r, 'c_total', 'C.', ['k'], () => [
      { labels: { k: 'neg' }, value: -3 },
      { labels: { k: 'ok' }, value: 2 },
    ]);
    collectedCounter(r, 'c_total', 'C.', ['k'], () => [{ labels: { k: 'ok' }, value: 7 }]);
    const f = parseExposition(await renderMetrics(r));
    expect(sample(f, 'c_total', { k: 'neg' })).toBeUndefined();
    expect(sample(f, 'c_total', { k: 'ok' })).toBe(7);
  });
});

describe('the /metrics endpoint', () => {
  const m = createHubMetrics();
  const server = createServer((req, res) => {
    if (!handleOpsRequest(req, res, req.url ?? '/', createHealth({}), m.registry)) res.writeHead(404).end();
  });
  let port = 0;
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const fetchText = (method: string) =>
    new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/metrics', method }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body }));
      }).on('error', reject);
    });

  it('answers the Prometheus content type with a body that parses, and moves with the counters', async () => {
    const before = await fetchText('GET');
    expect(before.status).toBe(200);
    expect(before.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(sample(parseExposition(before.body), 'porthole_drops_total', { reason: 'isolation' })).toBeUndefined();
    m.drops.inc({ reason: 'isolation' });
    m.drops.inc({ reason: 'isolation' });
    expect(sample(parseExposition((await fetchText('GET')).body), 'porthole_drops_total', { reason: 'isolation' })).toBe(2);
    const head = await fetchText('HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

});
