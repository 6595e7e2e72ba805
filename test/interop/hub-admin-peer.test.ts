// A stock wireguard-go admin peer joins the overlay from the config that
// `POST /api/v1/admin-peers` returns (wg-quick text, applied the way wg-quick does: `wg setconf` for
// the WireGuard part, `ip` for Address and routes), pings a device's tunnel IP (answered by the
// device's netstack) and fetches its web UI with curl straight over the overlay; the router's
// isolation policy holds from the admin side. Hub and device run in one child process
// (fixtures/hub-admin-peer-hub.ts) inside a fresh network namespace, next to wireguard-go.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonProcess } from '../support/json-process.js';
import { createNetns, type Netns } from '../support/netns.js';
import { requirementsMet } from '../support/requirements.js';
import { startWireGuardGo, wgGenkey, wgPubkey, type WireGuardGo } from '../support/wireguard-go.js';
import { stripWgQuick, withPrivateKey } from './fixtures/hub-wg-quick.js';

const ok = requirementsMet('hub ↔ wireguard-go admin peer interop', {
  root: true,
  tools: ['wireguard-go', 'wg', 'ip', 'ping', 'curl'],
});

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TSX = `${REPO}node_modules/.bin/tsx`;
const FIXTURE = `${REPO}test/interop/fixtures/hub-admin-peer-hub.ts`;
const HTTP_PORT = 8080;
const WG_PORT = 51820;
const KERNEL_PORT = 7000;
const ADMIN_TOKEN = `ph_api_${randomBytes(24).toString('base64url')}`;
const DEVICE_BODY = `device page ${randomBytes(6).toString('hex')}`;

interface Ready {
  httpPort: number;
  publicKey: string;
  hubTunnelIp: string;
  overlayCidr: string;
  serial: string;
  deviceTunnelIp: string;
}

interface Status {
  router: { forwarded: number; delivered: number; drops: Record<string, number> };
  device: { icmpEchoReplies: number; packetsIn: number };
  kernelAccepted: number;
}

/** The n-th address after `ip` (the pool is a /10, so a small offset stays inside it). */
function offset(ip: string, n: number): string {
  const v = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0) + n;
  return [24, 16, 8, 0].map((s) => (v >>> s) & 255).join('.');
}

