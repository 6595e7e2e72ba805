// The hub cluster on this machine, in the cluster lab's namespaces (test/cluster/lab):
// its own PostgreSQL, two hub nodes as real processes, Debian's HAProxy in front, two agents behind
// a NAT, each device registered at a different node. Figures, all small requests (a 6-byte file on
// the device) with wrk keep-alive connections from the visitor side:
//   1. through HAProxy with two nodes: both devices loaded at once (16 connections each), each
//      node holding one device (half of the requests take a cross-node hop: HAProxy round robin);
//   2. a cross-node hop against a local one: device A (held by node 1) asked straight at node 1
//      and at node 2 (which carries it to node 1), at 1 connection (p50 latency) and 16 (req/s);
//   3. through HAProxy with one node: node 2 is stopped (SIGTERM: its device moves to node 1) and
//      HAProxy sends everything to node 1; the same load as 1.
// The scaling ratio is 1 against 3. On 2 cores shared by HAProxy, wrk, PostgreSQL, the agents and
// the nodes, expect far from 2x; the figure says what a second node buys here.
// Each figure is the median of ROUNDS runs (the runs are interleaved for 1 and 2: hop, local, hop…),
// after a warm-up; the shared machine is noisy (other test runs), so compare figures of one run only.
//   CLUSTER_BENCH_SECONDS=N   seconds per wrk run (default 4)
//   CLUSTER_BENCH_ROUNDS=N    runs per figure (default 3)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requirementsMet } from '../test/support/requirements.js';
import { DOMAIN, startClusterLab, type ClusterLab } from '../test/cluster/lab/cluster.js';
import { LB_IP, nodeIp } from '../test/cluster/lab/topology.js';
import type { Bench, BenchResult } from './harness.js';
import { wrk, writeWrkScript, type WrkResult } from './fixtures/visitor-measure.js';

const SUITE = 'cluster';
const SECONDS = Number(process.env.CLUSTER_BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.CLUSTER_BENCH_ROUNDS ?? 3);

function medianBy<T>(items: T[], key: (t: T) => number): T {
  return [...items].sort((x, y) => key(x) - key(y))[Math.floor(items.length / 2)]!;
}
const PATH = '/hello.txt';

