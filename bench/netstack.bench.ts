// Bulk TCP throughput of the userspace stack, in one run next to its baseline:
//  - ours: netstack ↔ netstack over our WireGuard on loopback UDP, two processes
//    (bench/fixtures/netstack-bench-peer.ts), clean and with 1% loss injected on the receive path;
//    the same over plain loopback UDP without encryption, and two stacks in one process in memory;
//  - kernel: Linux TCP (iperf3) over two wireguard-go peers in two network namespaces joined by a
//    veth pair, clean and with 1% loss (nftables numgen on the receiving side);
//  - small request/response exchanges (200-byte request, 1 KB response written as head + body on
//    noDelay sockets) between two stacks in memory, 1 and 16 connections;
//  - node:http keep-alive GETs in memory, the page streamed as five res.write() calls and end()
//    (node:http corks the response, the socket's writev sends it as full segments), 1 and 16
//    connections, with the server's segments per response.
// The receiving side of each bulk row reports its reads ('data' events) per MiB: data arriving in
// a burst of datagrams reaches the reader as one chunk.
// Bulk rows are Mbit/s of application payload; the kernel rows are the baseline the ratio compares
// to. NETSTACK_BENCH_CASES=memory runs only the in-process cases (quick, no root).
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createMemoryLink, type TcpSocket } from '@porthole/netstack';
import { decodeKey, encodeKey, generatePrivateKey, publicKeyFromPrivate } from '@porthole/wireguard';
import { stopProcess } from '../test/support/netns.js';
import { unmetRequirements } from '../test/support/requirements.js';
import { startWireGuardGoPair } from '../test/support/wireguard-go-pair.js';
import type { BenchResult } from './harness.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const TSX = `${REPO}node_modules/.bin/tsx`;
const PEER = `${REPO}bench/fixtures/netstack-bench-peer.ts`;
const MB = 1024 * 1024;
const BYTES = Number(process.env.NETSTACK_BENCH_MB ?? 400) * MB;
const SECONDS = Number(process.env.NETSTACK_BENCH_SECONDS ?? 8);

type Message = { event: string; [k: string]: unknown };

function startPeer(env: Record<string, string>): { child: ChildProcess; next: (event: string) => Promise<Message> } {
  const child = spawn(TSX, [PEER], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const messages: Message[] = [];
  const waiters: Array<{ event: string; resolve: (m: Message) => void; reject: (e: Error) => void }> = [];
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = JSON.parse(line) as Message;
    const i = waiters.findIndex((w) => w.event === m.event || m.event === 'error');
    if (i >= 0) {
      const w = waiters.splice(i, 1)[0]!;
      if (m.event === 'error') w.reject(new Error(String(m.message)));
      else w.resolve(m);
    } else messages.push(m);
  });
  child.once('exit', (code) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`peer exited (${code}): ${stderr}`));
  });
  return {
    child,
    next: (event) => {
      const i = messages.findIndex((m) => m.event === event);
      if (i >= 0) return Promise.resolve(messages.splice(i, 1)[0]!);
      return new Promise((resolve, reject) => waiters.push({ event, resolve, reject }));
    },
  };
}

