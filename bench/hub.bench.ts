// Hub benchmark (issue 5), one run on loopback, every figure next to a same-run baseline:
//  - bulk download through the proxy (curl → hub HTTP → hub netstack → WireGuard → device process
//    → its local web server) vs the same download from that server directly, vs Linux TCP over two
//    wireguard-go peers in two namespaces (the kernel baseline);
//  - small requests at 1, 16 and 128 concurrent keep-alive clients: req/s, p50 and p99, proxy vs direct;
//  - scale: N simulated devices (real handshakes, own keys, 25 s keepalives, shared UDP sockets)
//    against one hub process: its RSS and heap per device, CPU in steady state, handshake ramp;
//  - flood: the hub under a flood of valid-mac1 initiations (test/flood/lab.ts, namespaces) at
//    20,000/s and flat out: requests to an online device (success, p50, p99) and the time a device
//    enrolling during the flood takes to come online.
// Hub, device and simulator are separate processes (bench/fixtures/hub-*.ts), as in real life.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { encodeKey, generatePrivateKey, publicKeyFromPrivate } from '@porthole/wireguard';
import { freePort } from '../test/support/free-port.js';
import { unmetRequirements } from '../test/support/requirements.js';
import type { BenchResult } from './harness.js';
import { InspectorProfiler, topSelfTime } from './fixtures/cpu-profile.js';
import { startChild, type JsonChild, type Message } from './fixtures/hub-child-process.js';
import { kernelDownload } from './fixtures/hub-kernel-baseline.js';
import { floodBench } from './fixtures/hub-flood.js';
import { percentile, sleep } from './fixtures/hub-measure.js';

const execFileAsync = promisify(execFile);
const SUITE = 'hub';
const MiB = 1024 * 1024;
const DOWNLOAD_BYTES = Number(process.env.HUB_BENCH_MB ?? 64) * MiB;
const LOAD_SECONDS = Number(process.env.HUB_BENCH_LOAD_SECONDS ?? 5);
const CONCURRENCY = [1, 16, 128];
const SCALE_STEPS = (process.env.HUB_BENCH_DEVICES ?? '1000,10000,30000').split(',').map(Number);
const STEADY_SECONDS = Number(process.env.HUB_BENCH_STEADY_SECONDS ?? 25); // one keepalive period
const SIM_RATE = Number(process.env.HUB_BENCH_SIM_RATE ?? 700);
/** Which parts to run (default all): `proxy`, `scale`, `flood`. */
const PARTS = (process.env.HUB_BENCH_PARTS ?? 'proxy,scale,flood').split(',');
const SERIAL = 'an30000001';
/** WireGuard rekeys a session after REKEY_AFTER_TIME (120 s) on the next send: the next keepalive. */
const REKEY_PERIOD_S = 120 + 25 / 2;
/**
 * The rekey wave: every device rekeys on its first keepalive after 120 s, so the ramp repeats
 * 120–145 s later as a wave of handshakes. Measured (hub CPU, handshakes/s) at the largest N only
 * unless HUB_BENCH_REKEY_WINDOW=all; `0` skips it (it adds ~2.5 minutes).
 */
const REKEY_WINDOW = process.env.HUB_BENCH_REKEY_WINDOW ?? 'largest';
/** A directory: CPU profiles of the hub in the steady and rekey windows (inspector, like the visitor bench). */
const PROFILE_DIR = process.env.HUB_BENCH_PROFILE;

type Log = (line: string) => void;

interface Reply {
  status: number;
  body: Buffer;
}

function request(port: number, host: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string; agent?: http.Agent } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: { host, ...init.headers }, agent: init.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

async function until<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}


