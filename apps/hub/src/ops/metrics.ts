// A small metrics registry rendering the Prometheus text exposition format 0.0.4
// (prometheus.io/docs/instrumenting/exposition_formats): counters, gauges (set or collected on
// scrape) and cumulative histograms, each with optional labels. Hot-path updates are a Map lookup.

type LabelValues = Record<string, string | number>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

type Collector = () => number | Array<{ labels: LabelValues; value: number }>;

abstract class Metric {
  protected readonly series = new Map<string, { labels: LabelValues; value: number }>();
  private collector: Collector | undefined;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    if (!NAME_RE.test(name)) throw new Error(`metrics: invalid metric name "${name}"`);
    for (const l of labelNames) if (!LABEL_RE.test(l) || l === 'le') throw new Error(`metrics: invalid label "${l}" on ${name}`);
  }
  abstract readonly type: 'counter' | 'gauge' | 'histogram';

  protected key(labels: LabelValues | undefined): string {
    if (this.labelNames.length === 0) return '';
    return this.labelNames.map((n) => String(labels?.[n] ?? '')).join('\u0000');
  }

  protected labelText(labels: LabelValues | undefined, extra?: string): string {
    const parts = this.labelNames.map((n) => `${n}="${escapeLabel(String(labels?.[n] ?? ''))}"`);
    if (extra) parts.push(extra);
    return parts.length === 0 ? '' : `{${parts.join(',')}}`;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${this.name} ${this.type}`];
    lines.push(...this.samples());
    return lines.join('\n');
  }

  /**
   * Reads the value at scrape time instead of being updated (peer counts, queue lengths, or for a
   * counter a cumulative count some component already keeps — it must never go down).
   */
  collect(fn: Collector): this {
    this.collector = fn;
    return this;
  }

  protected samples(): string[] {
    if (this.collector) {
      let got: ReturnType<Collector>;
      try {
        got = this.collector();
      } catch {
        return []; // a failing collector must not break the whole scrape
      }
      this.series.clear();
      if (typeof got === 'number') this.series.set(this.key(undefined), { labels: {}, value: got });
      else for (const s of got) this.series.set(this.key(s.labels), { labels: { ...s.labels }, value: s.value });
    }
    return [...this.series.values()].map((s) => `${this.name}${this.labelText(s.labels)} ${formatNumber(s.value)}`);
  }
}

export class Counter extends Metric {
  readonly type = 'counter' as const;
  inc(labels?: LabelValues, by = 1): void {
    if (!(by >= 0)) return; // counters only go up; a negative or NaN increment is a bug, not data
    const k = this.key(labels);
    const s = this.series.get(k);
    if (s) s.value += by;
    else this.series.set(k, { labels: { ...labels }, value: by });
  }
  get(labels?: LabelValues): number {
    return this.series.get(this.key(labels))?.value ?? 0;
  }
}

export class Gauge extends Metric {
  readonly type = 'gauge' as const;
  set(value: number, labels?: LabelValues): void {
    this.series.set(this.key(labels), { labels: { ...labels }, value });
  }
  inc(labels?: LabelValues, by = 1): void {
    const k = this.key(labels);
    const s = this.series.get(k);
    if (s) s.value += by;
    else this.series.set(k, { labels: { ...labels }, value: by });
  }
  dec(labels?: LabelValues, by = 1): void {
    this.inc(labels, -by);
  }
  get(labels?: LabelValues): number {
    return this.series.get(this.key(labels))?.value ?? 0;
  }
}

export class Histogram extends Metric {
  readonly type = 'histogram' as const;
  private readonly hist = new Map<string, { labels: LabelValues; counts: number[]; sum: number; count: number }>();
  constructor(name: string, help: string, labelNames: readonly string[], readonly buckets: readonly number[]) {
    super(name, help, labelNames);
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]! > buckets[i - 1]!)) throw new Error(`metrics: buckets of ${name} must increase`);
    }
  }
  observe(value: number, labels?: LabelValues): void {
    if (Number.isNaN(value)) return;
    const k = this.key(labels);
    let h = this.hist.get(k);
    if (!h) {
      h = { labels: { ...labels }, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.hist.set(k, h);
    }
    // Stored per bucket, made cumulative when rendered: one increment per observation.
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]!) i++;
    if (i < this.buckets.length) h.counts[i]!++;
    h.sum += value;
    h.count++;
  }
  count(labels?: LabelValues): number {
    return this.hist.get(this.key(labels))?.count ?? 0;
  }
  protected override samples(): string[] {
    const out: string[] = [];
    for (const h of this.hist.values()) {
      let acc = 0;
      this.buckets.forEach((b, i) => {
        acc += h.counts[i]!;
        out.push(`${this.name}_bucket${this.labelText(h.labels, `le="${formatNumber(b)}"`)} ${acc}`);
      });
      out.push(`${this.name}_bucket${this.labelText(h.labels, 'le="+Inf"')} ${h.count}`);
      out.push(`${this.name}_sum${this.labelText(h.labels)} ${formatNumber(h.sum)}`);
      out.push(`${this.name}_count${this.labelText(h.labels)} ${h.count}`);
    }
    return out;
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  private add<M extends Metric>(m: M): M {
    const existing = this.metrics.get(m.name);
    if (existing) {
      // Components may ask for the same metric twice (two proxies in one test); share it.
      if (existing.type !== m.type) throw new Error(`metrics: ${m.name} already registered as ${existing.type}`);
      return existing as M;
    }
    this.metrics.set(m.name, m);
    return m;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }
  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets: readonly number[] = DEFAULT_BUCKETS): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  /** The whole registry in Prometheus text format, ending with a newline. */
  render(): string {
    return `${[...this.metrics.values()].map((m) => m.render()).join('\n')}\n`;
  }
}

/** Seconds; from 1 ms to 60 s, suited to proxied request latency. */
export const DEFAULT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
