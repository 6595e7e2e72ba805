// The hub cluster's lab (mandatory in CI): network namespaces with the lab's own PostgreSQL 15,
// three hub nodes as real processes sharing it, HAProxy from Debian in front, two agents behind a
// NAT and a stock wireguard-go admin peer. Scenarios: every node serves every device (20 MB intact
// through a node that does not hold it); the admin peer on node 1 reaches a device held by node 3;
// a disable on one node is refused through another within 1 s; a node with another WireGuard key
// refuses to start and one with another secret is refused by the others; a rolling restart under a
// visitor polling every 100 ms loses at most 1 %; SIGKILL of the holding node (seconds until served
// again through HAProxy, printed); a PostgreSQL outage with three nodes (online devices keep being
// served). Skips with a printed reason without root or the tools; fails in CI.
import { existsSync } from 'node:fs';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirementsMet } from '../support/requirements.js';
import { startWireGuardGo, wgGenkey, wgPubkey, type WireGuardGo } from '../support/wireguard-go.js';
import { stripWgQuick, withPrivateKey } from '../interop/fixtures/hub-wg-quick.js';
import { BIG_BYTES, DOMAIN, NODES, PORTAL, startClusterLab, type ClusterLab, type LabAgent } from './lab/cluster.js';
import { PG_BIN } from './lab/postgres.js';
import { nodeIp } from './lab/topology.js';

const ok = requirementsMet('cluster lab', {
  root: true,
  tools: ['ip', 'nft', 'haproxy', 'curl', 'wg', 'wireguard-go', 'runuser', 'sha256sum'],
  check: () => (existsSync(join(PG_BIN, 'postgres')) ? undefined : `needs the PostgreSQL 15 server in ${PG_BIN} (postgresql-15)`),
});

