// The allow-list against the real in-process hub: an agent started with
// `--expose 2222=127.0.0.1:<local port>` is reachable on overlay port 2222 from the hub's netstack and
// through the proxy's `/.porthole/tcp` WebSocket (bytes intact both ways); a port that is not exposed
// is refused by the agent's RST (ECONNREFUSED at the hub, 502 at the WebSocket endpoint).
import { createHash } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, createWebSocketStream } from 'ws';
import { startAgentHarness, type AgentHarness } from './support/agent-harness.js';
import { startHubHarness, until, type HubHarness } from './support/hub-harness.js';
import { seededBytes, seededRandom } from '@porthole/wireguard/testing';

const SERIAL = 'an40000001';
const SEED = 0x2222;
const BANNER = 'SSH-2.0-porthole-test\r\n';

let hub: HubHarness;
let agent: AgentHarness;
let sshLike: net.Server;
let tunnelIp: string;

/** Deterministic bytes from the shared seeded PRNG, so a failure can be reproduced; the seed is printed. */
const payloadFrom = (seed: number, n: number): Buffer => Buffer.from(seededBytes(seededRandom(seed))(n));

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  // An SSH-like service on the device's loopback: a banner, then it echoes.
  sshLike = net.createServer((s) => {
    s.write(BANNER);
    s.pipe(s);
  });
  await new Promise<void>((r) => sshLike.listen(0, '127.0.0.1', () => r()));
  const localPort = (sshLike.address() as AddressInfo).port;

  hub = await startHubHarness();
  const token = await hub.api('POST', '/enrollment-tokens', { description: 'allow-list', maxUses: 1 });
  agent = await startAgentHarness({
    hubUrl: hub.portalUrl,
    serial: SERIAL,
    enrollmentToken: token.json.token,
    expose: [{ port: 2222, host: '127.0.0.1', targetPort: localPort }],
  });
  await until(() => agent.agent.status().phase === 'online', 'the agent online', 15_000);
  tunnelIp = agent.agent.status().tunnelIp!;
  console.log(`allow-list: seed ${SEED}, overlay 2222 -> 127.0.0.1:${localPort}, device ${tunnelIp}`);
});

afterAll(async () => {
  await agent?.close();
  await hub?.close();
  sshLike?.close();
});

/** Banner plus the echo of `payload`, read from a duplex until complete. */
function exchange(stream: NodeJS.ReadWriteStream & { destroy(): void }, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const want = BANNER.length + payload.length;
    const chunks: Buffer[] = [];
    let got = 0;
    stream.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= want) {
        stream.destroy();
        resolve(Buffer.concat(chunks));
      }
    });
    stream.on('error', reject);
    stream.write(payload);
  });
}

function connectError(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = hub.hub.overlay.netstack.connect({ host: tunnelIp, port, timeoutMs: 5000 });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

describe('allow-listed TCP ports through the real hub', () => {
  it("the hub's netstack reaches the exposed port 2222 and the bytes come back intact", async () => {
    const payload = payloadFrom(SEED, 256 * 1024 + 7);
    const socket = hub.hub.overlay.netstack.connect({ host: tunnelIp, port: 2222, timeoutMs: 5000 });
    const back = await exchange(socket, payload);
    expect(back.subarray(0, BANNER.length).toString()).toBe(BANNER);
    expect(sha256(back.subarray(BANNER.length))).toBe(sha256(payload));
  });

  it('ports that are not exposed are refused with RST (ECONNREFUSED), at once', async () => {
    for (const port of [22, 2223, 8080, 443]) {
      const resetsBefore = hub.hub.overlay.netstack.stats.tcp.resetsReceived;
      expect(await connectError(port)).toBe('ECONNREFUSED');
      expect(hub.hub.overlay.netstack.stats.tcp.resetsReceived).toBeGreaterThan(resetsBefore);
    }
    // Port 80 (the web UI) stays open next to them.
    expect(await connectError(80)).toBe('connected');
  });

  it('the proxy /.porthole/tcp WebSocket forwards port 2222 and answers 502 for a port not exposed', async () => {
    const open = (port: number) =>
      new WebSocket(`ws://127.0.0.1:${hub.httpPort}/.porthole/tcp?port=${port}`, {
        headers: { host: `${SERIAL}.localhost:${hub.httpPort}`, authorization: `Bearer ${hub.adminToken}` },
      });
    const ws = open(2222);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const payload = payloadFrom(SEED + 1, 64 * 1024);
    const back = await exchange(createWebSocketStream(ws), payload);
    expect(back.subarray(0, BANNER.length).toString()).toBe(BANNER);
    expect(sha256(back.subarray(BANNER.length))).toBe(sha256(payload));

    const refused = open(22);
    const status = await new Promise<number>((resolve, reject) => {
      refused.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      refused.once('open', () => reject(new Error('a WebSocket to an unexposed port opened')));
      refused.once('error', () => {});
    });
    expect(status).toBe(502);
  });
});