/** Our stack over our WireGuard (or plain UDP) between two processes; returns Mbit/s. */
async function ours(mode: 'wg' | 'udp', loss: number, log: (l: string) => void): Promise<{ mbps: number; note: string }> {
  const serverKey = generatePrivateKey();
  const clientKey = generatePrivateKey();
  const base = 40000 + Math.floor(Math.random() * 20000);
  const common = { MODE: mode, BYTES: String(BYTES), SEED: '7' };
  const server = startPeer({
    ...common,
    ROLE: 'server',
    WG_PORT: String(base),
    PEER_PORT: String(base + 1),
    TUNNEL_IP: '10.99.0.1',
    PEER_TUNNEL_IP: '10.99.0.2',
    LOSS: String(loss),
    WG_PRIVATE_KEY: encodeKey(serverKey),
    PEER_PUBLIC_KEY: encodeKey(publicKeyFromPrivate(clientKey)),
  });
  const client = startPeer({
    ...common,
    ROLE: 'client',
    WG_PORT: String(base + 1),
    PEER_PORT: String(base),
    TUNNEL_IP: '10.99.0.2',
    PEER_TUNNEL_IP: '10.99.0.1',
    LOSS: '0',
    WG_PRIVATE_KEY: encodeKey(clientKey),
    PEER_PUBLIC_KEY: encodeKey(publicKeyFromPrivate(serverKey)),
  });
  try {
    await server.next('ready');
    const result = await server.next('result');
    const mbps = ((result.bytes as number) * 8) / ((result.ms as number) / 1000) / 1e6;
    const tcp = result.stats as Record<string, number>;
    const mib = (result.bytes as number) / MB;
    const readsPerMb = (result.reads as number) / mib;
    const done = await client.next('done').catch(() => undefined);
    const cpu = `CPU per MiB: receiver ${((result.cpuMs as number) / mib).toFixed(1)} ms${done ? `, sender ${((done.cpuMs as number) / mib).toFixed(1)} ms` : ''}`;
    const note = `${mib.toFixed(0)} MiB in ${((result.ms as number) / 1000).toFixed(2)} s; receiver sent ${tcp.segmentsOut} segments for ${tcp.segmentsIn} in, ${readsPerMb.toFixed(0)} reads per MiB; ${cpu}`;
    log(`ours ${mode} loss ${loss}: ${mbps.toFixed(0)} Mbit/s (${note})`);
    return { mbps, note };
  } finally {
    await Promise.all([stopProcess(server.child, 1000), stopProcess(client.child, 1000)]);
  }
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Two stacks in this process over the in-memory link (real timers), no encryption, no syscalls. */
async function inMemory(log: (l: string) => void, bytes = Math.min(BYTES, 200 * MB)): Promise<{ mbps: number; cpuMsPerMb: number; readsPerMb: number }> {
  const link = createMemoryLink({ address: '10.98.0.1' }, { address: '10.98.0.2' });
  const cpuStart = cpuMs();
  let reads = 0;
  try {
    const done = new Promise<number>((resolve) => {
      link.b.listen(5001, (s) => {
        const start = performance.now();
        let n = 0;
        s.on('data', (c: Buffer) => {
          n += c.length;
          reads++;
        });
        s.on('end', () => resolve(((n * 8) / ((performance.now() - start) / 1000)) / 1e6));
      });
    });
    const sock = link.a.connect({ host: '10.98.0.2', port: 5001, noDelay: true });
    const chunk = Buffer.alloc(64 * 1024, 1);
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        sent += chunk.length;
        if (!sock.write(chunk)) return void sock.once('drain', pump);
      }
      sock.end();
    };
    sock.once('connect', pump);
    const mbps = await done;
    const cpuMsPerMb = (cpuMs() - cpuStart) / (bytes / MB);
    const readsPerMb = reads / (bytes / MB);
    log(`in-memory: ${mbps.toFixed(0)} Mbit/s, ${cpuMsPerMb.toFixed(2)} ms CPU per MiB (both stacks), ${readsPerMb.toFixed(0)} reads per MiB`);
    return { mbps, cpuMsPerMb, readsPerMb };
  } finally {
    link.close();
  }
}

const REQUEST_BYTES = 200;
const RESPONSE_HEAD_BYTES = 150;
const RESPONSE_BODY_BYTES = 850;

/**
 * `connections` clients each run `exchanges` sequential request/response exchanges against one
 * server over the in-memory link; returns exchanges per second and CPU µs per exchange (both stacks).
 */
async function requestResponse(connections: number, exchanges: number, log?: (l: string) => void): Promise<{ perSecond: number; cpuUsPerExchange: number }> {
  const link = createMemoryLink({ address: '10.98.0.1' }, { address: '10.98.0.2' });
  const request = Buffer.alloc(REQUEST_BYTES, 0x71);
  const head = Buffer.alloc(RESPONSE_HEAD_BYTES, 0x68);
  const body = Buffer.alloc(RESPONSE_BODY_BYTES, 0x62);
  const responseBytes = RESPONSE_HEAD_BYTES + RESPONSE_BODY_BYTES;
  link.b.listen(80, (socket) => {
    socket.setNoDelay(true);
    let pending = 0;
    socket.on('data', (chunk: Buffer) => {
      for (pending += chunk.length; pending >= REQUEST_BYTES; pending -= REQUEST_BYTES) {
        socket.write(head);
        socket.write(body);
      }
    });
    socket.on('end', () => socket.end());
  });
  const cpuStart = cpuMs();
  const start = performance.now();
  try {
    const client = () =>
      new Promise<void>((resolve, reject) => {
        const socket = link.a.connect({ host: '10.98.0.2', port: 80, noDelay: true });
        let left = exchanges;
        let received = 0;
        socket.on('error', reject);
        socket.once('connect', () => socket.write(request));
        socket.on('data', (chunk: Buffer) => {
          for (received += chunk.length; received >= responseBytes; received -= responseBytes) {
            if (--left > 0) socket.write(request);
            else socket.end();
          }
        });
        socket.on('close', () => (left === 0 ? resolve() : reject(new Error(`closed with ${left} exchanges left`))));
      });
    await Promise.all(Array.from({ length: connections }, client));
    const total = connections * exchanges;
    const perSecond = total / ((performance.now() - start) / 1000);
    const cpuUsPerExchange = ((cpuMs() - cpuStart) * 1000) / total;
    log?.(`request/response, ${connections} connection(s): ${perSecond.toFixed(0)} exchanges/s, ${cpuUsPerExchange.toFixed(1)} µs CPU per exchange`);
    return { perSecond, cpuUsPerExchange };
  } finally {
    link.close();
  }
}