describe.skipIf(!ok)('a stock wireguard-go admin peer on the hub overlay', () => {
  let netns: Netns | undefined;
  let dir: string | undefined;
  /** The fixture process: JSON lines out, commands in; it shuts down cleanly when its stdin closes. */
  let hub: JsonProcess | undefined;
  let go: WireGuardGo | undefined;
  let ready: Ready;
  let adminIp: string;

  async function cleanup(): Promise<void> {
    if (hub) await hub.stop();
    if (go) await go.stop();
    if (netns) await netns.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  }

  beforeAll(async () => {
    try {
      netns = await createNetns('phad');
      dir = await mkdtemp(join(tmpdir(), 'hub-admin-peer-'));
      hub = new JsonProcess(
        'hub fixture',
        netns.spawn(TSX, [FIXTURE], {
          env: {
            ...process.env,
            DATA_DIR: join(dir, 'data'),
            ADMIN_TOKEN,
            HTTP_PORT: String(HTTP_PORT),
            WG_PORT: String(WG_PORT),
            KERNEL_PORT: String(KERNEL_PORT),
            DEVICE_BODY,
          },
        }),
      );
      [ready, go] = await Promise.all([hub.next((m) => m.event === 'ready', 'ready', 60_000) as unknown as Promise<Ready>, startWireGuardGo(netns)]);
    } catch (err) {
      await cleanup();
      throw err;
    }
  }, 90_000);
  afterAll(cleanup);

  const status = async () => (await hub!.ask({ cmd: 'status' }, 'status')) as unknown as Status;

  it('joins with the wg-quick config from POST /api/v1/admin-peers and a key made by wg genkey', async () => {
    const privateKey = await wgGenkey();
    const publicKey = await wgPubkey(privateKey);
    const { stdout } = await netns!.exec('curl', [
      '-sS',
      '--fail-with-body',
      '-X',
      'POST',
      '-H',
      `authorization: Bearer ${ADMIN_TOKEN}`,
      '-H',
      'content-type: application/json',
      '-H',
      `host: localhost:${ready.httpPort}`, // the portal host; any other Host is a device or a 404
      '--data',
      JSON.stringify({ name: 'interop laptop', publicKey }),
      `http://127.0.0.1:${ready.httpPort}/api/v1/admin-peers`,
    ]);
    const created = JSON.parse(stdout) as { tunnelIp: string; publicKey: string; config: string };
    expect(created.publicKey).toBe(publicKey);
    adminIp = created.tunnelIp;
    expect(created.config).not.toContain(privateKey);

    const stripped = stripWgQuick(created.config);
    expect(stripped.addresses).toEqual([`${adminIp}/32`]);
    expect(stripped.routes).toEqual([ready.overlayCidr]);
    expect(stripped.setconf).not.toMatch(/^\s*Address\s*=/m);
    expect(stripped.setconf).toMatch(new RegExp(`^PublicKey = ${ready.publicKey.replace(/[+/]/g, '\\$&')}$`, 'm'));
    expect(stripped.setconf).toMatch(new RegExp(`^Endpoint = 127\\.0\\.0\\.1:${WG_PORT}$`, 'm'));

    const file = join(dir!, 'admin.conf');
    await writeFile(file, withPrivateKey(stripped.setconf, privateKey), { mode: 0o600 });
    await netns!.exec('wg', ['setconf', go!.ifname, file]);
    await rm(file);
    for (const address of stripped.addresses) await netns!.exec('ip', ['address', 'add', address, 'dev', go!.ifname]);
    await netns!.exec('ip', ['link', 'set', go!.ifname, 'up', 'mtu', String(stripped.mtu ?? 1420)]);
    for (const route of stripped.routes) await netns!.exec('ip', ['route', 'add', route, 'dev', go!.ifname]);

    const dump = await go!.dump();
    expect(dump.publicKey).toBe(publicKey);
    expect(dump.peers.map((p) => [p.publicKey, p.endpoint, p.allowedIps])).toEqual([
      [ready.publicKey, `127.0.0.1:${WG_PORT}`, [ready.overlayCidr]],
    ]);
  });

  it("pings the device's tunnel IP: 3/3 replies from the device's netstack", async () => {
    const before = await status();
    const { stdout } = await netns!.exec('ping', ['-c', '3', '-i', '0.2', '-W', '5', ready.deviceTunnelIp], { timeoutMs: 30_000 });
    expect(stdout).toMatch(/3 packets transmitted, 3 received/);
    const after = await status();
    expect(after.device.icmpEchoReplies - before.device.icmpEchoReplies).toBe(3);
    // The hub forwarded them (requests in, replies back) rather than answering itself.
    expect(after.router.forwarded - before.router.forwarded).toBeGreaterThanOrEqual(6);
    const hubPeer = (await go!.dump()).peers[0]!;
    expect(hubPeer.latestHandshake).toBeGreaterThan(0);
    expect(hubPeer.rxBytes).toBeGreaterThan(0);
  });

  it("fetches the device's web UI with curl straight over the overlay, from the admin's own tunnel IP", async () => {
    const { stdout } = await netns!.exec('curl', ['-sS', '--fail', '--max-time', '10', `http://${ready.deviceTunnelIp}/`], { timeoutMs: 20_000 });
    // No proxy and no NAT in between: the device sees the admin peer's address.
    expect(stdout).toBe(`${DEVICE_BODY} for ${adminIp}`);
  });

  it('cannot reach a tunnel IP that belongs to no device', async () => {
    const nobody = offset(ready.deviceTunnelIp, 100);
    const before = await status();
    await expect(netns!.exec('ping', ['-c', '2', '-i', '0.2', '-W', '1', nobody], { timeoutMs: 10_000 })).rejects.toThrow(/ping/);
    await expect(netns!.exec('curl', ['-sS', '--max-time', '2', `http://${nobody}/`], { timeoutMs: 10_000 })).rejects.toThrow(/curl/);
    const after = await status();
    // 2 echo requests and at least one SYN reached the hub and were dropped there.
    expect((after.router.drops.no_route ?? 0) - (before.router.drops.no_route ?? 0)).toBeGreaterThanOrEqual(3);
  });

  it('a device cannot open a connection to the admin peer, though the admin side listens', async () => {
    // Control: something does listen on the admin's tunnel address.
    expect((await hub!.ask({ cmd: 'kernel-connect', host: adminIp, port: KERNEL_PORT }, 'connect')).result).toBe('connected');
    const before = await status();
    expect(before.kernelAccepted).toBe(1);
    const attempt = await hub!.ask({ cmd: 'device-connect', host: adminIp, port: KERNEL_PORT }, 'connect');
    expect(attempt.result).toBe('ETIMEDOUT');
    const after = await status();
    expect(after.kernelAccepted).toBe(1);
    expect((after.router.drops.device_unsolicited ?? 0) - (before.router.drops.device_unsolicited ?? 0)).toBeGreaterThan(0);
  });
});
