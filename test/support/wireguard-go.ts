// wireguard-go as a test peer (needs root, `wireguard-go` and `wg`): start it on a TUN with a unique
// interface name inside a namespace (its UAPI socket directory /var/run/wireguard is shared by all
// namespaces), configure it with `wg set`, read `wg show <if> dump`, and make keys with `wg`.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { run, stopProcess, uniqueName, type Netns } from './netns.js';

export interface WireGuardGo {
  readonly ifname: string;
  readonly netns: Netns;
  readonly process: ChildProcess;
  /** Everything wireguard-go logged so far (LOG_LEVEL=verbose), for assertions and failure output. */
  log(): string;
  /** `wg set <ifname> …` with keys passed through 0600 temp files. */
  set(config: WgSetConfig): Promise<void>;
  /** `wg show <ifname> dump`, parsed. */
  dump(): Promise<WgDump>;
  /** `ip addr add <cidr> dev <ifname>` and `ip link set <ifname> up [mtu]`. */
  up(addressCidr: string, mtu?: number): Promise<void>;
  /** Kills wireguard-go (its TUN goes with it). */
  stop(): Promise<void>;
}

export interface WgPeerSet {
  publicKey: string;
  remove?: boolean;
  presharedKey?: string;
  /** `ip:port`, or `[ipv6]:port`. */
  endpoint?: string;
  allowedIps?: string[];
  persistentKeepalive?: number | 'off';
}

export interface WgSetConfig {
  privateKey?: string;
  listenPort?: number;
  peers?: WgPeerSet[];
}

export interface WgDumpPeer {
  publicKey: string;
  presharedKey: string | undefined;
  endpoint: string | undefined;
  allowedIps: string[];
  /** Unix seconds of the latest handshake; 0 = never. */
  latestHandshake: number;
  rxBytes: number;
  txBytes: number;
  persistentKeepalive: number | 'off';
}

export interface WgDump {
  privateKey: string;
  publicKey: string;
  listenPort: number;
  fwmark: string;
  peers: WgDumpPeer[];
}

/** Parses `wg show <if> dump` (wireguard-tools src/show.c: tab-separated, interface line first). */
export function parseWgDump(text: string): WgDump {
  const lines = text.trim().split('\n').filter(Boolean);
  const head = lines.shift()?.split('\t');
  if (!head || head.length < 4) throw new Error(`wg dump: unexpected interface line ${JSON.stringify(text.slice(0, 80))}`);
  const none = (v: string | undefined) => (v === undefined || v === '(none)' ? undefined : v);
  return {
    privateKey: head[0]!,
    publicKey: head[1]!,
    listenPort: Number(head[2]),
    fwmark: head[3]!,
    peers: lines.map((line) => {
      const f = line.split('\t');
      if (f.length < 8) throw new Error(`wg dump: unexpected peer line ${JSON.stringify(line)}`);
      return {
        publicKey: f[0]!,
        presharedKey: none(f[1]),
        endpoint: none(f[2]),
        allowedIps: none(f[3])?.split(',') ?? [],
        latestHandshake: Number(f[4]),
        rxBytes: Number(f[5]),
        txBytes: Number(f[6]),
        persistentKeepalive: f[7] === 'off' ? 'off' : Number(f[7]),
      };
    }),
  };
}

/**
 * Starts `wireguard-go -f <ifname>` inside `netns` and resolves once its UAPI socket listens.
 * The interface name is unique per call unless given.
 */
export async function startWireGuardGo(netns: Netns, options: { ifname?: string; startTimeoutMs?: number } = {}): Promise<WireGuardGo> {
  const ifname = options.ifname ?? uniqueName('wgt');
  const child = netns.spawn('wireguard-go', ['-f', ifname], {
    env: { ...process.env, LOG_LEVEL: 'verbose', WG_PROCESS_FOREGROUND: '1' },
  });
  let output = '';
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`wireguard-go ${ifname} did not start in time:\n${output}`)),
      options.startTimeoutMs ?? 15_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('UAPI listener started')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`wireguard-go ${ifname} exited (${code ?? signal}) before starting:\n${output}`));
    });
  });
  try {
    await started;
  } catch (err) {
    await stopProcess(child);
    throw err;
  }
  const wg = (args: string[]) => netns.exec('wg', args);
  return {
    ifname,
    netns,
    process: child,
    log: () => output,
    set: (config) => wgSet(netns, ifname, config),
    dump: async () => parseWgDump((await wg(['show', ifname, 'dump'])).stdout),
    up: async (addressCidr, mtu) => {
      await netns.exec('ip', ['addr', 'add', addressCidr, 'dev', ifname]);
      await netns.exec('ip', ['link', 'set', ifname, 'up', ...(mtu ? ['mtu', String(mtu)] : [])]);
    },
    stop: () => stopProcess(child),
  };
}

/** `wg set <ifname> …` inside `netns`; key material goes through 0600 files in a private temp dir. */
export async function wgSet(netns: Netns, ifname: string, config: WgSetConfig): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'wgkeys-'));
  try {
    let n = 0;
    const keyFile = async (key: string) => {
      const file = join(dir, `k${n++}`);
      await writeFile(file, `${key}\n`, { mode: 0o600 });
      return file;
    };
    const args = ['set', ifname];
    if (config.privateKey !== undefined) args.push('private-key', await keyFile(config.privateKey));
    if (config.listenPort !== undefined) args.push('listen-port', String(config.listenPort));
    for (const peer of config.peers ?? []) {
      args.push('peer', peer.publicKey);
      if (peer.remove) {
        args.push('remove');
        continue;
      }
      if (peer.presharedKey !== undefined) args.push('preshared-key', await keyFile(peer.presharedKey));
      if (peer.endpoint !== undefined) args.push('endpoint', peer.endpoint);
      if (peer.persistentKeepalive !== undefined) args.push('persistent-keepalive', String(peer.persistentKeepalive));
      if (peer.allowedIps !== undefined) args.push('allowed-ips', peer.allowedIps.join(','));
    }
    await netns.exec('wg', args);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `wg genkey`: a fresh private key in base64. */
export async function wgGenkey(): Promise<string> {
  return (await run('wg', ['genkey'])).stdout.trim();
}

/** `wg genpsk`: a fresh preshared key in base64. */
export async function wgGenpsk(): Promise<string> {
  return (await run('wg', ['genpsk'])).stdout.trim();
}

/** `wg pubkey` for a base64 private key (read from stdin, as the tool expects). */
export async function wgPubkey(privateKey: string): Promise<string> {
  return (await run('wg', ['pubkey'], { input: `${privateKey}\n` })).stdout.trim();
}
