// The cluster lab's network: five namespaces joined by veth pairs, addresses only inside
// them. `dc` is the data centre: PostgreSQL, three hub nodes and HAProxy, each on an address of its
// own (on dc's loopback, routed to from both sides); `home` is a NAT router (nftables masquerade,
// inbound refused) in front of two device LANs, `lanA` and `lanB` (one name server file each, so the
// two sites may reach different entry points); `visitor` is the Internet side: browsers, tools and a
// stock wireguard-go admin peer.
//
//   visitor 198.18.31.2 ── 198.18.31.1 dc 198.18.30.1 ── 198.18.30.2 home ┬ 192.168.88.1 ── 192.168.88.2 lanA
//   dc addresses: HAProxy 198.18.32.1, PostgreSQL .5, node n .1n (n = 1, 2, 3…)    └ 192.168.89.1 ── 192.168.89.2 lanB
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNetns, run, uniqueName, type Netns } from '../../support/netns.js';

export const LB_IP = '198.18.32.1';
export const PG_IP = '198.18.32.5';
export const nodeIp = (n: number): string => `198.18.32.${10 + n}`;
export const NAT_WAN_IP = '198.18.30.2';
export const VISITOR_IP = '198.18.31.2';
export const LAN_A_DEVICE_IP = '192.168.88.2';
export const LAN_B_DEVICE_IP = '192.168.89.2';

export interface ClusterNet {
  readonly dc: Netns;
  readonly home: Netns;
  readonly lanA: Netns;
  readonly lanB: Netns;
  readonly visitor: Netns;
  /** `/etc/hosts` for programs started with `ip netns exec <ns>` (ip bind-mounts /etc/netns/<ns>/hosts). */
  setHosts(ns: Netns, entries: Record<string, string>): void;
  close(): Promise<void>;
}

/** A veth pair straight inside two namespaces (the host's interface list is never touched). */
async function veth(a: Netns, aAddr: string, b: Netns, bAddr: string): Promise<string> {
  const an = uniqueName('k2a');
  const bn = uniqueName('k2b');
  await run('ip', ['link', 'add', an, 'netns', a.name, 'type', 'veth', 'peer', 'name', bn, 'netns', b.name]);
  await a.exec('ip', ['addr', 'add', aAddr, 'dev', an]);
  await b.exec('ip', ['addr', 'add', bAddr, 'dev', bn]);
  await a.exec('ip', ['link', 'set', an, 'up']);
  await b.exec('ip', ['link', 'set', bn, 'up']);
  return bn;
}

function natRuleset(wanIf: string): string {
  return `
table ip k2_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "${wanIf}" masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname != "${wanIf}" accept
  }
}
`;
}

export async function createClusterNet(nodes: number): Promise<ClusterNet> {
  const created: Netns[] = [];
  const hostsDirs: string[] = [];
  const close = async () => {
    for (const ns of created.reverse()) await ns.remove();
    for (const dir of hostsDirs) rmSync(dir, { recursive: true, force: true });
  };
  const make = async (prefix: string) => {
    const ns = await createNetns(prefix);
    created.push(ns);
    return ns;
  };
  try {
    const dc = await make('k2d');
    const home = await make('k2h');
    const lanA = await make('k2la');
    const lanB = await make('k2lb');
    const visitor = await make('k2v');
    const wanIf = await veth(dc, '198.18.30.1/24', home, `${NAT_WAN_IP}/24`);
    await veth(dc, '198.18.31.1/24', visitor, `${VISITOR_IP}/24`);
    await veth(home, '192.168.88.1/24', lanA, `${LAN_A_DEVICE_IP}/24`);
    await veth(home, '192.168.89.1/24', lanB, `${LAN_B_DEVICE_IP}/24`);
    // The services' own addresses: on dc's loopback, reached through dc's veths.
    for (const ip of [LB_IP, PG_IP, ...Array.from({ length: nodes + 1 }, (_, i) => nodeIp(i + 1))]) {
      await dc.exec('ip', ['addr', 'add', `${ip}/32`, 'dev', 'lo']);
    }
    await visitor.exec('ip', ['route', 'add', 'default', 'via', '198.18.31.1']);
    await home.exec('ip', ['route', 'add', 'default', 'via', '198.18.30.1']);
    await lanA.exec('ip', ['route', 'add', 'default', 'via', '192.168.88.1']);
    await lanB.exec('ip', ['route', 'add', 'default', 'via', '192.168.89.1']);
    // dc forwards nothing: visitors never reach the LANs, devices only through their NAT mappings.
    await dc.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=0']);
    await home.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await home.exec('nft', ['-f', '-'], { input: natRuleset(wanIf) });
    return {
      dc,
      home,
      lanA,
      lanB,
      visitor,
      setHosts(ns, entries) {
        const dir = join('/etc/netns', ns.name);
        mkdirSync(dir, { recursive: true });
        hostsDirs.push(dir);
        const lines = ['127.0.0.1 localhost', ...Object.entries(entries).map(([name, ip]) => `${ip} ${name}`)];
        writeFileSync(join(dir, 'hosts'), `${lines.join('\n')}\n`);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
