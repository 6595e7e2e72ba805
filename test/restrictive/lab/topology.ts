// The restrictive-network lab: three namespaces joined by veth pairs, addresses only inside
// them. `hub` runs the hub; `mid` is the site's only way out — either a proxy host that forwards
// nothing (the device reaches only the proxy), or a router whose nftables forward chain lets through
// TCP to the hub's HTTP port and, when allowed, UDP to its WireGuard port; `dev` runs the agent.
//
//   hub 198.18.20.1 ── 198.18.20.2 mid 10.77.0.1 ── 10.77.0.2 dev
import { createTopology, type Topology } from '../../support/netns-topology.js';

export const HUB_IP = '198.18.20.1';
export const MID_WAN_IP = '198.18.20.2';
export const MID_LAN_IP = '10.77.0.1';
export const DEVICE_IP = '10.77.0.2';
export const DOMAIN = 'hub.lab';
export const HTTP_PORT = 8080;
export const WG_PORT = 51820;

export type MidMode =
  /** Nothing forwarded (refused at once, like a firewall that rejects): only a proxy process in `mid` reaches the hub. */
  | 'proxy-only'
  /** Forwarding TCP to the hub's HTTP port only (UDP dropped). */
  | 'tcp-only'
  /** Forwarding TCP to the HTTP port and UDP to the WireGuard port. */
  | 'tcp-and-udp';

export type RestrictiveLab = Topology<'hub' | 'mid' | 'dev'> & {
  setMode(mode: MidMode): Promise<void>;
  /** nft counters of the forward chain (for failure messages). */
  counters(): Promise<string>;
};

/** UDP is dropped before the conntrack rule, so a flow allowed earlier cannot live on as "established". */
function ruleset(mode: MidMode): string {
  if (mode === 'proxy-only') {
    return `
table inet porthole_site {
  chain forward {
    type filter hook forward priority filter; policy drop;
    counter reject with icmpx type admin-prohibited
  }
}
`;
  }
  const udp = mode === 'tcp-and-udp' ? `    ip daddr ${HUB_IP} udp dport ${WG_PORT} accept\n` : '';
  return `
table inet porthole_site {
  chain forward {
    type filter hook forward priority filter; policy drop;
${mode === 'tcp-and-udp' ? '' : '    meta l4proto udp counter drop\n'}    ct state established,related accept
    ip daddr ${HUB_IP} tcp dport ${HTTP_PORT} accept
${udp}    counter
  }
}
`;
}

export async function createRestrictiveLab(): Promise<RestrictiveLab> {
  const net = await createTopology({
    namespaces: { hub: 'rsh', mid: 'rsm', dev: 'rsd' },
    links: [
      ['hub', `${HUB_IP}/24`, 'mid', `${MID_WAN_IP}/24`],
      ['mid', `${MID_LAN_IP}/24`, 'dev', `${DEVICE_IP}/24`],
    ],
    routes: [
      ['dev', 'default', MID_LAN_IP],
      ['hub', '10.77.0.0/24', MID_WAN_IP],
    ],
    // `ip netns exec` bind-mounts /etc/netns/<ns>/hosts: the site resolves the hub's name.
    hosts: { mid: { [DOMAIN]: HUB_IP }, dev: { [DOMAIN]: HUB_IP }, hub: { [DOMAIN]: HUB_IP } },
  });
  try {
    const { mid } = net;
    const lab: RestrictiveLab = {
      ...net,
      async setMode(mode) {
        await mid.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
        await mid.exec('nft', ['-f', '-'], { input: `table inet porthole_site\ndelete table inet porthole_site\n${ruleset(mode)}` });
      },
      async counters() {
        return (await mid.exec('nft', ['list', 'table', 'inet', 'porthole_site']).catch((e: Error) => ({ stdout: e.message }))).stdout;
      },
    };
    await lab.setMode('proxy-only');
    return lab;
  } catch (err) {
    await net.close();
    throw err;
  }
}

/** A Dante configuration: SOCKS5 without authentication on the LAN side, out through the WAN side. */
export function danteConfig(): string {
  return `logoutput: stderr
internal: ${MID_LAN_IP} port = 1080
external: ${MID_WAN_IP}
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {
  from: 10.77.0.0/24 to: 0.0.0.0/0
}
socks pass {
  from: 10.77.0.0/24 to: ${HUB_IP}/32
  command: connect udpassociate
  log: error
}
socks pass {
  from: ${HUB_IP}/32 to: 10.77.0.0/24
  command: udpreply
  log: error
}
socks block {
  from: 0.0.0.0/0 to: 0.0.0.0/0
  log: connect error
}
`;
}