let lab: ClusterLab;
const url = (a: LabAgent, path: string) => `http://${a.serial}.${DOMAIN}${path}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** n (1-based) of the node named `name`. */
const nodeNumber = (name: string | null) => (name === null ? undefined : Number(/^node(\d+)$/.exec(name)?.[1]));

/** Whether node n still runs, and the end of its log (for a failure message). */
function nodeState(n: number): string {
  const node = lab.node(n);
  const state = node.exited() ? `exited (code ${String(node.process.exitCode)}, signal ${String(node.process.signalCode)})` : 'running';
  return `${state}; its log ends:\n${node.output().slice(-4000)}`;
}

async function untilValue<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs: number, stepMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

describe.skipIf(!ok)('cluster lab: three hub nodes, one PostgreSQL, HAProxy, agents behind NAT', () => {
  beforeAll(async () => {
    lab = await startClusterLab();
  }, 240_000);
  afterAll(async () => {
    await lab?.close();
  }, 60_000);

  it('every node serves every device: 20 MB intact through each node, also one that does not hold it', async () => {
    for (const a of lab.agents) {
      const holder = nodeNumber(await lab.holder(a.serial));
      expect(holder).toBeGreaterThanOrEqual(1);
      for (let n = 1; n <= NODES; n++) {
        const r = await lab.sha256(url(a, '/big.bin'), { via: n, maxTimeSeconds: 120 });
        expect({ node: n, holder, status: r.status, bytes: r.bytes, sha256: r.sha256 }).toEqual({ node: n, holder, status: 200, bytes: BIG_BYTES, sha256: a.bigSha256 });
        if (n !== holder) console.log(`cluster lab: ${a.serial} held by node ${holder}, 20 MB through node ${n} in ${r.seconds.toFixed(2)} s`);
      }
    }
    // And through the balancer.
    const viaLb = await lab.visit(url(lab.agents[0]!, '/hello.txt'));
    expect(viaLb.status).toBe(200);
    expect(viaLb.body).toBe(`hello from ${lab.agents[0]!.serial}\n`);
  }, 180_000);

  it('the admin peer on node 1 reaches a device held by node 3', async () => {
    const b = lab.agents[1]!; // registered straight at node 3
    expect(await lab.holder(b.serial)).toBe(lab.nodeName(3));
    const dev = await lab.api('GET', `/devices/${b.serial}`);
    const privateKey = await wgGenkey();
    const created = await lab.api('POST', '/admin-peers', { name: 'cluster lab laptop', publicKey: await wgPubkey(privateKey) }, 1);
    expect(created.status).toBe(201);
    let go: WireGuardGo | undefined;
    try {
      go = await startWireGuardGo(lab.net.visitor, { ifname: 'k2wg0' });
      const stripped = stripWgQuick(created.json.config);
      // On node 1, whatever node answered the API call: the endpoint is node 1's.
      const setconf = withPrivateKey(stripped.setconf, privateKey).replace(/^Endpoint = .*$/m, `Endpoint = ${nodeIp(1)}:51820`);
      const file = join(lab.dir, 'admin.conf');
      await writeFile(file, setconf, { mode: 0o600 });
      await lab.net.visitor.exec('wg', ['setconf', go.ifname, file]);
      await rm(file);
      for (const address of stripped.addresses) await lab.net.visitor.exec('ip', ['address', 'add', address, 'dev', go.ifname]);
      await lab.net.visitor.exec('ip', ['link', 'set', go.ifname, 'up', 'mtu', String(stripped.mtu ?? 1420)]);
      for (const route of stripped.routes) await lab.net.visitor.exec('ip', ['route', 'add', route, 'dev', go.ifname]);
      const body = await untilValue(
        async () => {
          const { stdout } = await lab.net.visitor.exec('curl', ['-sS', '--fail', '--max-time', '5', `http://${dev.json.tunnelIp}/hello.txt`], { timeoutMs: 10_000 });
          return stdout;
        },
        'the device over the admin peer',
        30_000,
        500,
      ).catch(async (err: Error) => {
        const ping = await lab.net.visitor.exec('ping', ['-c', '1', '-W', '2', dev.json.tunnelIp]).then((r) => r.stdout, (e: Error) => e.message);
        // Failed once in a clean-clone CI run (the admin peer's handshake with node 1 done, nothing
        // through): what each node of the path dropped, and its log, name the missing step.
        const drops = async (n: number) =>
          lab.visit(`${PORTAL}/metrics`, { via: n }).then(
            (r) => r.body.split('\n').filter((l) => /drops_total\{/.test(l)).join('\n') || `(status ${r.status}, no drop counters)`,
            (e: Error) => e.message,
          );
        throw new Error(
          `${err.message}\nwg: ${JSON.stringify(await go!.dump())}\nping: ${ping}\n` +
            `node 1 drops:\n${await drops(1)}\nnode 3 drops:\n${await drops(3)}\nnode 1 ${nodeState(1)}\nnode 3 ${nodeState(3)}`,
        );
      });
      expect(body).toBe(`hello from ${b.serial}\n`);
      const hubPeer = (await go.dump()).peers[0]!;
      expect(hubPeer.endpoint).toBe(`${nodeIp(1)}:51820`);
      expect(await lab.holder(b.serial)).toBe(lab.nodeName(3));
    } finally {
      await go?.stop();
    }
  }, 90_000);

  it('a disable on one node is refused through another within 1 s', async () => {
    const a = lab.agents[0]!;
    expect((await lab.visit(url(a, '/hello.txt'), { via: 2 })).status).toBe(200);
    const t0 = Date.now();
    expect((await lab.api('PATCH', `/devices/${a.serial}`, { status: 'disabled' }, 1)).status).toBe(200);
    const refused = await untilValue(
      async () => {
        const r = await lab.visit(url(a, '/hello.txt'), { via: 2 });
        return r.status === 403 ? Date.now() - t0 : undefined;
      },
      'node 2 to refuse the device disabled on node 1',
      5_000,
      50,
    );
    console.log(`cluster lab: disabled on node 1, refused by node 2 after ${refused} ms`);
    expect(refused).toBeLessThanOrEqual(1000);
    // Node 3 too, and enabling brings it back everywhere.
    expect((await lab.visit(url(a, '/hello.txt'), { via: 3 })).status).toBe(403);
    expect((await lab.api('PATCH', `/devices/${a.serial}`, { status: 'enabled' }, 3)).status).toBe(200);
    await untilValue(async () => ((await lab.visit(url(a, '/hello.txt'), { via: 1 })).status === 200 ? true : undefined), 'enabled again on node 1', 5_000, 50);
  }, 30_000);

  it('a node with another WireGuard key refuses to start and says why; one with another secret is refused by the others', async () => {
    const wrongKey = lab.startNode(4, { wgKeyFile: lab.wrongKeyFile, name: 'node-wrong-key' });
    const code = await new Promise<number | null>((resolve) => wrongKey.process.once('exit', (c) => resolve(c)));
    expect(code).not.toBe(0);
    expect(wrongKey.output()).toMatch(/WireGuard key|PORTHOLE_WG_KEY/i);
    expect(wrongKey.output()).not.toContain('"msg":"listening"');

    // Another secret: the node may start, but the others refuse its internal requests, so it cannot
    // serve a device it does not hold; nothing of the device reaches it.
    const wrongSecret = lab.startNode(4, { secretFile: lab.wrongSecretFile, name: 'node-wrong-secret' });
    try {
      await lab.nodeListening(4);
      const b = lab.agents[1]!;
      expect(await lab.holder(b.serial)).toBe(lab.nodeName(3));
      const r = await lab.visit(url(b, '/hello.txt'), { via: 4 });
      expect(r.status).not.toBe(200);
      expect(r.body).not.toContain('hello from');
      // Without the secret at all, the internal listener answers 401 and nothing else.
      const bare = await lab.visit(`http://${nodeIp(3)}:9080/cluster/v1/ping`);
      expect(bare.status).toBe(401);
      expect(JSON.parse(bare.body).error.code).toBe('unauthorized');
      // The holder logged the refusal.
      await lab.node(3).waitFor((l) => /secret|unauthori[sz]ed|refused/i.test(String(l.msg)) && /cluster/i.test(JSON.stringify(l)), 'node 3 to log the refused internal request', 10_000);
    } finally {
      await wrongSecret.stop(3_000);
    }
  }, 120_000);

  it('a rolling restart (SIGTERM, start again, each node) loses at most 1 % of a visitor polling every 100 ms', async () => {
    const a = lab.agents[0]!;
    let stop = false;
    const outcomes: string[] = [];
    const visitor = (async () => {
      while (!stop) {
        const started = Date.now();
        const r = await lab.visit(url(a, '/hello.txt'), { maxTimeSeconds: 5 }).catch((e: Error) => ({ status: 0, body: e.message }));
        const good = r.status === 200 && r.body === `hello from ${a.serial}\n`;
        // A failure names what answered: the hub's status page title, HAProxy's, or curl's error.
        outcomes.push(good ? 'ok' : `${r.status} ${/<title>([^<]*)<\/title>|<h1>([^<]*)<\/h1>/.exec(r.body)?.slice(1).find(Boolean) ?? r.body.slice(0, 60)}`);
        await sleep(Math.max(0, 100 - (Date.now() - started)));
      }
    })();
    try {
      for (let n = 1; n <= NODES; n++) {
        const code = await lab.node(n).stop(20_000);
        expect(code).toBe(0); // a clean SIGTERM exit, not the SIGKILL after the grace period
        lab.startNode(n);
        await lab.nodeListening(n);
        // Back in HAProxy's rotation (rise 2 × 1 s) before the next node goes.
        await sleep(3_000);
      }
    } finally {
      stop = true;
      await visitor;
    }
    const failed = outcomes.filter((o) => o !== 'ok');
    console.log(`cluster lab: rolling restart of ${NODES} nodes: ${failed.length} of ${outcomes.length} requests failed (${failed.join(', ') || 'none'})`);
    expect(outcomes.length).toBeGreaterThan(100);
    expect(failed.length / outcomes.length).toBeLessThanOrEqual(0.01);
  }, 180_000);

  it('SIGKILL of the holding node: the device is served again through HAProxy (seconds printed)', async () => {
    const a = lab.agents[0]!;
    const holder = nodeNumber(await lab.holder(a.serial))!;
    expect((await lab.visit(url(a, '/hello.txt'))).status).toBe(200);
    const t0 = Date.now();
    lab.node(holder).process.kill('SIGKILL'); // ip netns exec's child: the group goes with SIGKILL below
    try {
      process.kill(-lab.node(holder).process.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
    const servedMs = await untilValue(
      async () => {
        const r = await lab.visit(url(a, '/hello.txt'), { maxTimeSeconds: 3 });
        return r.status === 200 && r.body === `hello from ${a.serial}\n` ? Date.now() - t0 : undefined;
      },
      `${a.serial} served again after node ${holder} was killed`,
      60_000,
      100,
    );
    // The node that serves it writes its hold after the handshake, and the node answering the API
    // learns it from that write: right after the first 200 it may not know the new holder yet (it
    // answered null in a loaded CI run). It must learn it: a live node other than the killed one.
    const newHolder = await untilValue(
      async () => {
        const h = await lab.holder(a.serial).catch(() => null);
        return h !== null && h !== lab.nodeName(holder) ? h : undefined;
      },
      `a node other than node ${holder} to hold ${a.serial}`,
      15_000,
      100,
    );
    console.log(`cluster lab: node ${holder} SIGKILLed; ${a.serial} served again through HAProxy after ${(servedMs / 1000).toFixed(1)} s, now held by ${newHolder}`);
    lab.startNode(holder);
    await lab.nodeListening(holder);
  }, 120_000);

  it('a PostgreSQL outage: online devices keep being served through every node', async () => {
    // Devices in use: each node has served each device just before the database goes.
    for (const a of lab.agents) for (let n = 1; n <= NODES; n++) expect((await lab.visit(url(a, '/hello.txt'), { via: n })).status).toBe(200);
    await lab.pg.stop();
    try {
      await sleep(2_000); // every node has noticed (heartbeats fail)
      for (const a of lab.agents) {
        for (let n = 1; n <= NODES; n++) {
          // A failure says whether the node was still running and what it last logged.
          const r = await lab.visit(url(a, '/hello.txt'), { via: n, maxTimeSeconds: 10 }).catch((err: Error) => {
            throw new Error(`${err.message.slice(-300)}\nnode ${n} ${nodeState(n)}`);
          });
          expect({ serial: a.serial, node: n, status: r.status, body: r.body }, `node ${n} ${nodeState(n)}`).toEqual({ serial: a.serial, node: n, status: 200, body: `hello from ${a.serial}\n` });
        }
        const big = await lab.sha256(url(a, '/big.bin'), { maxTimeSeconds: 60 });
        expect({ serial: a.serial, status: big.status, bytes: big.bytes, sha256: big.sha256 }).toEqual({ serial: a.serial, status: 200, bytes: BIG_BYTES, sha256: a.bigSha256 });
      }
    } finally {
      await lab.pg.start();
    }
  }, 120_000);
});
