// One builder for the labs' networks: namespaces by role, veth links between them, addresses,
// routes and forwarding from a plain description, all removed together (newest first). Also the
// NAT router's nftables masquerade that the NAT and cluster labs share.
import { createNetnsGroup, veth, type Netns } from './netns.js';

export interface TopologySpec<Role extends string> {
  /** Namespace name prefix by role, in creation order (kept short: names carry a pid and a suffix). */
  namespaces: Record<Role, string>;
  /** veth links, each `[a, a's address/prefix, b, b's address/prefix]`. */
  links: ReadonlyArray<readonly [Role, string, Role, string]>;
  /** Extra addresses on a namespace's loopback (services reached through its veths). */
  loopback?: Partial<Record<Role, string[]>>;
  /** Routes, each `[namespace, destination ('default' or a prefix), gateway]`. */
  routes?: ReadonlyArray<readonly [Role, string, string]>;
  /** net.ipv4.ip_forward per namespace (only the roles listed are set). */
  forwarding?: Partial<Record<Role, boolean>>;
  /** `/etc/hosts` entries per namespace (see NetnsGroup.setHosts). */
  hosts?: Partial<Record<Role, Record<string, string>>>;
}

/** The namespaces by role, and what the whole network needs. */
export type Topology<Role extends string> = { readonly [R in Role]: Netns } & {
  /** b's interface name of each link, in the spec's order (a NAT's WAN side, for nftables). */
  readonly linkIfs: string[];
  /** `/etc/hosts` for programs started with `ip netns exec <ns>` (ip bind-mounts /etc/netns/<ns>/hosts). */
  setHosts(ns: Netns, entries: Record<string, string>): void;
  close(): Promise<void>;
};

export async function createTopology<Role extends string>(spec: TopologySpec<Role>): Promise<Topology<Role>> {
  const group = createNetnsGroup();
  try {
    const ns = {} as Record<Role, Netns>;
    for (const [role, prefix] of Object.entries(spec.namespaces) as [Role, string][]) ns[role] = await group.make(prefix);
    const linkIfs: string[] = [];
    for (const [a, aAddr, b, bAddr] of spec.links) linkIfs.push(await veth(ns[a], aAddr, ns[b], bAddr));
    for (const [role, addrs] of Object.entries(spec.loopback ?? {}) as [Role, string[]][]) {
      for (const addr of addrs) await ns[role].exec('ip', ['addr', 'add', addr, 'dev', 'lo']);
    }
    for (const [role, to, via] of spec.routes ?? []) await ns[role].exec('ip', ['route', 'add', to, 'via', via]);
    for (const [role, on] of Object.entries(spec.forwarding ?? {}) as [Role, boolean][]) {
      await ns[role].exec('sysctl', ['-qw', `net.ipv4.ip_forward=${on ? 1 : 0}`]);
    }
    for (const [role, entries] of Object.entries(spec.hosts ?? {}) as [Role, Record<string, string>][]) group.setHosts(ns[role], entries);
    return { ...ns, linkIfs, setHosts: group.setHosts, close: group.close } as Topology<Role>;
  } catch (err) {
    await group.close();
    throw err;
  }
}

/**
 * A home router's nftables: masquerade out of `wanIf`, forward what comes from inside and the
 * replies to it, refuse the rest inbound. With `udpPorts`, new UDP mappings take source ports from
 * that range. Replaces the table if it is there.
 */
export function natRuleset(wanIf: string, udpPorts?: [number, number]): string {
  return `table ip porthole_nat
delete table ip porthole_nat

table ip porthole_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
${udpPorts ? `    oifname "${wanIf}" meta l4proto udp masquerade to :${udpPorts[0]}-${udpPorts[1]} random\n` : ''}    oifname "${wanIf}" masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname != "${wanIf}" accept
  }
}
`;
}
