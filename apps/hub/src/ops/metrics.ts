// Prometheus metrics through prom-client: each hub has a registry for its own series; the process's
// series (CPU, memory, file descriptors, GC, event-loop lag) come from prom-client's default
// collectors, registered once per process and served by every hub in it.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';

export { Counter, Gauge, Histogram, Registry, type LabelValues };

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** Seconds; from 1 ms to 60 s, suited to proxied request latency. */
export const DEFAULT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

let processRegistry: Registry | undefined;

/**
 * The process's own series. One set per process: the GC observer and the event-loop monitor they
 * start would otherwise be started again by every hub a test process creates.
 */
export function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** The exposition /metrics answers: the process's series, then the hub's. */
export async function renderMetrics(registry: Registry): Promise<string> {
  const [own, hub] = await Promise.all([processMetrics().metrics(), registry.metrics()]);
  // prom-client 15 writes NaN as "Nan" (the event-loop means before their first sample); the
  // format says "NaN", and parsers stricter than Prometheus's own refuse anything else.
  return `${own}\n${hub}`.replace(/ Nan$/gm, ' NaN');
}

/** One series read at scrape time. */
export interface Sample<L extends string> {
  labels: LabelValues<L>;
  value: number;
}
type Read<L extends string> = () => number | Sample<L>[];

/** The reader's rows, or undefined when it throws (the series then keep their last samples). */
function tryRead<L extends string>(read: Read<L>): Sample<L>[] | undefined {
  try {
    const got = read();
    return typeof got === 'number' ? [{ labels: {}, value: got }] : got;
  } catch {
    return undefined;
  }
}

/**
 * prom-client options for a series read at scrape time: each scrape replaces the samples with the
 * reader's rows. Instrumenting twice (a test reusing a registry) replaces the reader instead of throwing.
 */
function readAtScrape<L extends string, M extends Counter<L> | Gauge<L>>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: Read<L>,
  apply: (metric: M, sample: Sample<L>) => void,
) {
  registry.removeSingleMetric(name);
  return {
    name,
    help,
    labelNames,
    registers: [registry],
    collect(this: M) {
      const rows = tryRead(read);
      if (!rows) return;
      this.reset();
      for (const row of rows) apply(this, row);
    },
  };
}

/**
 * A counter whose value a component already keeps (bytes through a socket, drops by reason), read
 * at scrape time instead of being updated on the hot path. The value must never go down. A reader
 * that throws keeps the last samples: a stale counter, not a reset Prometheus would misread.
 */
export function collectedCounter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], read: Read<L>): Counter<L> {
  const apply = (c: Counter<L>, { labels, value }: Sample<L>) => {
    if (value >= 0) c.inc(labels, value);
  };
  return new Counter<L>(readAtScrape(registry, name, help, labelNames, read, apply));
}

/** A gauge read at scrape time (peer counts, open connections); a reader that throws keeps the last samples. */
export function collectedGauge<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], read: Read<L>): Gauge<L> {
  const apply = (g: Gauge<L>, { labels, value }: Sample<L>) => {
    if (!Number.isNaN(value)) g.set(labels, value);
  };
  return new Gauge<L>(readAtScrape(registry, name, help, labelNames, read, apply));
}

/** The value of one series of a counter or gauge (0 when it has none yet): for tests and checks. */
export async function metricValue<L extends string>(metric: Counter<L> | Gauge<L>, labels: LabelValues<L> = {}): Promise<number> {
  const { values } = await metric.get();
  const want = Object.entries(labels).map(([k, v]) => [k, String(v)] as const);
  const found = values.find((s) => {
    const have = s.labels as Record<string, string | number | undefined>;
    return Object.keys(have).length === want.length && want.every(([k, v]) => String(have[k]) === v);
  });
  return found?.value ?? 0;
}
