// Benchmark harness shared by every bench/*.bench.ts: a result row type, a table printer and the
// JSON writer. Figures are only ever compared within one run on one machine.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

export interface BenchResult {
  /** Which benchmark file produced the row, e.g. "wireguard". */
  suite: string;
  /** What was measured, e.g. "handshake responder". */
  case: string;
  /** The figure, e.g. 5123.4. */
  value: number;
  /** Unit of the figure, e.g. "handshakes/s", "Mbit/s", "ms". */
  unit: string;
  /** The same-run baseline this row is compared against, when there is one. */
  baseline?: { case: string; value: number };
  note?: string;
}

export type Bench = (log: (line: string) => void) => Promise<BenchResult[]>;

/** The middle value (the mean of the two middle ones for an even count): one figure from repeated runs. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

export function formatTable(rows: BenchResult[]): string {
  const header = ['suite', 'case', 'value', 'unit', 'baseline', 'ratio', 'note'];
  const body = rows.map((r) => [
    r.suite,
    r.case,
    fmt(r.value),
    r.unit,
    r.baseline ? `${fmt(r.baseline.value)} (${r.baseline.case})` : '',
    r.baseline && r.baseline.value !== 0 ? `${(r.value / r.baseline.value).toFixed(2)}x` : '',
    r.note ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export function writeResults(dir: string, rows: BenchResult[]): string {
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const doc = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem(), node: process.version },
    results: rows,
  };
  const file = join(dir, `bench-${stamp}.json`);
  writeFileSync(file, JSON.stringify(doc, null, 2));
  writeFileSync(join(dir, 'latest.json'), JSON.stringify(doc, null, 2));
  return file;
}
