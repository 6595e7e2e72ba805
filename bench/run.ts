// `npm run bench [-- name…]`: runs every bench/*.bench.ts (or the named ones), prints one table and
// writes the rows as JSON under bench/results/. Not part of `npm test`.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatTable, writeResults, type Bench, type BenchResult } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

if (files.length === 0) {
  console.error(`no benchmarks match ${wanted.join(', ') || '(all)'} in ${here}`);
  process.exit(1);
}

const rows: BenchResult[] = [];
for (const file of files) {
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { default: Bench };
  const suite = file.replace(/\.bench\.ts$/, '');
  console.error(`# ${suite}`);
  try {
    rows.push(...(await mod.default((line) => console.error(`  ${line}`))));
  } catch (err) {
    console.error(`  ${suite} failed: ${(err as Error).stack ?? err}`);
    process.exitCode = 1;
  }
}

console.log(formatTable(rows));
console.log(`\nwritten: ${writeResults(join(here, 'results'), rows)}`);
