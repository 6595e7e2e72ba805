// The CI share of the hub fuzzing (fuzz-kit.ts): a few thousand seeded inputs against a real hub,
// the seed printed (rerun with FUZZ_SEED=<seed>; FUZZ_INPUTS sets the count). `npm run fuzz` is
// the long run of the same kit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFuzzHub, type FuzzHub } from './fuzz-hub.js';
import { runFuzz } from './fuzz-kit.js';

const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const inputs = Number(process.env.FUZZ_INPUTS ?? 3000);

describe('hub HTTP fuzzing (seeded)', () => {
  let f: FuzzHub;
  beforeAll(async () => {
    f = await startFuzzHub();
  });
  afterAll(async () => {
    await f?.close();
  });

  it(`${inputs} inputs: a 4xx in the error shape or a well-formed answer each, nothing stored`, async () => {
    console.log(`hub fuzz: seed ${seed}, ${inputs} inputs (rerun with FUZZ_SEED=${seed})`);
    const report = await runFuzz(f, { seed, inputs });
    console.log(`hub fuzz: ${report.inputs} inputs in ${report.seconds.toFixed(1)} s`, report.byKind, report.byStatus);
    expect(report.failures, `seed ${seed}`).toEqual([]);
    expect(report.inputs).toBe(inputs);
    expect(report.byKind.edge ?? 0).toBeGreaterThan(inputs / 10);
    expect(report.byKind['api-body'] ?? 0).toBeGreaterThan(inputs / 5);
    expect(report.changedTables, `seed ${seed}`).toEqual({});
    // The one write allowed: the audit entry of a refused request on a device host.
    expect(report.accessLogAdded).toBeLessThanOrEqual(report.deviceHostEdgeInputs);
    // Still serving.
    const health = await fetch(`${f.hub.portalUrl}/healthz`);
    expect(health.status).toBe(200);
  });
});