/** curl's own figures for one download: application bytes per second, as Mbit/s. */
export async function curlDownload(args: string[]): Promise<{ mbps: number; bytes: number; seconds: number }> {
  const { stdout } = await execFileAsync('curl', ['-sS', '--fail', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', ...args], { timeout: 300_000 });
  const [bytes, seconds] = stdout.trim().split(' ').map(Number) as [number, number];
  const wanted = Number(/bytes=(\d+)/.exec(args.at(-1)!)?.[1]);
  if (bytes !== wanted) throw new Error(`curl ${args.at(-1)}: got ${bytes} of ${wanted} bytes`);
  return { mbps: (bytes * 8) / seconds / 1e6, bytes, seconds };
}

/** `concurrency` keep-alive clients fetching `path` for LOAD_SECONDS (after a 1 s warm-up). */
async function load(port: number, host: string, path: string, concurrency: number): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let errors = 0;
  let measuring = false;
  let stop = false;
  const worker = async () => {
    while (!stop) {
      const start = performance.now();
      try {
        const res = await request(port, host, path, { agent });
        if (res.status !== 200) errors++;
        else if (measuring) latencies.push(performance.now() - start);
      } catch {
        errors++;
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  await sleep(1000);
  measuring = true;
  const from = performance.now();
  await sleep(LOAD_SECONDS * 1000);
  measuring = false;
  const seconds = (performance.now() - from) / 1000;
  stop = true;
  await Promise.all(workers);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors };
}

interface CpuSample {
  cpuUserUs: number;
  cpuSystemUs: number;
}
const cpuSeconds = (a: CpuSample, b: CpuSample) => (b.cpuUserUs + b.cpuSystemUs - a.cpuUserUs - a.cpuSystemUs) / 1e6;

async function startHub(dir: string, extraEnv: Record<string, string> = {}, inspectPort?: number): Promise<{ hub: JsonChild; ready: Message; adminToken: string }> {
  const adminToken = `ph_api_${randomBytes(24).toString('base64url')}`;
  const hub = startChild('hub', 'hub-bench-hub.ts', { DATA_DIR: join(dir, 'data'), HTTP_PORT: String(await freePort()), ADMIN_TOKEN: adminToken, ...extraEnv }, [
    '--expose-gc',
    ...(inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : []),
    // e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to see where the hub spends its time.
    ...(process.env.HUB_BENCH_HUB_FLAGS ?? '').split(' ').filter(Boolean),
  ]);
  try {
    return { hub, ready: await hub.next('ready', 300_000), adminToken };
  } catch (err) {
    await hub.stop();
    throw err;
  }
}

async function proxyBench(log: Log): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'hub-bench-'));
  let hub: JsonChild | undefined;
  let device: JsonChild | undefined;
  try {
    const started = await startHub(dir);
    hub = started.hub;
    const port = started.ready.httpPort as number;
    const portal = `localhost:${port}`;
    const deviceHost = `${SERIAL}.localhost:${port}`;
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await request(port, portal, `/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${started.adminToken}`, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.body.toString()}`);
      return JSON.parse(res.body.toString() || 'null') as Record<string, unknown>;
    };

    // Register one device the way an agent does, and make it public (no portal login in the way).
    const { token } = await api('POST', '/enrollment-tokens', { description: 'bench' });
    const privateKey = generatePrivateKey();
    const registration = await api('POST', '/devices/register', { serial: SERIAL, publicKey: encodeKey(publicKeyFromPrivate(privateKey)), enrollmentToken: token });
    await api('PATCH', `/devices/${SERIAL}`, { accessPolicy: 'public' });
    device = startChild('device', 'hub-bench-device.ts', { MODE: 'overlay', REGISTRATION: JSON.stringify(registration), PRIVATE_KEY: encodeKey(privateKey) });
    const devicePort = (await device.next('ready')).port as number;
    await until(async () => ((await request(port, deviceHost, '/small')).status === 200 ? true : undefined), 'the device through the proxy');
    log(`hub on 127.0.0.1:${port}, device web server on 127.0.0.1:${devicePort}, tunnel up`);

    // Bulk download.
    const proxyArgs = ['-H', `host: ${deviceHost}`, `http://127.0.0.1:${port}/download?bytes=`];
    const directArgs = [`http://127.0.0.1:${devicePort}/download?bytes=`];
    const withSize = (args: string[], bytes: number) => [...args.slice(0, -1), `${args.at(-1)}${bytes}`];
    await curlDownload(withSize(proxyArgs, MiB));
    const direct = await curlDownload(withSize(directArgs, DOWNLOAD_BYTES));
    log(`download direct: ${direct.mbps.toFixed(0)} Mbit/s`);
    const hubBefore = (await hub.ask({ cmd: 'stats' }, 'stats')) as unknown as CpuSample;
    const devBefore = (await device.ask({ cmd: 'stats' }, 'stats')) as unknown as CpuSample;
    const proxied = await curlDownload(withSize(proxyArgs, DOWNLOAD_BYTES));
    const hubAfter = (await hub.ask({ cmd: 'stats' }, 'stats')) as unknown as CpuSample;
    const devAfter = (await device.ask({ cmd: 'stats' }, 'stats')) as unknown as CpuSample;
    const hubCpu = (cpuSeconds(hubBefore, hubAfter) / proxied.seconds) * 100;
    const devCpu = (cpuSeconds(devBefore, devAfter) / proxied.seconds) * 100;
    log(`download via proxy: ${proxied.mbps.toFixed(0)} Mbit/s (hub CPU ${hubCpu.toFixed(0)}%, device CPU ${devCpu.toFixed(0)}%)`);

    const kernelUnmet = unmetRequirements({ root: true, tools: ['wireguard-go', 'wg', 'ip', 'curl'] });
    let kernel: number | undefined;
    if (kernelUnmet.length === 0) {
      kernel = (await kernelDownload(DOWNLOAD_BYTES)).mbps;
      log(`download kernel TCP over wireguard-go: ${kernel.toFixed(0)} Mbit/s`);
    } else log(`kernel baseline skipped: ${kernelUnmet.join('; ')}`);

    const size = `${DOWNLOAD_BYTES / MiB} MiB`;
    rows.push({ suite: SUITE, case: `download ${size} direct from the device server`, value: direct.mbps, unit: 'Mbit/s', note: 'curl → 127.0.0.1, no overlay' });
    if (kernel !== undefined) {
      rows.push({ suite: SUITE, case: `download ${size}, kernel TCP over wireguard-go`, value: kernel, unit: 'Mbit/s', note: 'two namespaces, veth, curl → same server' });
    }
    rows.push({
      suite: SUITE,
      case: `download ${size} through the proxy`,
      value: proxied.mbps,
      unit: 'Mbit/s',
      baseline: kernel !== undefined ? { case: 'kernel TCP over wireguard-go', value: kernel } : { case: 'direct', value: direct.mbps },
      note: `${(proxied.mbps / direct.mbps).toFixed(2)}x direct; hub CPU ${hubCpu.toFixed(0)}%, device CPU ${devCpu.toFixed(0)}% of one core`,
    });

    // Small requests.
    for (const c of CONCURRENCY) {
      const hubFrom = (await hub.ask({ cmd: 'stats' }, 'stats')) as unknown as CpuSample;
      const devFrom = (await device.ask({ cmd: 'stats' }, 'stats')) as unknown as CpuSample;
      const viaProxy = await load(port, deviceHost, '/small', c);
      const hubTo = (await hub.ask({ cmd: 'stats' }, 'stats')) as unknown as CpuSample;
      const devTo = (await device.ask({ cmd: 'stats' }, 'stats')) as unknown as CpuSample;
      // Per measured request, though the 1 s warm-up is billed too: an upper bound.
      const requests = viaProxy.rps * LOAD_SECONDS;
      // Tunnel connections the device accepted: keep-alive reuse keeps this near 0 per request.
      const dials = ((devTo as unknown as { forwarded: number }).forwarded - (devFrom as unknown as { forwarded: number }).forwarded) / requests;
      const perRequest = `hub ${((cpuSeconds(hubFrom, hubTo) * 1000) / requests).toFixed(2)} ms, device ${((cpuSeconds(devFrom, devTo) * 1000) / requests).toFixed(2)} ms CPU per request, ${dials.toFixed(2)} tunnel connections per request`;
      const viaDirect = await load(devicePort, `127.0.0.1:${devicePort}`, '/small', c);
      log(
        `c=${c}: proxy ${viaProxy.rps.toFixed(0)} req/s p50 ${viaProxy.p50.toFixed(2)} p99 ${viaProxy.p99.toFixed(2)} ms (errors ${viaProxy.errors}); ` +
          `direct ${viaDirect.rps.toFixed(0)} req/s p50 ${viaDirect.p50.toFixed(2)} p99 ${viaDirect.p99.toFixed(2)} ms (errors ${viaDirect.errors}); ${perRequest}`,
      );
      const errors = viaProxy.errors + viaDirect.errors > 0 ? `; errors proxy ${viaProxy.errors}, direct ${viaDirect.errors}` : '';
      rows.push({ suite: SUITE, case: `small GET via proxy, ${c} clients`, value: viaProxy.rps, unit: 'req/s', baseline: { case: 'direct', value: viaDirect.rps }, note: `128-byte body, keep-alive; ≤${perRequest}${errors}` });
      rows.push({ suite: SUITE, case: `small GET via proxy, ${c} clients, p50`, value: viaProxy.p50, unit: 'ms', baseline: { case: 'direct', value: viaDirect.p50 } });
      rows.push({ suite: SUITE, case: `small GET via proxy, ${c} clients, p99`, value: viaProxy.p99, unit: 'ms', baseline: { case: 'direct', value: viaDirect.p99 } });
    }
  } finally {
    await device?.stop();
    await hub?.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

interface HubStats extends CpuSample {
  wallMs: number;
  gcExposed: boolean;
  memory: NodeJS.MemoryUsage;
  peers: number;
  sessions: number;
  wgDrops: Record<string, number>;
  loopDelayMs: { p50: number; p99: number; max: number };
}

/** `ps` state, CPU and kernel wait channel of a process and its children, for a stuck-process report. */
function processState(pid: number | undefined): string {
  if (pid === undefined) return 'no pid';
  try {
    return execFileSync('sh', ['-c', `ps -o pid=,stat=,pcpu=,wchan=,time= -p ${pid} --ppid ${pid}`], { encoding: 'utf8' }).trim().replace(/\s+/g, ' ');
  } catch {
    return 'gone';
  }
}

interface ScaleStep {
  devices: number;
  connected: number;
  rampSeconds: number;
  hubCpuPerHandshakeMs: number;
  idle: HubStats;
  steady: HubStats;
  cpuPercent: number;
  keepalivesPerSecond: number;
  seedMs: number;
  rekey?: RekeyWindow;
}

interface RekeyWindow {
  seconds: number;
  cpuPercent: number;
  handshakesPerSecond: number;
  loopDelayP99Ms: number;
}

/** Writes a profile of `run` to `file` and logs its top self time (when HUB_BENCH_PROFILE is set). */
async function profiled<T>(port: number | undefined, file: string, log: Log, run: () => Promise<T>): Promise<T> {
  if (!PROFILE_DIR || port === undefined) return run();
  const profiler = await InspectorProfiler.connect(port);
  try {
    await profiler.start();
    const result = await run();
    const profile = await profiler.stop();
    mkdirSync(PROFILE_DIR, { recursive: true });
    const path = join(PROFILE_DIR, file);
    writeFileSync(path, JSON.stringify(profile));
    log(`  profile ${path}:`);
    for (const t of topSelfTime(profile, 5, `${process.cwd()}/`, await profiler.positionMapper())) {
      log(`    ${t.percent.toFixed(1).padStart(5)}%  ${t.selfMs.toFixed(0).padStart(6)} ms  ${t.where}`);
    }
    return result;
  } finally {
    profiler.close();
  }
}

async function scaleStep(devices: number, log: Log, rekeyWindow = false): Promise<ScaleStep> {
  const dir = await mkdtemp(join(tmpdir(), 'hub-scale-'));
  let sim: JsonChild | undefined;
  let hub: JsonChild | undefined;
  try {
    const keysFile = join(dir, 'keys.txt');
    if (devices > 0) {
      sim = startChild('simulator', 'hub-device-sim.ts', { COUNT: String(devices), KEYS_FILE: keysFile, RATE: String(SIM_RATE) }, (process.env.HUB_BENCH_SIM_FLAGS ?? '').split(' ').filter(Boolean));
      await sim.next('keys', 300_000);
    }
    const inspectPort = PROFILE_DIR && devices > 0 ? await freePort() : undefined;
    const started = await startHub(dir, devices > 0 ? { SEED_KEYS_FILE: keysFile } : {}, inspectPort);
    hub = started.hub;
    const stats = async (gc: boolean) => (await hub!.ask({ cmd: 'stats', gc }, 'stats', 120_000)) as unknown as HubStats;
    await sleep(2000);
    const idle = await stats(true);
    let rampSeconds = 0;
    let connected = 0;
    let hubCpuPerHandshakeMs = NaN;
    let keepalivesPerSecond = 0;
    let rampStartMs = 0;
    let rampEndMs = 0;
    if (sim) {
      let last: Message | undefined;
      let lastAt = Date.now();
      sim.onMessage = (m) => {
        if (m.event !== 'progress') return;
        last = m;
        lastAt = Date.now();
      };
      const progress = setInterval(() => last && log(`  N=${devices}: started ${last.started}, connected ${last.connected}, handshakes ${last.handshakes}`), 10_000);
      const rampStart = await stats(false);
      rampStartMs = performance.now();
      sim.child.stdin!.write(`${JSON.stringify({ cmd: 'start', hubPublicKey: started.ready.publicKey, hubEndpoint: `127.0.0.1:${started.ready.wgPort}`, hubTunnelIp: started.ready.hubTunnelIp })}\n`);
      const rampBudgetMs = (devices / SIM_RATE) * 3000 + 90_000;
      // The simulator reports every second; long silence means it is stuck or hopelessly overloaded.
      let watchdog: NodeJS.Timeout | undefined;
      const silent = new Promise<never>((_, reject) => {
        watchdog = setInterval(() => {
          if (Date.now() - lastAt > 30_000) reject(new Error(`simulator silent for 30 s (${processState(sim!.child.pid)})`));
        }, 1000);
      });
      try {
        rampSeconds = ((await Promise.race([sim.next('connected', rampBudgetMs), silent])).ms as number) / 1000;
        connected = devices;
      } catch (err) {
        connected = Number(last?.connected ?? 0);
        rampSeconds = rampBudgetMs / 1000;
        log(`  N=${devices}: only ${connected} connected: ${(err as Error).message.split('\n')[0]}`);
      } finally {
        clearInterval(progress);
        clearInterval(watchdog);
      }
      const rampEnd = await stats(false);
      rampEndMs = performance.now();
      hubCpuPerHandshakeMs = (cpuSeconds(rampStart, rampEnd) * 1000) / Math.max(1, connected);
      await sleep(5000);
    }
    // An overloaded simulator may not answer: then the window has no keepalive count, nothing else lost.
    const simStats = async () => (sim ? await sim.ask({ cmd: 'stats' }, 'stats', 10_000).catch(() => undefined) : undefined);
    const from = await stats(false);
    const simFrom = await simStats();
    await profiled(inspectPort, `hub-scale-${devices}-steady.cpuprofile`, log, () => sleep((devices > 0 ? STEADY_SECONDS : 10) * 1000));
    const simTo = await simStats();
    const steady = await stats(true);
    const seconds = (steady.wallMs - from.wallMs) / 1000;
    if (simFrom && simTo) keepalivesPerSecond = ((simTo.keepalives as number) - (simFrom.keepalives as number)) / seconds;
    const cpuPercent = (cpuSeconds(from, steady) / seconds) * 100;
    log(
      `N=${devices}: ${steady.sessions}/${steady.peers} peers with a session, RSS ${(steady.memory.rss / MiB).toFixed(0)} MiB, ` +
        `heap ${(steady.memory.heapUsed / MiB).toFixed(0)} MiB, CPU ${cpuPercent.toFixed(1)}% (${keepalivesPerSecond.toFixed(0)} keepalives/s), ` +
        `loop delay p99 ${steady.loopDelayMs.p99.toFixed(1)} ms, drops ${JSON.stringify(steady.wgDrops)}`,
    );
    let rekey: RekeyWindow | undefined;
    if (sim && rekeyWindow && connected < devices) log(`N=${devices}: no rekey window (the ramp did not finish, so there is no wave to time)`);
    if (sim && rekeyWindow && connected === devices) {
      // The wave: from 120 s after the first handshake to 145 s (a keepalive period) after the last, plus slack.
      const waveFrom = rampStartMs + 120_000;
      const waveTo = rampEndMs + 150_000;
      await sleep(Math.max(0, waveFrom - performance.now()));
      const hubFrom = await stats(false);
      const simAt = await simStats();
      await profiled(inspectPort, `hub-scale-${devices}-rekey.cpuprofile`, log, () => sleep(Math.max(1000, waveTo - performance.now())));
      const simEnd = await simStats();
      const hubTo = await stats(false);
      const seconds = (hubTo.wallMs - hubFrom.wallMs) / 1000;
      const handshakes = simAt && simEnd ? (simEnd.handshakes as number) - (simAt.handshakes as number) : NaN;
      rekey = { seconds, cpuPercent: (cpuSeconds(hubFrom, hubTo) / seconds) * 100, handshakesPerSecond: handshakes / seconds, loopDelayP99Ms: hubTo.loopDelayMs.p99 };
      log(
        `N=${devices} rekey wave: ${rekey.handshakesPerSecond.toFixed(0)} handshakes/s over ${seconds.toFixed(0)} s, hub CPU ${rekey.cpuPercent.toFixed(1)}%, ` +
          `loop delay p99 ${rekey.loopDelayP99Ms.toFixed(1)} ms, ${hubTo.sessions}/${hubTo.peers} sessions`,
      );
    }
    return { devices, connected, rampSeconds, hubCpuPerHandshakeMs, idle, steady, cpuPercent, keepalivesPerSecond, seedMs: started.ready.seedMs as number, ...(rekey ? { rekey } : {}) };
  } finally {
    await sim?.stop();
    await hub?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function scaleBench(log: Log): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];
  const base = await scaleStep(0, log);
  const baseRss = base.steady.memory.rss;
  const baseHeap = base.steady.memory.heapUsed;
  rows.push({
    suite: SUITE,
    case: 'scale: hub with no devices, RSS',
    value: baseRss / MiB,
    unit: 'MiB',
    note: `heap ${(baseHeap / MiB).toFixed(1)} MiB, CPU ${base.cpuPercent.toFixed(1)}%`,
  });
  for (const [i, n] of SCALE_STEPS.entries()) {
    let step: ScaleStep;
    try {
      step = await scaleStep(n, log, REKEY_WINDOW === 'all' || (REKEY_WINDOW !== '0' && i === SCALE_STEPS.length - 1));
    } catch (err) {
      log(`scale N=${n} failed: ${(err as Error).message}`);
      rows.push({ suite: SUITE, case: `scale N=${n}`, value: NaN, unit: '-', note: `failed: ${(err as Error).message.split('\n')[0]}` });
      break;
    }
    const m = step.steady.memory;
    const perDevice = (bytes: number, baseline: number) => (bytes - baseline) / n / 1024;
    const partial = step.connected < n ? `; only ${step.connected}/${n} connected` : '';
    rows.push({
      suite: SUITE,
      case: `scale N=${n}: hub RSS`,
      value: m.rss / MiB,
      unit: 'MiB',
      baseline: { case: 'no devices', value: baseRss / MiB },
      note: `${step.steady.sessions}/${step.steady.peers} sessions; idle with N peers loaded ${(step.idle.memory.rss / MiB).toFixed(0)} MiB; external+arrayBuffers ${((m.external + m.arrayBuffers) / MiB).toFixed(0)} MiB (PGlite)${partial}`,
    });
    rows.push({
      suite: SUITE,
      case: `scale N=${n}: RSS per device`,
      value: perDevice(m.rss, baseRss),
      unit: 'KiB',
      note: 'vs the no-device hub; RSS moves by tens of MiB between runs (PGlite, V8 pages): meaningful at large N only',
    });
    rows.push({
      suite: SUITE,
      case: `scale N=${n}: JS heap per device`,
      value: perDevice(m.heapUsed, baseHeap),
      unit: 'KiB',
      note: `heap ${(m.heapUsed / MiB).toFixed(0)} MiB after GC${step.steady.gcExposed ? '' : ' (no --expose-gc: not collected)'}; idle (no sessions) ${perDevice(step.idle.memory.heapUsed, baseHeap).toFixed(2)} KiB`,
    });
    rows.push({
      suite: SUITE,
      case: `scale N=${n}: hub CPU, steady state`,
      value: step.cpuPercent,
      unit: '% of a core',
      baseline: { case: 'no devices', value: base.cpuPercent },
      note: `${STEADY_SECONDS} s window: ${step.keepalivesPerSecond.toFixed(0)} keepalives/s in, status flush every 10 s; loop delay p99 ${step.steady.loopDelayMs.p99.toFixed(1)} ms`,
    });
    const rekeyPercent = (n / REKEY_PERIOD_S) * step.hubCpuPerHandshakeMs / 10;
    rows.push({
      suite: SUITE,
      case: `scale N=${n}: handshake ramp`,
      value: step.connected / step.rampSeconds,
      unit: 'handshakes/s',
      note: `${step.connected} devices in ${step.rampSeconds.toFixed(1)} s (simulator paced at ≤${SIM_RATE}/s); hub ${step.hubCpuPerHandshakeMs.toFixed(2)} ms CPU per handshake → rekeys every ~2 min add ~${rekeyPercent.toFixed(1)}% CPU; seeded ${n} rows in ${(step.seedMs / 1000).toFixed(1)} s`,
    });
    if (step.rekey) {
      rows.push({
        suite: SUITE,
        case: `scale N=${n}: hub CPU, rekey wave`,
        value: step.rekey.cpuPercent,
        unit: '% of a core',
        baseline: { case: 'steady state', value: step.cpuPercent },
        note: `${step.rekey.seconds.toFixed(0)} s window 120 s after the ramp: ${step.rekey.handshakesPerSecond.toFixed(0)} handshakes/s (all devices rekey every ~${REKEY_PERIOD_S.toFixed(0)} s: ${(n / REKEY_PERIOD_S).toFixed(0)}/s spread evenly); loop delay p99 ${step.rekey.loopDelayP99Ms.toFixed(1)} ms`,
      });
    }
    if (step.connected < n) {
      log(`stopping the scale series at N=${n}: the machine did not connect all devices in time`);
      break;
    }
  }
  return rows;
}

export default async function hubBench(log: Log): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];
  // Other work on the machine skews every figure here: say how busy it was.
  log(`load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores`);
  if (PARTS.includes('proxy')) rows.push(...(await proxyBench(log)));
  if (PARTS.includes('scale')) rows.push(...(await scaleBench(log)));
  if (PARTS.includes('flood')) rows.push(...(await floodBench(log)));
  log(`load average at end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  return rows;
}
