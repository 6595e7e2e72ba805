// Interop of our userspace TCP with the Linux kernel's TCP through WireGuard: wireguard-go on a
// TUN (10.78.0.1) in a fresh network namespace, and in a child process in the same namespace our
// WireGuard node + netstack (10.78.0.2, test/interop/fixtures/netstack-peer.ts). curl downloads
// 50 MB from node:http on our stack and uploads 20 MB to it; our http.request fetches from a
// kernel-side server. Setup and teardown are checked in both directions with `ss` and the
// kernel's TCP counters (no RSTs, nothing stuck in FIN-WAIT/CLOSING/LAST-ACK).
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeKey, encodeKey, generatePrivateKey, publicKeyFromPrivate } from '@porthole/wireguard';
import { JsonProcess } from '../support/json-process.js';
import { createNetns, stopProcess, type Netns } from '../support/netns.js';
import { requirementsMet } from '../support/requirements.js';
import { startWireGuardGo, wgGenkey, wgPubkey, type WireGuardGo } from '../support/wireguard-go.js';

const ok = requirementsMet('netstack ↔ kernel TCP interop', {
  root: true,
  tools: ['wireguard-go', 'wg', 'ip', 'curl', 'ss', 'python3', 'sha256sum'],
});

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TSX = `${REPO}node_modules/.bin/tsx`;
const FIXTURE = `${REPO}test/interop/fixtures/netstack-peer.ts`;
const GO_PORT = 51820;
const OUR_PORT = 51821;
const GO_TUNNEL = '10.78.0.1';
const OUR_TUNNEL = '10.78.0.2';
const MB = 1024 * 1024;

/** The kernel's TCP counters in the namespace (/proc/net/snmp "Tcp:" lines). */
async function kernelTcpCounters(netns: Netns): Promise<Record<string, number>> {
  const { stdout } = await netns.exec('cat', ['/proc/net/snmp']);
  const lines = stdout.split('\n').filter((l) => l.startsWith('Tcp:'));
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
}

/** TCP sockets in the namespace by state, from `ss -tan`. */
async function socketStates(netns: Netns): Promise<string[]> {
  const { stdout } = await netns.exec('ss', ['-tanH']);
  return stdout.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/)[0]!);
}

function keystream(bytes: number, seed: number): string {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, seed), Buffer.alloc(16));
  const hash = createHash('sha256');
  const zeros = Buffer.alloc(MB);
  for (let done = 0; done < bytes; done += MB) hash.update(cipher.update(zeros.subarray(0, Math.min(MB, bytes - done))));
  return hash.digest('hex');
}

