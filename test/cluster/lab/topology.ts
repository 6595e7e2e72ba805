// The cluster lab's network: five namespaces joined by veth pairs, addresses only inside
// them. `dc` is the data centre: PostgreSQL, three hub nodes and HAProxy, each on an address of its
// own (on dc's loopback, routed to from both sides); `home` is a NAT router (nftables masquerade,
// inbound refused) in front of two device LANs, `lanA` and `lanB` (one name server file each, so the
// two sites may reach different entry points); `visitor` is the Internet side: browsers, tools and a
// stock wireguard-go admin peer.
//
//   visitor 198.18.31.2 ── 198.18.31.1 dc 198.18.30.1 ── 198.18.30.2 home ┬ 192.168.88.1 ── 192.168.88.2 lanA
//   dc addresses: HAProxy 198.18.32.1, PostgreSQL .5, node n .1n (n = 1, 2, 3…)    └ 192.168.89.1 ── 192.168.89.2 lanB
import { createTopology, natRuleset, type Topology } from '../../support/netns-topology.js';

export const LB_IP = '198.18.32.1';
export const PG_IP = '198.18.32.5';
export const nodeIp = (n: number): string => `198.18.32.${10 + n}`;
export const NAT_WAN_IP = '198.18.30.2';
export const VISITOR_IP = '198.18.31.2';
export const LAN_A_DEVICE_IP = '192.168.88.2';
export const LAN_B_DEVICE_IP = '192.168.89.2';

export type ClusterNet = Topology<'dc' | 'home' | 'lanA' | 'lanB' | 'visitor'>;

export async function createClusterNet(nodes: number): Promise<ClusterNet> {
  const net = await createTopology({
    namespaces: { dc: 'k2d', home: 'k2h', lanA: 'k2la', lanB: 'k2lb', visitor: 'k2v' },
    links: [
      ['dc', '198.18.30.1/24', 'home', `${NAT_WAN_IP}/24`],
      ['dc', '198.18.31.1/24', 'visitor', `${VISITOR_IP}/24`],
      ['home', '192.168.88.1/24', 'lanA', `${LAN_A_DEVICE_IP}/24`],
      ['home', '192.168.89.1/24', 'lanB', `${LAN_B_DEVICE_IP}/24`],
    ],
    // The services' own addresses: on dc's loopback, reached through dc's veths.
    loopback: { dc: [LB_IP, PG_IP, ...Array.from({ length: nodes + 1 }, (_, i) => nodeIp(i + 1))].map((ip) => `${ip}/32`) },
    routes: [
      ['visitor', 'default', '198.18.31.1'],
      ['home', 'default', '198.18.30.1'],
      ['lanA', 'default', '192.168.88.1'],
      ['lanB', 'default', '192.168.89.1'],
    ],
    // dc forwards nothing: visitors never reach the LANs, devices only through their NAT mappings.
    forwarding: { dc: false, home: true },
  });
  try {
    await net.home.exec('nft', ['-f', '-'], { input: natRuleset(net.linkIfs[0]!) });
    return net;
  } catch (err) {
    await net.close();
    throw err;
  }
}
