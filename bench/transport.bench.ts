// Transport benchmark: the WebSocket fallback carrier against plain UDP in the same run. One process on
// loopback: a hub-side WireGuard node (UDP socket + the hub's WebSocket carrier behind an HTTP
// server) with the hub's netstack, and the agent's real tunnel (WireGuard + netstack over the
// failover bind, transport forced to `udp` or `websocket`), also through a proxy on loopback:
// the WebSocket through an HTTP CONNECT proxy, UDP through SOCKS5 UDP ASSOCIATE. Measured over the
// overlay's TCP: a 20 MiB transfer device → hub, and 1 000 sequential 64-byte round trips (p50/p99).
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createNetstack } from '@porthole/netstack';
import { UdpBind, encodeKey, generatePrivateKey, publicKeyFromPrivate, startWireGuardNode, tai64nNow } from '@porthole/wireguard';
import { createDefaultTunnelFactory, type ProxySettings, type TransportMode } from '@porthole/agent';
import { startTestSocksServer } from '@porthole/agent/testing';
import { CompositeBind, createWsDatagramTransport } from '@porthole/hub';
import { silentLogger } from '@porthole/log';
import type { BenchResult } from './harness.js';

const TRANSFER_BYTES = 20 * 2 ** 20;
const ROUND_TRIPS = 1_000;
/** Transfers per carrier; the median is reported (the 2 shared cores make single runs noisy). */
const REPEATS = 3;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A minimal CONNECT proxy (no auth) on loopback. */
async function connectProxy(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    let head = '';
    const onData = (c: Buffer) => {
      head += c.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.off('data', onData);
      const target = head.split(' ')[1]!;
      const upstream = net.connect({ host: target.slice(0, target.lastIndexOf(':')), port: Number(target.slice(target.lastIndexOf(':') + 1)) }, () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        client.pipe(upstream).pipe(client);
      });
      upstream.setNoDelay(true);
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
    };
    client.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function measure(mode: Exclude<TransportMode, 'auto'>, log: (line: string) => void, proxy: ProxySettings | null = null) {
  const hubKey = generatePrivateKey();
  const deviceKey = generatePrivateKey();
  const devicePub = encodeKey(publicKeyFromPrivate(deviceKey));
  const udp = await UdpBind.open({ host: '127.0.0.1' });
  const ws = createWsDatagramTransport();
  const stack = createNetstack({ address: '100.64.0.1', mtuBytes: 1420, onTransmit: (p) => void hub.send(p), verifyChecksums: false });
  const hub = await startWireGuardNode({ privateKey: hubKey, bind: new CompositeBind(udp, new Map([['ws', ws]])), onPacket: (p) => stack.receive(p) });
  hub.device.addPeer({ publicKey: devicePub, allowedIps: ['100.64.0.2/32'] });
  const server = http.createServer();
  server.on('upgrade', (req, socket, head) => ws.handleUpgrade(req, socket, head, '127.0.0.1'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));

  const tunnel = await createDefaultTunnelFactory({ probeIntervalMs: 0 })({
    privateKey: deviceKey,
    registration: {
      serial: 'bench',
      tunnelIp: '100.64.0.2',
      overlayCidr: '100.64.0.0/10',
      hub: { publicKey: encodeKey(publicKeyFromPrivate(hubKey)), endpoint: `127.0.0.1:${udp.localPort}`, tunnelIp: '100.64.0.1' },
      url: 'http://bench.test/',
      persistentKeepalive: 25,
    },
    endpoint: { address: '127.0.0.1', port: udp.localPort! },
    tai64n: tai64nNow,
    now: () => Date.now(),
    logger: silentLogger,
    hubUrl: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`),
    network: { proxy, transport: mode },
  });
  // Port 9: sends TRANSFER_BYTES and closes; port 7: echo.
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  tunnel.listen(9, (s: Duplex) => {
    let left = TRANSFER_BYTES;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void s.once('drain', pump);
      }
      s.end();
    };
    pump();
  });
  tunnel.listen(7, (s: Duplex) => s.pipe(s));
  await new Promise<void>((resolve) => tunnel.onEvent((e) => e.type === 'handshake' && resolve()));

  const dial = (port: number) =>
    new Promise<Duplex>((resolve, reject) => {
      const s = stack.connect({ host: '100.64.0.2', port, timeoutMs: 10_000, noDelay: true });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });

  const rates: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    const src = await dial(9);
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      src.on('data', (c: Buffer) => (received += c.length));
      src.once('end', () => resolve());
      src.once('error', reject);
    });
    const seconds = (performance.now() - t0) / 1000;
    if (received !== TRANSFER_BYTES) throw new Error(`${mode}: received ${received} of ${TRANSFER_BYTES} bytes`);
    rates.push((TRANSFER_BYTES * 8) / seconds / 1e6);
  }
  rates.sort((a, b) => a - b);
  const mbits = rates[Math.floor(rates.length / 2)]!;

  const echo = await dial(7);
  const samples: number[] = [];
  const payload = Buffer.alloc(64, 0x61);
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const start = performance.now();
    await new Promise<void>((resolve) => {
      let got = 0;
      const onData = (c: Buffer) => {
        got += c.length;
        if (got >= payload.length) {
          echo.off('data', onData);
          resolve();
        }
      };
      echo.on('data', onData);
      echo.write(payload);
    });
    samples.push(performance.now() - start);
  }
  echo.destroy();
  samples.sort((a, b) => a - b);
  const carrier = tunnel.info().transport?.carrier;
  const label = proxy ? `${mode} via ${proxy.kind}` : mode;
  log(`${label}: carrier ${carrier}, ${rates.map((r) => r.toFixed(1)).join(' / ')} Mbit/s (median ${mbits.toFixed(1)}), rtt p50 ${percentile(samples, 50).toFixed(3)} ms p99 ${percentile(samples, 99).toFixed(3)} ms, ws datagrams rx ${ws.stats.rxDatagrams} tx ${ws.stats.txDatagrams}`);
  if (carrier !== (mode === 'udp' ? 'udp' : 'websocket')) throw new Error(`${mode}: tunnel ran on ${carrier}`);

  await tunnel.close();
  stack.close();
  await hub.close();
  await new Promise((r) => server.close(r));
  return { mbits, p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

export default async function transportBench(log: (line: string) => void): Promise<BenchResult[]> {
  const udp = await measure('udp', log);
  const ws = await measure('websocket', log);
  const connect = await connectProxy();
  const wsConnect = await measure('websocket', log, { kind: 'http', host: '127.0.0.1', port: connect.port }).finally(() => connect.close());
  const socks = await startTestSocksServer();
  const udpSocks = await measure('udp', log, { kind: 'socks5', host: '127.0.0.1', port: socks.port }).finally(() => socks.close());
  const suite = 'transport';
  const note = 'loopback, hub and agent in one process';
  const proxied = 'loopback, hub, agent and proxy in one process';
  return [
    { suite, case: '20 MiB device→hub over UDP (median of 3)', value: udp.mbits, unit: 'Mbit/s', note },
    { suite, case: '20 MiB device→hub over WebSocket (median of 3)', value: ws.mbits, unit: 'Mbit/s', baseline: { case: 'UDP', value: udp.mbits }, note },
    { suite, case: '64 B round trip p50 over UDP', value: udp.p50, unit: 'ms', note },
    { suite, case: '64 B round trip p50 over WebSocket', value: ws.p50, unit: 'ms', baseline: { case: 'UDP', value: udp.p50 }, note },
    { suite, case: '64 B round trip p99 over UDP', value: udp.p99, unit: 'ms', note },
    { suite, case: '64 B round trip p99 over WebSocket', value: ws.p99, unit: 'ms', baseline: { case: 'UDP', value: udp.p99 }, note },
    { suite, case: '20 MiB over WebSocket via HTTP CONNECT', value: wsConnect.mbits, unit: 'Mbit/s', baseline: { case: 'UDP', value: udp.mbits }, note: proxied },
    { suite, case: '20 MiB over UDP via SOCKS5 ASSOCIATE', value: udpSocks.mbits, unit: 'Mbit/s', baseline: { case: 'UDP', value: udp.mbits }, note: proxied },
    { suite, case: '64 B round trip p50 via HTTP CONNECT', value: wsConnect.p50, unit: 'ms', baseline: { case: 'UDP', value: udp.p50 }, note: proxied },
    { suite, case: '64 B round trip p50 via SOCKS5 ASSOCIATE', value: udpSocks.p50, unit: 'ms', baseline: { case: 'UDP', value: udp.p50 }, note: proxied },
  ];
}
