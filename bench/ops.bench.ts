// Operations overhead: what one log line and one metric update cost on the hub's request path, and
// what a /metrics scrape costs. Lines go to a sink that drops them, so the figures are formatting and
// redaction, not the terminal; each case is timed 5 times and the median reported.
import { performance } from 'node:perf_hooks';
import { createHubMetrics } from '@porthole/hub';
import { createLogger } from '@porthole/log';
import { median, type BenchResult } from './harness.js';

const LINES = 50_000;
const UPDATES = 1_000_000;
const SCRAPES = 200;
const REPEATS = 5;

/** Nanoseconds per call of `body(i)`, median of REPEATS runs of `n` calls. */
function nsPerCall(n: number, body: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 10_000); i++) body(i); // warm the JIT
  const runs: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const start = performance.now();
    for (let i = 0; i < n; i++) body(i);
    runs.push(((performance.now() - start) * 1e6) / n);
  }
  return median(runs);
}

export default async function bench(log: (line: string) => void): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];
  const push = (c: string, value: number, unit: string, note?: string) => {
    rows.push({ suite: 'ops', case: c, value, unit, ...(note ? { note } : {}) });
    log(`${c} = ${value.toFixed(value < 10 ? 2 : 0)} ${unit}`);
  };

  let bytes = 0;
  const sink = (line: string) => {
    bytes += line.length;
  };
  // The proxy's failure line: a child with component, four fields, one nested header object.
  const hubLog = createLogger({ level: 'info', sinks: [sink] }).child({ component: 'proxy' });
  const fields = (i: number) => ({ requestId: `r${i}`, device: 'an12345678', status: 502, failure: 'dial_timeout', headers: { accept: 'text/html', authorization: 'Bearer ph_api_x' } });
  push('hub log line (info, 5 fields, nested headers)', nsPerCall(LINES, (i) => hubLog.info('proxied request failed', fields(i))), 'ns/line');
  push('hub log line below level (debug at info)', nsPerCall(UPDATES, (i) => hubLog.debug('packet dropped', { i })), 'ns/call');
  push(
    'hub log line with an Error',
    nsPerCall(LINES, (i) => hubLog.warn('device directory unavailable', { err: new Error('connect ECONNREFUSED postgres://porthole:pw@db/porthole'), requestId: `r${i}` })),
    'ns/line',
  );
  const agentLog = createLogger({ level: 'info', sinks: [sink] }).child({ component: 'tunnel' });
  push('agent log line (info, 5 fields, nested headers)', nsPerCall(LINES, (i) => agentLog.info('handshake failed', fields(i))), 'ns/line');

  const m = createHubMetrics();
  push('metric: counter inc, one label', nsPerCall(UPDATES, () => m.drops.inc({ reason: 'unknown_device' })), 'ns/update');
  const kinds = ['http', 'websocket', 'tcp'] as const;
  const statuses = [200, 200, 200, 304, 404, 502];
  // The five updates device-proxy.ts makes per proxied request.
  push(
    'metrics per proxied request (5 updates)',
    nsPerCall(UPDATES / 5, (i) => {
      const kind = kinds[i % 3]!;
      m.proxyRequests.inc({ status: statuses[i % statuses.length]!, kind });
      m.proxyLatency.observe({ kind }, (i % 1000) / 1000);
      m.proxyBytes.inc({ direction: 'in' }, 512);
      m.proxyBytes.inc({ direction: 'out' }, 4096);
      m.drops.inc({ reason: 'dial_timeout' });
    }),
    'ns/request',
  );

  // A scrape: the process's series, the hub's, and 50 drop reasons (a busy hub's worth).
  for (let i = 0; i < 50; i++) m.drops.inc({ reason: `reason_${i}` });
  const scrape = () => m.render();
  const size = (await scrape()).length;
  const times: number[] = [];
  for (let r = 0; r < SCRAPES; r++) {
    const start = performance.now();
    await scrape();
    times.push(performance.now() - start);
  }
  push('/metrics scrape', median(times) * 1000, 'µs', `${size} bytes`);
  if (bytes === 0) throw new Error('ops bench: the loggers wrote nothing');
  return rows;
}
