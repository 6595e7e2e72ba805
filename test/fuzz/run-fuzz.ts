// The long hub fuzzing run (`npm run fuzz`, default 1,000,000 inputs): the kit of the CI test at
// full length. Prints the seed, progress, the count of inputs and every failure (the first 50);
// exits 1 on any failure or any changed table. Options: --inputs N, --seed S, --edge-share F,
// --concurrency C, --postgres (a fresh PostgreSQL database instead of PGlite: several times faster).
import { parseArgs } from 'node:util';
import { startFuzzHub } from './fuzz-hub.js';
import { runFuzz } from './fuzz-kit.js';

const { values } = parseArgs({
  options: { inputs: { type: 'string' }, seed: { type: 'string' }, 'edge-share': { type: 'string' }, concurrency: { type: 'string' }, postgres: { type: 'boolean' } },
});
const inputs = Number(values.inputs ?? 1_000_000);
const seed = Number(values.seed ?? Math.floor(Math.random() * 2 ** 31));
const edgeShare = Number(values['edge-share'] ?? 0.2);
const concurrency = Number(values.concurrency ?? 8);
const driver = values.postgres ? 'postgres' : 'pglite';

console.log(`hub fuzz: seed ${seed}, ${inputs} inputs, ${Math.round(edgeShare * 100)}% raw on the socket, ${driver} (rerun with --seed ${seed})`);
const f = await startFuzzHub({ driver });
const started = performance.now();
try {
  const report = await runFuzz(f, {
    seed,
    inputs,
    edgeShare,
    concurrency,
    onProgress: (done) => {
      const rate = done / ((performance.now() - started) / 1000);
      if (done % 50_000 === 0) console.log(`  ${done} inputs, ${Math.round(rate)}/s`);
    },
  });
  console.log(`hub fuzz: ${report.inputs} inputs in ${report.seconds.toFixed(0)} s`);
  console.log('  by kind:', JSON.stringify(report.byKind));
  console.log('  by status:', JSON.stringify(report.byStatus));
  console.log(`  access log entries added: ${report.accessLogAdded} (refused device-host inputs: ${report.deviceHostEdgeInputs})`);
  console.log(`  tables changed: ${JSON.stringify(report.changedTables)}`);
  console.log(`  failures: ${report.failures.length}`);
  for (const failure of report.failures) console.log(`  - [${failure.input.kind}] ${failure.input.summary} → ${failure.problem}`);
  const ok = report.failures.length === 0 && Object.keys(report.changedTables).length === 0 && report.accessLogAdded <= report.deviceHostEdgeInputs;
  process.exitCode = ok ? 0 : 1;
} finally {
  await f.close();
}
