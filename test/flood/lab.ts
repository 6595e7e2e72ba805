// The handshake-flood lab: the hub (`npm start`'s main.ts, PGlite) in its own namespace, joined by
// veth pairs to three others: `dev` (a device already online: the real agent and a web server),
// `new` (a device that enrolls during the flood) and `flood` (the flooder: valid-mac1 initiations
// from random source ports). Used by test/flood/flood-lab.test.ts (behaviour) and by
// bench/hub.bench.ts (success rate, p99, time to online).
//
//   dev 10.201.1.2 ─┐
//   new 10.201.2.2 ─┼─ hub (10.201.{1,2,3}.1, 10.200.0.1 on lo: the advertised endpoint)
//   flood 10.201.3.2┘
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeKey, encodeKey, publicKeyFromPrivate } from '@porthole/wireguard';
import { curl } from '../e2e/lab/curl.js';
import { REPO_ROOT, startService, TSX, type Service } from '../e2e/lab/service.js';
import { createNetns, run, veth, type Netns } from '../support/netns.js';
import { processCpuSeconds, threadSchedNs } from '../support/proc-stat.js';

export const HUB_IP = '10.200.0.1';
export const DOMAIN = 'flood.test';
/** The hub's ops listener (/metrics), on the hub's namespace. */
const OPS_PORT = 9090;
const ADMIN_TOKEN = `ph_api_${randomBytes(24).toString('base64url')}`;
const FLOODER = join(REPO_ROOT, 'test/flood/fixtures/flooder.ts');
const PROBER = join(REPO_ROOT, 'test/flood/fixtures/prober.ts');
// A web server for the device: answers every path with a small page and logs one JSON line.
const TARGET_SERVER = `require('node:http').createServer((q, s) => s.end('meter page '.repeat(12))).listen(8080, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'target listening' })))`;

export interface ProbeResult {
  ok: number;
  failed: number;
  latenciesMs: number[];
  errors: Record<string, number>;
  /** Epoch ms of the first request. */
  startedAtMs: number;
  /** The slowest requests: when they started (ms after the first) and how long they took. */
  slowest: { atMs: number; ms: number }[];
}

export interface FloodLab {
  readonly hub: Service;
  readonly hubNs: Netns;
  /** Registers (agent with an enrollment token) and starts a device in `dev` or `new`; resolves once it is public. */
  startDevice(where: 'dev' | 'new', serial: string): Promise<Service>;
  /** Resolves when a request through the proxy to `serial` answers 200 (polling), or rejects after `timeoutMs`. */
  waitOnline(serial: string, timeoutMs: number): Promise<void>;
  /** Starts the flooder against the hub's WireGuard port; rate 0 = as fast as it can. */
  startFlood(rate: number): Promise<Service>;
  /** COUNT requests to the device through the proxy, one every intervalMs. */
  probe(serial: string, count: number, intervalMs: number): Promise<ProbeResult>;
  /** The hub's /metrics text. */
  metrics(): Promise<string>;
  /** CPU seconds (user + system) the hub's processes have used so far. */
  hubCpuSeconds(): Promise<number>;
  /** Every thread of the hub's processes: its name, CPU ns run so far and ns spent runnable but waiting for a CPU. */
  hubThreads(): Promise<ThreadSchedStat[]>;
  close(): Promise<void>;
}

export interface ThreadSchedStat {
  tid: number;
  name: string;
  runNs: number;
  waitNs: number;
}

export interface FloodLabOptions {
  /** Node flags for the hub, e.g. --cpu-prof. */
  hubNodeArgs?: string[];
  /** More settings for the hub (e.g. PORTHOLE_WG_INGRESS_THREAD). */
  hubEnv?: Record<string, string>;
}

/** `root` and every process below it (tsx runs the hub in a child node process). */
async function processTree(root: number): Promise<number[]> {
  const { stdout } = await run('ps', ['-e', '-o', 'pid=,ppid=']);
  const rows = stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const tree = new Set([root]);
  for (let size = 0; size !== tree.size; ) {
    size = tree.size;
    for (const [pid, ppid] of rows) if (tree.has(ppid)) tree.add(pid);
  }
  return [...tree];
}

