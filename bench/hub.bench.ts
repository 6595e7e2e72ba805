// Hub benchmark, one run on loopback, every figure next to a same-run baseline:
//  - bulk download through the proxy (curl → hub HTTP → hub netstack → WireGuard → device process
//    → its local web server) vs the same download from that server directly, vs Linux TCP over two
//    wireguard-go peers in two namespaces (the kernel baseline);
//  - small requests at 1, 16 and 128 concurrent keep-alive clients: req/s, p50 and p99, proxy vs direct;
//  - scale: N simulated devices (real handshakes, own keys, 25 s keepalives, up to one UDP endpoint each)
//    against one hub process: its RSS and heap per device, CPU in steady state, handshake ramp
//    (fixtures/hub-scale.ts);
//  - flood: the hub under a flood of valid-mac1 initiations (test/flood/lab.ts, namespaces) at
//    20,000/s and flat out: requests to an online device (success, p50, p99) and the time a device
//    enrolling during the flood takes to come online.
// Hub, device and simulator are separate processes (bench/fixtures/hub-*.ts), as in real life.
import { execFile } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { request } from '@porthole/hub/testing';
import { encodeKey, generatePrivateKey, publicKeyFromPrivate } from '@porthole/wireguard';
import { unmetRequirements } from '../test/support/requirements.js';
import { until } from '../test/support/until.js';
import type { BenchResult } from './harness.js';
import type { JsonProcess } from '../test/support/json-process.js';
import { startChild, startHub } from './fixtures/hub-child-process.js';
import { kernelDownload } from './fixtures/hub-kernel-baseline.js';
import { floodBench } from './fixtures/hub-flood.js';
import { cpuSeconds, percentile, sleep, type CpuSample } from './fixtures/hub-measure.js';
import { scaleBench } from './fixtures/hub-scale.js';

const execFileAsync = promisify(execFile);
const SUITE = 'hub';
const MiB = 1024 * 1024;
const DOWNLOAD_BYTES = Number(process.env.HUB_BENCH_MB ?? 64) * MiB;
const LOAD_SECONDS = Number(process.env.HUB_BENCH_LOAD_SECONDS ?? 5);
const CONCURRENCY = [1, 16, 128];
/** Which parts to run (default all): `proxy`, `scale`, `flood`. */
const PARTS = (process.env.HUB_BENCH_PARTS ?? 'proxy,scale,flood').split(',');
const SERIAL = 'an30000001';
type Log = (line: string) => void;

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

async function proxyBench(log: Log): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'hub-bench-'));
  let hub: JsonProcess | undefined;
  let device: JsonProcess | undefined;
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
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.body}`);
      return JSON.parse(res.body || 'null') as Record<string, unknown>;
    };

    // Register one device the way an agent does, and make it public (no portal login in the way).
    const { token } = await api('POST', '/enrollment-tokens', { description: 'bench' });
    const privateKey = generatePrivateKey();
    const registration = await api('POST', '/devices/register', { serial: SERIAL, publicKey: encodeKey(publicKeyFromPrivate(privateKey)), enrollmentToken: token });
    await api('PATCH', `/devices/${SERIAL}`, { accessPolicy: 'public' });
    device = startChild('device', 'hub-bench-device.ts', { MODE: 'overlay', REGISTRATION: JSON.stringify(registration), PRIVATE_KEY: encodeKey(privateKey) });
    const devicePort = (await device.nextEvent('ready', 60_000)).port as number;
    // Refused connections count as not yet: the proxy may still be starting.
    await until(() => request(port, deviceHost, '/small').then((res) => res.status === 200, () => false), 'the device through the proxy', 30_000, 100);
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
    await device?.stop(5_000);
    await hub?.stop(5_000);
    await rm(dir, { recursive: true, force: true });
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
