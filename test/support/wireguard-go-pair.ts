// Two stock wireguard-go peers, each in its own fresh network namespace, joined by a veth pair:
// the kernel-TCP baseline the benchmarks compare our stack against (Linux TCP over WireGuard).
import { createHash } from 'node:crypto';
import { createNetns, run, type Netns } from './netns.js';
import { startWireGuardGo, wgGenkey, wgPubkey, type WireGuardGo } from './wireguard-go.js';

export interface WireGuardGoPair {
  readonly nsA: Netns;
  readonly nsB: Netns;
  readonly goA: WireGuardGo;
  readonly goB: WireGuardGo;
  /** Stops both wireguard-go processes and removes both namespaces (and with them the veth pair). */
  close(): Promise<void>;
}

export interface WireGuardGoPairOptions {
  /** Namespace name prefixes, e.g. ['phba', 'phbb']. */
  prefixes: [string, string];
  /** The veth underlay as the first three octets of a /24, e.g. '192.168.77' (.1 is A, .2 is B). */
  underlay: string;
  /** Tunnel addresses of A and B inside one /24, e.g. ['10.97.0.1', '10.97.0.2']. */
  tunnel: [string, string];
  mtu?: number;
}

export async function startWireGuardGoPair(options: WireGuardGoPairOptions): Promise<WireGuardGoPair> {
  const [tunnelA, tunnelB] = options.tunnel;
  const mtu = options.mtu ?? 1420;
  const nsA = await createNetns(options.prefixes[0]);
  let nsB: Netns | undefined;
  let goA: WireGuardGo | undefined;
  let goB: WireGuardGo | undefined;
  const close = async () => {
    await goA?.stop();
    await goB?.stop();
    await nsA.remove();
    await nsB?.remove();
  };
  // Interface names are global per namespace but must stay unique across parallel runs: derive them from the namespace.
  const vethA = `v${createHash('sha1').update(nsA.name).digest('hex').slice(0, 8)}a`;
  const vethB = `${vethA.slice(0, -1)}b`;
  try {
    nsB = await createNetns(options.prefixes[1]);
    await run('ip', ['link', 'add', vethA, 'netns', nsA.name, 'type', 'veth', 'peer', 'name', vethB, 'netns', nsB.name]);
    await nsA.exec('ip', ['addr', 'add', `${options.underlay}.1/24`, 'dev', vethA]);
    await nsB.exec('ip', ['addr', 'add', `${options.underlay}.2/24`, 'dev', vethB]);
    await nsA.exec('ip', ['link', 'set', vethA, 'up']);
    await nsB.exec('ip', ['link', 'set', vethB, 'up']);
    const [privA, privB] = [await wgGenkey(), await wgGenkey()];
    const [pubA, pubB] = [await wgPubkey(privA), await wgPubkey(privB)];
    goA = await startWireGuardGo(nsA);
    goB = await startWireGuardGo(nsB);
    await goA.set({ privateKey: privA, listenPort: 51820, peers: [{ publicKey: pubB, allowedIps: [`${tunnelB}/32`], endpoint: `${options.underlay}.2:51820` }] });
    await goB.set({ privateKey: privB, listenPort: 51820, peers: [{ publicKey: pubA, allowedIps: [`${tunnelA}/32`], endpoint: `${options.underlay}.1:51820` }] });
    await goA.up(`${tunnelA}/24`, mtu);
    await goB.up(`${tunnelB}/24`, mtu);
    return { nsA, nsB, goA, goB, close };
  } catch (err) {
    await close();
    throw err;
  }
}