/** A page of ~4 KB streamed by node:http as five writes and end(): head, chunk framing, body pieces. */
const PAGE_PIECES = Array.from({ length: 5 }, (_, i) => `<p>${String(i).repeat(790)}</p>\n`);

/**
 * `connections` keep-alive clients (one http.Agent) each run `requests` sequential GETs of the
 * streamed page against node:http, both over the in-memory link with noDelay; returns requests per
 * second, CPU µs per request (both stacks and both http ends) and segments the server sent per
 * response (data and any pure ACKs).
 */
async function httpRequests(
  connections: number,
  requests: number,
  log?: (l: string) => void,
): Promise<{ perSecond: number; cpuUsPerRequest: number; segmentsPerResponse: number }> {
  const link = createMemoryLink({ address: '10.98.0.1' }, { address: '10.98.0.2' });
  const server = http.createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    for (const piece of PAGE_PIECES) res.write(piece);
    res.end('</html>\n');
  });
  link.b.listen(80, (socket) => server.emit('connection', socket), { noDelay: true });
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  (agent as unknown as { createConnection: () => TcpSocket }).createConnection = () => link.a.connect({ host: '10.98.0.2', port: 80, noDelay: true });
  const get = () =>
    new Promise<void>((resolve, reject) => {
      http
        .get({ host: '10.98.0.2', port: 80, path: '/', agent }, (res) => {
          res.on('data', () => {});
          res.on('end', resolve);
        })
        .on('error', reject);
    });
  const segmentsStart = link.b.stats.tcp.segmentsOut;
  const cpuStart = cpuMs();
  const start = performance.now();
  try {
    await Promise.all(
      Array.from({ length: connections }, async () => {
        for (let i = 0; i < requests; i++) await get();
      }),
    );
    const total = connections * requests;
    const perSecond = total / ((performance.now() - start) / 1000);
    const cpuUsPerRequest = ((cpuMs() - cpuStart) * 1000) / total;
    const segmentsPerResponse = (link.b.stats.tcp.segmentsOut - segmentsStart) / total;
    log?.(
      `node:http in memory, ${connections} connection(s): ${perSecond.toFixed(0)} requests/s, ${cpuUsPerRequest.toFixed(1)} µs CPU per request, ${segmentsPerResponse.toFixed(2)} server segments per response`,
    );
    return { perSecond, cpuUsPerRequest, segmentsPerResponse };
  } finally {
    agent.destroy();
    server.close();
    link.close();
  }
}

/** The in-process cases, each after a short warm-up so the figures are of optimised code. */
async function memoryRows(suite: string, log: (l: string) => void): Promise<BenchResult[]> {
  // Warm-ups of the same size: CPU time counts the JIT's compiler threads too.
  await inMemory(() => {}, 50 * MB);
  const bulk = await inMemory(log);
  await requestResponse(1, 5000);
  const one = await requestResponse(1, 5000, log);
  await requestResponse(16, 1000);
  const sixteen = await requestResponse(16, 1000, log);
  await httpRequests(1, 1000);
  const http1 = await httpRequests(1, 2000, log);
  await httpRequests(16, 100);
  const http16 = await httpRequests(16, 200, log);
  const httpNote = (r: { cpuUsPerRequest: number; segmentsPerResponse: number }) =>
    `${r.cpuUsPerRequest.toFixed(1)} µs CPU per request, ${r.segmentsPerResponse.toFixed(2)} server segments per response`;
  return [
    {
      suite,
      case: 'netstack in-memory, one process',
      value: bulk.mbps,
      unit: 'Mbit/s',
      note: `${bulk.cpuMsPerMb.toFixed(2)} ms CPU per MiB, ${bulk.readsPerMb.toFixed(0)} reads per MiB`,
    },
    { suite, case: 'request/response in memory, 1 connection', value: one.perSecond, unit: 'exchanges/s', note: `${one.cpuUsPerExchange.toFixed(1)} µs CPU per exchange` },
    { suite, case: 'request/response in memory, 16 connections', value: sixteen.perSecond, unit: 'exchanges/s', note: `${sixteen.cpuUsPerExchange.toFixed(1)} µs CPU per exchange` },
    { suite, case: 'node:http streamed page in memory, 1 connection', value: http1.perSecond, unit: 'requests/s', note: httpNote(http1) },
    { suite, case: 'node:http streamed page in memory, 16 connections', value: http16.perSecond, unit: 'requests/s', note: httpNote(http16) },
  ];
}