export async function createFloodLab(options: FloodLabOptions = {}): Promise<FloodLab> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => console.warn(`flood lab cleanup: ${String(err)}`));
  };
  try {
    const make = async (prefix: string) => {
      const ns = await createNetns(prefix);
      cleanups.push(() => ns.remove());
      return ns;
    };
    const hubNs = await make('flh');
    const spokes = { dev: await make('fld'), new: await make('fln'), flood: await make('flf') };
    let subnet = 1;
    for (const ns of Object.values(spokes)) {
      await veth(hubNs, `10.201.${subnet}.1/24`, ns, `10.201.${subnet}.2/24`);
      await ns.exec('ip', ['route', 'add', 'default', 'via', `10.201.${subnet}.1`]);
      subnet++;
    }
    await hubNs.exec('ip', ['addr', 'add', `${HUB_IP}/32`, 'dev', 'lo']);
    for (const ns of [spokes.dev, spokes.new]) {
      // `ip netns exec` bind-mounts /etc/netns/<name>/hosts over /etc/hosts: the agent finds the portal.
      const dir = join('/etc/netns', ns.name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'hosts'), `127.0.0.1 localhost\n${HUB_IP} ${DOMAIN}\n`);
      cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    }

    const dataDir = mkdtempSync(join(tmpdir(), 'flood-lab-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const hub = startService(hubNs, 'hub', TSX, [...(options.hubNodeArgs ?? []), 'apps/hub/src/main.ts'], {
      PORTHOLE_DOMAIN: DOMAIN,
      PORTHOLE_LISTEN_HOST: '0.0.0.0',
      PORTHOLE_HTTP_PORT: '80',
      PORTHOLE_WG_PORT: '51820',
      PORTHOLE_WG_ENDPOINT: `${HUB_IP}:51820`,
      PORTHOLE_DATA_DIR: join(dataDir, 'hub'),
      PORTHOLE_ADMIN_EMAIL: 'admin@flood.test',
      PORTHOLE_ADMIN_PASSWORD: 'flood lab admin password 0123',
      PORTHOLE_ADMIN_TOKEN: ADMIN_TOKEN,
      PORTHOLE_OPS_PORT: String(OPS_PORT),
      PORTHOLE_LOG_LEVEL: 'info', // 'listening' is an info line
      ...options.hubEnv,
    });
    cleanups.push(() => hub.stop());
    await hub.waitFor((l) => l.msg === 'listening', 'the hub to listen', 120_000);

    const api = async (method: string, path: string, body?: unknown) => {
      const reply = await curl(hubNs, `http://${DOMAIN}/api/v1${path}`, {
        method,
        resolve: { [DOMAIN]: '127.0.0.1' },
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { data: JSON.stringify(body) }),
      });
      if (reply.status >= 300) throw new Error(`${method} ${path}: ${reply.status} ${reply.body}`);
      return reply.body ? (JSON.parse(reply.body) as Record<string, unknown>) : {};
    };
    const deviceReply = (serial: string) =>
      curl(hubNs, `http://${serial}.${DOMAIN}/`, { resolve: { [`${serial}.${DOMAIN}`]: '127.0.0.1' }, maxTimeSeconds: 5 }).catch(() => ({ status: 0 }));

    return {
      hub,
      hubNs,
      async startDevice(where, serial) {
        const ns = spokes[where];
        const target = startService(ns, `${serial}-web`, process.execPath, ['-e', TARGET_SERVER], {});
        cleanups.push(() => target.stop());
        await target.waitFor((l) => l.msg === 'target listening', 'the device web server');
        const { token } = (await api('POST', '/enrollment-tokens', { description: `flood lab ${serial}` })) as { token: string };
        const agent = startService(ns, serial, TSX, ['apps/agent/src/main.ts'], {
          PORTHOLE_AGENT_HUB_URL: `http://${DOMAIN}`,
          PORTHOLE_AGENT_SERIAL: serial,
          PORTHOLE_AGENT_TARGET: 'http://127.0.0.1:8080',
          PORTHOLE_AGENT_ENROLLMENT_TOKEN: token,
          PORTHOLE_AGENT_STATE_DIR: join(dataDir, serial),
          PORTHOLE_AGENT_LISTEN: 'off',
        });
        cleanups.push(() => agent.stop());
        // Registered once the hub knows the serial; then public, so visitors need no login.
        const deadline = Date.now() + 60_000;
        for (;;) {
          const made = await api('PATCH', `/devices/${serial}`, { accessPolicy: 'public' }).then(() => true, () => false);
          if (made) break;
          if (Date.now() > deadline || agent.exited()) throw new Error(`${serial} did not register; agent log:\n${agent.output().slice(-3000)}`);
          await new Promise((r) => setTimeout(r, 200));
        }
        return agent;
      },
      async waitOnline(serial, timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        while ((await deviceReply(serial)).status !== 200) {
          if (Date.now() > deadline) throw new Error(`${serial} not online after ${timeoutMs} ms`);
          await new Promise((r) => setTimeout(r, 250));
        }
      },
      async startFlood(rate) {
        // The hub's public key is public (every device gets it); here it is read from the hub's key file.
        const publicKey = encodeKey(publicKeyFromPrivate(decodeKey(readFileSync(join(dataDir, 'hub', 'hub.key'), 'utf8').trim())));
        const flooder = startService(spokes.flood, 'flooder', TSX, [FLOODER], {
          TARGET: `${HUB_IP}:51820`,
          RESPONDER_PUBLIC_KEY: publicKey,
          RATE: String(rate),
        });
        cleanups.push(() => flooder.stop());
        await flooder.waitFor((l) => l.event === 'ready', 'the flooder', 60_000);
        return flooder;
      },
      async probe(serial, count, intervalMs) {
        const { stdout } = await hubNs.exec(
          'env',
          [`URL=http://127.0.0.1/`, `HOST=${serial}.${DOMAIN}`, `COUNT=${count}`, `INTERVAL_MS=${intervalMs}`, TSX, PROBER],
          { timeoutMs: count * intervalMs + 60_000 },
        );
        const line = stdout.split('\n').find((l) => l.includes('"event":"done"'));
        if (!line) throw new Error(`prober printed no result: ${stdout.slice(-2000)}`);
        return JSON.parse(line) as ProbeResult;
      },
      async metrics() {
        const reply = await curl(hubNs, `http://127.0.0.1:${OPS_PORT}/metrics`, {});
        if (reply.status !== 200) throw new Error(`/metrics: ${reply.status}`);
        return reply.body;
      },
      async hubCpuSeconds() {
        let seconds = 0;
        for (const pid of await processTree(hub.process.pid!)) seconds += processCpuSeconds(pid);
        return seconds;
      },
      async hubThreads() {
        const threads: ThreadSchedStat[] = [];
        for (const pid of await processTree(hub.process.pid!)) {
          for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
            try {
              const sched = threadSchedNs(pid, tid);
              if (sched) threads.push({ tid, name: readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(), ...sched });
            } catch {
              // the thread ended between the listing and the read
            }
          }
        }
        return threads;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
