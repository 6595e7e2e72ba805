// The cluster lab's network: five namespaces joined by veth pairs, addresses only inside
// them. `dc` is the data centre: PostgreSQL, three hub nodes and HAProxy, each on an address of its
// own (on dc's loopback, routed to from both sides); `home` is a NAT router (nftables masquerade,
// inbound refused) in front of two device LANs, `lanA` and `lanB` (one name server file each, so the
// two sites may reach different entry points); `visitor` is the Internet side: browsers, tools and a
// stock wireguard-go admin peer.
//
//   visitor 198.18.31.2 ── 198.18.31.1 dc 198.18.30.1 ── 198.18.30.2 home ┬ 192.168.88.1 ── 192.168.88.2 lanA
//   dc addresses: HAProxy 198.18.32.1, PostgreSQL .5, node n .1n (n = 1, 2, 3…)    └ 192.168.89.1 ── 192.168.89.2 lanB
import { createNetnsGroup, veth, type Netns } from '../../support/netns.js';

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
  const { make, setHosts, close } = createNetnsGroup();
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
      setHosts,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