/** Linux TCP (iperf3) over two wireguard-go peers in two namespaces joined by a veth pair. */
async function kernel(loss: number, log: (l: string) => void): Promise<number> {
  const pair = await startWireGuardGoPair({ prefixes: ['phba', 'phbb'], underlay: '192.168.77', tunnel: ['10.97.0.1', '10.97.0.2'] });
  const { nsA, nsB } = pair;
  let iperf: ChildProcess | undefined;
  try {
    if (loss > 0) {
      // Drop a fraction of the encrypted datagrams arriving at the receiver (numgen: no netem here).
      const pct = Math.round(loss * 100);
      await nsA.exec('nft', ['add', 'table', 'inet', 'benchloss']);
      await nsA.exec('nft', ['add', 'chain', 'inet', 'benchloss', 'in', '{ type filter hook input priority 0 ; policy accept ; }']);
      await nsA.exec('nft', ['add', 'rule', 'inet', 'benchloss', 'in', 'udp', 'dport', '51820', 'numgen', 'random', 'mod', '100', '<', String(pct), 'drop']);
    }
    iperf = nsA.spawn('iperf3', ['-s', '-B', '10.97.0.1', '-1']);
    for (let i = 0; i < 50; i++) {
      const { stdout } = await nsA.exec('ss', ['-tlnH']);
      if (stdout.includes('10.97.0.1:5201')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const { stdout } = await nsB.exec('iperf3', ['-c', '10.97.0.1', '-t', String(SECONDS), '-J'], { timeoutMs: (SECONDS + 30) * 1000 });
    const report = JSON.parse(stdout) as { end: { sum_received: { bits_per_second: number } } };
    const mbps = report.end.sum_received.bits_per_second / 1e6;
    log(`kernel+wireguard-go loss ${loss}: ${mbps.toFixed(0)} Mbit/s`);
    return mbps;
  } finally {
    if (iperf) await stopProcess(iperf, 1000);
    await pair.close();
  }
}

export default async function bench(log: (line: string) => void): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];
  const suite = 'netstack';
  if (process.env.NETSTACK_BENCH_CASES === 'memory') return memoryRows(suite, log);
  const unmet = unmetRequirements({ root: true, tools: ['wireguard-go', 'wg', 'ip', 'iperf3', 'nft'] });
  let kernelClean: number | undefined;
  let kernelLoss: number | undefined;
  if (unmet.length === 0) {
    kernelClean = await kernel(0, log);
    kernelLoss = await kernel(0.01, log);
    rows.push({ suite, case: 'kernel TCP over wireguard-go (iperf3)', value: kernelClean, unit: 'Mbit/s' });
    rows.push({ suite, case: 'kernel TCP over wireguard-go, 1% loss', value: kernelLoss, unit: 'Mbit/s' });
  } else {
    log(`kernel baseline skipped: ${unmet.join('; ')}`);
  }
  // Each loss rate against the kernel's figure at the same rate, when the kernel baseline ran.
  const overWireGuard = [
    { loss: 0, name: 'netstack over our WireGuard (2 processes)', kernelName: 'kernel TCP over wireguard-go', kernel: kernelClean },
    { loss: 0.01, name: 'netstack over our WireGuard, 1% loss', kernelName: 'kernel TCP over wireguard-go, 1% loss', kernel: kernelLoss },
  ];
  for (const { loss, name, kernelName, kernel } of overWireGuard) {
    const wg = await ours('wg', loss, log);
    const baseline = kernel === undefined ? {} : { baseline: { case: kernelName, value: kernel } };
    rows.push({ suite, case: name, value: wg.mbps, unit: 'Mbit/s', ...baseline, note: wg.note });
  }
  const udp = await ours('udp', 0, log);
  rows.push({ suite, case: 'netstack over plain loopback UDP (no crypto)', value: udp.mbps, unit: 'Mbit/s', note: udp.note });
  rows.push(...(await memoryRows(suite, log)));
  return rows;
}
