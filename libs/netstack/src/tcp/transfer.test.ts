// Bulk transfer between two stacks over the simulated link with a seeded fault injector:
// 64 MiB each way at once, SHA-256 identical, under loss, reordering, duplication and jitter,
// within a bound of simulated time: on this 10 ms, 1 Gbit/s path a window stuck at one segment
// moves 137 KB/s (64 MiB in 8 minutes), one stuck at the initial window 1.4 MB/s (50 s).
import { describe, expect, it } from 'vitest';
import { SimNetwork, type FaultConfig } from '../testing/sim-network.js';
import { StreamEndpoint } from '../testing/stream-endpoint.js';

const MIB = 1024 * 1024;
/** 1 Gbit/s with a 1 MB queue: cwnd meets a bottleneck instead of growing without bound. */
const LINK: FaultConfig = { delayMs: 5, bytesPerMs: 125_000, queueBytes: 1_000_000 };

function transfer(seed: number, faults: FaultConfig, aToB: number, bToA: number) {
  console.log(`seed ${seed} faults ${JSON.stringify(faults)}`);
  const net = new SimNetwork(seed, faults);
  const a = net.addStack({ address: '100.64.0.1' });
  const b = net.addStack({ address: '100.64.0.2' });
  let server: StreamEndpoint | undefined;
  b.listen(80, (conn) => {
    server = new StreamEndpoint(b, conn, () => net.now, { sendBytes: bToA, seed: seed + 1 });
  });
  const conn = a.connect('100.64.0.2', 80, net.now);
  const client = new StreamEndpoint(a, conn, () => net.now, { sendBytes: aToB, seed: seed + 2 });
  // Simulated time until every byte arrived both ways, then until both sides closed (TIME-WAIT).
  net.run(() => server !== undefined && server.bytesReceived === aToB && client.bytesReceived === bToA);
  const dataMs = net.now;
  const finished = net.run(() => a.connectionCount === 0 && b.connectionCount === 0);
  return { net, a, b, client, server: server!, finished, dataMs };
}

describe('bulk transfer over a lossy link (seeded)', () => {
  // Bounds: the seeded runs take 0.95 s, 39 s, 107 s and 112 s; the lossy ones follow the
  // Mathis bound (MSS/RTT * 1.22/sqrt(p): 13 Mbit/s at 1% loss), so a drop in throughput shows.
  const cases: Array<[string, number, FaultConfig, number]> = [
    ['clean link', 101, LINK, 2_000],
    ['1% loss', 102, { ...LINK, loss: 0.01 }, 60_000],
    ['5% loss', 103, { ...LINK, loss: 0.05 }, 150_000],
    ['reordering, duplication and jitter with 1% loss', 104, { ...LINK, loss: 0.01, reorder: 0.03, reorderDelayMs: 4, duplicate: 0.02, jitterMs: 3 }, 150_000],
  ];
  for (const [name, seed, faults, maxDataMs] of cases) {
    it(`${name}: 64 MiB each way arrive intact in bounded simulated time and both sides close cleanly`, () => {
      const { net, a, b, client, server, finished, dataMs } = transfer(seed, faults, 64 * MIB, 64 * MIB);
      console.log(`data complete at ${dataMs.toFixed(0)} ms simulated`);
      expect(dataMs).toBeLessThan(maxDataMs);
      expect(finished).toBe(true);
      expect(client.error).toBeUndefined();
      expect(server.error).toBeUndefined();
      expect(server.bytesReceived).toBe(64 * MIB);
      expect(client.bytesReceived).toBe(64 * MIB);
      expect(server.receivedDigest).toBe(client.sentDigest);
      expect(client.receivedDigest).toBe(server.sentDigest);
      // Connection tables are empty (TIME-WAIT expired) and no timer is left behind.
      expect(a.connectionCount + b.connectionCount).toBe(0);
      expect(a.stats.internalErrors + b.stats.internalErrors).toBe(0);
      // Full-sized segments, never above the 1420-byte MTU even with SACK blocks on data segments.
      expect(net.largestPacket).toBe(1420);
      if (faults.loss) {
        expect(net.packetsDropped).toBeGreaterThan(0);
        expect(a.stats.tcp.retransmittedSegments + b.stats.tcp.retransmittedSegments).toBeGreaterThan(0);
      }
    });
  }
});