describe.skipIf(!ok)('netstack interop with Linux TCP through wireguard-go', () => {
  let netns: Netns | undefined;
  let go: WireGuardGo | undefined;
  /** Our WireGuard node and netstack: JSON lines out, commands in. */
  let peer: JsonProcess | undefined;
  let httpd: ReturnType<Netns['spawn']> | undefined;
  let dir: string | undefined;
  let countersBefore: Record<string, number>;

  beforeAll(async () => {
    try {
      netns = await createNetns('phns');
      dir = await mkdtemp(join(tmpdir(), 'netstack-interop-'));
      const goPrivate = await wgGenkey();
      const goPublic = await wgPubkey(goPrivate);
      const ourPrivate = encodeKey(generatePrivateKey());
      const ourPublic = encodeKey(publicKeyFromPrivate(decodeKey(ourPrivate)));
      go = await startWireGuardGo(netns);
      await go.set({
        privateKey: goPrivate,
        listenPort: GO_PORT,
        peers: [{ publicKey: ourPublic, allowedIps: [`${OUR_TUNNEL}/32`], endpoint: `127.0.0.1:${OUR_PORT}` }],
      });
      await go.up(`${GO_TUNNEL}/24`, 1420);
      countersBefore = await kernelTcpCounters(netns);
      peer = new JsonProcess(
        'netstack peer',
        netns.spawn(TSX, [FIXTURE], {
          env: {
            ...process.env,
            WG_PRIVATE_KEY: ourPrivate,
            WG_PORT: String(OUR_PORT),
            PEER_PUBLIC_KEY: goPublic,
            PEER_ENDPOINT: `127.0.0.1:${GO_PORT}`,
            PEER_ALLOWED_IPS: `${GO_TUNNEL}/32`,
            TUNNEL_IP: OUR_TUNNEL,
          },
        }),
      );
      await peer.next((m) => m.event === 'ready', 'ready', 60_000);
    } catch (err) {
      await cleanup();
      throw err;
    }
  });

  async function cleanup(): Promise<void> {
    if (httpd) await stopProcess(httpd);
    if (peer) {
      peer.send({ cmd: 'exit' });
      await stopProcess(peer.child, 3_000);
    }
    if (go) await go.stop();
    if (netns) await netns.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
  afterAll(cleanup);

  const peerStatus = async () =>
    (await peer!.ask({ cmd: 'status' }, 'status', 60_000)) as unknown as { stats: { tcp: Record<string, number>; internalErrors: number }; connections: Array<{ state: string }> };

  it('the kernel pings our stack', async () => {
    const { stdout } = await netns!.exec('ping', ['-c', '3', '-i', '0.2', '-W', '5', OUR_TUNNEL], { timeoutMs: 30_000 });
    expect(stdout).toMatch(/3 packets transmitted, 3 received/);
  });

  it('curl downloads 50 MB from node:http on our stack, hash intact', async () => {
    const expected = keystream(50 * MB, 7);
    const { stdout } = await netns!.exec('sh', ['-c', `curl -sS --fail 'http://${OUR_TUNNEL}/download?bytes=${50 * MB}&seed=7' | sha256sum`], {
      timeoutMs: 120_000,
    });
    expect(stdout.split(/\s+/)[0]).toBe(expected);
  }, 180_000);

  it('curl uploads 20 MB to our stack, hash intact', async () => {
    const body = randomBytes(20 * MB);
    const file = join(dir!, 'upload.bin');
    await writeFile(file, body);
    const { stdout } = await netns!.exec(
      'curl',
      ['-sS', '--fail', '--data-binary', `@${file}`, '-H', 'content-type: application/octet-stream', `http://${OUR_TUNNEL}/upload`],
      { timeoutMs: 120_000 },
    );
    expect(JSON.parse(stdout)).toEqual({ bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') });
  }, 180_000);

  it('our stack closes first when asked (Connection: close): we hold TIME-WAIT, the kernel none', async () => {
    const { stdout } = await netns!.exec('sh', ['-c', `curl -sS --fail -H 'Connection: close' 'http://${OUR_TUNNEL}/download?bytes=100000&seed=3' | sha256sum`], {
      timeoutMs: 60_000,
    });
    expect(stdout.split(/\s+/)[0]).toBe(keystream(100_000, 3));
    // The closing handshake completes within moments (poll: the machine may be busy).
    let states: string[] = [];
    for (let i = 0; i < 100 && !states.includes('TIME-WAIT'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      states = (await peerStatus()).connections.map((c) => c.state);
    }
    expect(states).toContain('TIME-WAIT');
  });

  it("our http.request fetches 10 MB from a server on the kernel's TCP", async () => {
    const content = randomBytes(10 * MB);
    await writeFile(join(dir!, 'file.bin'), content);
    httpd = netns!.spawn('python3', ['-m', 'http.server', '8080', '--bind', GO_TUNNEL, '--directory', dir!]);
    // Wait until the server listens.
    for (let i = 0; i < 100; i++) {
      const { stdout } = await netns!.exec('ss', ['-tlnH']);
      if (stdout.includes(`${GO_TUNNEL}:8080`)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const result = await peer!.ask({ cmd: 'fetch', url: `http://${GO_TUNNEL}:8080/file.bin` }, 'fetched', 120_000);
    expect(result).toMatchObject({ status: 200, bytes: content.length, sha256: createHash('sha256').update(content).digest('hex') });
  }, 180_000);

  it('teardown is clean on both sides: no RSTs, nothing stuck in FIN-WAIT, CLOSING or LAST-ACK', async () => {
    // Give the last FIN/ACK exchanges a moment (polling), then nothing may be left half-closed.
    let stuck: string[] = [];
    for (let i = 0; i < 50; i++) {
      stuck = (await socketStates(netns!)).filter((s) => !['LISTEN', 'TIME-WAIT'].includes(s));
      if (stuck.length === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(stuck).toEqual([]);
    const counters = await kernelTcpCounters(netns!);
    expect(counters.OutRsts! - countersBefore.OutRsts!).toBe(0);
    expect(counters.EstabResets! - countersBefore.EstabResets!).toBe(0);
    expect(counters.AttemptFails! - countersBefore.AttemptFails!).toBe(0);
    expect(counters.ActiveOpens! - countersBefore.ActiveOpens!).toBeGreaterThanOrEqual(3); // curl ×3
    expect(counters.PassiveOpens! - countersBefore.PassiveOpens!).toBe(1); // our fetch
    let status = await peerStatus();
    for (let i = 0; i < 50 && status.connections.some((c) => c.state !== 'TIME-WAIT'); i++) {
      await new Promise((r) => setTimeout(r, 200));
      status = await peerStatus();
    }
    expect(status.stats.internalErrors).toBe(0);
    expect(status.stats.tcp.resetsSent).toBe(0);
    expect(status.stats.tcp.resetsReceived).toBe(0);
    // Only TIME-WAIT (from the connection we closed first) may remain on our side.
    expect(status.connections.filter((c) => c.state !== 'TIME-WAIT')).toEqual([]);
  });

  it('refused connections: each side answers a SYN to a closed port with RST, the other reports it', async () => {
    const before = await kernelTcpCounters(netns!);
    // Kernel → us: curl exits 7 ("Failed to connect"): our RST refused its SYN. A SYN we left
    // unanswered would end in curl's connect timeout instead (exit 28).
    const curl = await netns!.exec('sh', ['-c', `curl -sS --connect-timeout 20 http://${OUR_TUNNEL}:81/; echo "exit=$?"`], { timeoutMs: 60_000 });
    expect(curl.stdout).toMatch(/exit=7/);
    // Us → kernel: ECONNREFUSED from our stack.
    await expect(peer!.ask({ cmd: 'fetch', url: `http://${GO_TUNNEL}:8081/` }, 'fetched', 30_000)).rejects.toThrow(/ECONNREFUSED/);
    const status = await peerStatus();
    expect(status.stats.tcp.resetsSent).toBe(1);
    expect(status.stats.tcp.resetsReceived).toBe(1);
    // The kernel saw the same from its side: curl's attempt reset in SYN-SENT, one RST it sent us.
    const after = await kernelTcpCounters(netns!);
    expect(after.AttemptFails! - before.AttemptFails!).toBe(1);
    expect(after.OutRsts! - before.OutRsts!).toBe(1);
  });
});