const bench: Bench = async (log) => {
  const ok = requirementsMet('cluster bench', { root: true, tools: ['ip', 'nft', 'haproxy', 'curl', 'wg', 'wrk', 'runuser'] }, false);
  if (!ok) return [];
  const dir = mkdtempSync(join(tmpdir(), 'k2-cluster-bench-'));
  const script = writeWrkScript(dir);
  let lab: ClusterLab | undefined;
  const rows: BenchResult[] = [];
  try {
    log('starting the lab: PostgreSQL, 2 nodes, HAProxy, 2 agents');
    lab = await startClusterLab({ nodes: 2, agentsVia: [1, 2], bigBytes: 1024 });
    const [a, b] = lab.agents as [ClusterLab['agents'][0], ClusterLab['agents'][0]];
    const host = (serial: string) => `${serial}.${DOMAIN}`;
    const holders = async () => `${a.serial} on ${await lab!.holder(a.serial)}, ${b.serial} on ${await lab!.holder(b.serial)}`;
    log(`holders: ${await holders()}`);
    const load = async (label: string, target: string, serials: string[], connections: number): Promise<WrkResult[]> => {
      const results = await Promise.all(serials.map((s) => wrk(lab!.net.visitor, script, `http://${target}${PATH}`, host(s), connections, SECONDS)));
      const total = results.reduce((t, r) => t + r.rps, 0);
      const errors = results.reduce((t, r) => t + r.errors, 0);
      log(`${label}: ${total.toFixed(0)} req/s (${results.map((r) => `${r.rps.toFixed(0)} req/s p50 ${r.p50Ms.toFixed(2)} ms`).join('; ')}), ${errors} errors`);
      return results;
    };

    // Warm-up: every path once (JIT, pools, the hop's connections).
    for (const [target, serials] of [[LB_IP, [a.serial, b.serial]], [nodeIp(1), [a.serial]], [nodeIp(2), [a.serial]]] as const) {
      await Promise.all(serials.map((s) => wrk(lab!.net.visitor, script, `http://${target}${PATH}`, host(s), 16, 2)));
    }
    const total = (rs: WrkResult[]) => rs.reduce((t, r) => t + r.rps, 0);

    // 1. Two nodes behind HAProxy; 2. a cross-node hop against a local one (A is held by node 1).
    const twos: WrkResult[][] = [];
    const runs = { local1: [] as WrkResult[], hop1: [] as WrkResult[], local16: [] as WrkResult[], hop16: [] as WrkResult[] };
    for (let round = 0; round < ROUNDS; round++) {
      twos.push(await load('HAProxy, 2 nodes', LB_IP, [a.serial, b.serial], 16));
      runs.hop1.push((await load('node 2 (hop to node 1), 1 connection', nodeIp(2), [a.serial], 1))[0]!);
      runs.local1.push((await load('node 1 (holds A), 1 connection', nodeIp(1), [a.serial], 1))[0]!);
      runs.hop16.push((await load('node 2 (hop to node 1), 16 connections', nodeIp(2), [a.serial], 16))[0]!);
      runs.local16.push((await load('node 1 (holds A), 16 connections', nodeIp(1), [a.serial], 16))[0]!);
    }
    const two = medianBy(twos, total);
    const twoRps = total(two);
    const local1 = medianBy(runs.local1, (r) => r.p50Ms);
    const hop1 = medianBy(runs.hop1, (r) => r.p50Ms);
    const local16 = medianBy(runs.local16, (r) => r.rps);
    const hop16 = medianBy(runs.hop16, (r) => r.rps);
    rows.push(
      { suite: SUITE, case: 'local node p50, 1 conn', value: local1.p50Ms, unit: 'ms', note: `${local1.rps.toFixed(0)} req/s` },
      { suite: SUITE, case: 'cross-node hop p50, 1 conn', value: hop1.p50Ms, unit: 'ms', baseline: { case: 'local node p50, 1 conn', value: local1.p50Ms }, note: `${hop1.rps.toFixed(0)} req/s` },
      { suite: SUITE, case: 'local node, 16 conns', value: local16.rps, unit: 'req/s', note: `p50 ${local16.p50Ms.toFixed(2)} ms` },
      { suite: SUITE, case: 'cross-node hop, 16 conns', value: hop16.rps, unit: 'req/s', baseline: { case: 'local node, 16 conns', value: local16.rps }, note: `p50 ${hop16.p50Ms.toFixed(2)} ms` },
    );

    // 3. One node: node 2 leaves (its device moves to node 1), HAProxy sends everything to node 1.
    await lab.node(2).stop(20_000);
    await lab.setBalancerNodes([1]);
    for (const deadline = Date.now() + 60_000; (await lab.holder(b.serial)) !== lab.nodeName(1); ) {
      if (Date.now() > deadline) throw new Error(`${b.serial} did not move to node 1: ${await holders()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    log(`holders: ${await holders()}`);
    await Promise.all([a.serial, b.serial].map((s) => wrk(lab!.net.visitor, script, `http://${LB_IP}${PATH}`, host(s), 16, 2)));
    const ones: WrkResult[][] = [];
    for (let round = 0; round < ROUNDS; round++) ones.push(await load('HAProxy, 1 node', LB_IP, [a.serial, b.serial], 16));
    const one = medianBy(ones, total);
    const oneRps = total(one);
    rows.push(
      { suite: SUITE, case: 'HAProxy, 1 node, 2×16 conns', value: oneRps, unit: 'req/s', note: `p50 ${one.map((r) => r.p50Ms.toFixed(2)).join('/')} ms` },
      { suite: SUITE, case: 'HAProxy, 2 nodes, 2×16 conns', value: twoRps, unit: 'req/s', baseline: { case: 'HAProxy, 1 node, 2×16 conns', value: oneRps }, note: `scaling ratio; p50 ${two.map((r) => r.p50Ms.toFixed(2)).join('/')} ms` },
    );
    return rows;
  } finally {
    await lab?.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

export default bench;
