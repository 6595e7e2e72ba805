// The NAT lab's network: four namespaces joined by veth pairs, with addresses only inside
// them. `public` holds the hub; `home` is a NAT router (nftables masquerade, inbound refused)
// between `public` and `lan` (the device); `visitor` reaches `public` only (no forwarding there).
//
//   visitor 198.18.1.2 ── 198.18.1.1 public 198.18.0.1 ── 198.18.0.2 home 192.168.77.1 ── 192.168.77.2 lan
import { createNetnsGroup, veth, type Netns } from '../../support/netns.js';

export const HUB_IP = '198.18.0.1';
export const NAT_WAN_IP = '198.18.0.2';
export const VISITOR_IP = '198.18.1.2';
export const LAN_GATEWAY_IP = '192.168.77.1';
export const DEVICE_IP = '192.168.77.2';

export interface NatLab {
  readonly public: Netns;
  readonly home: Netns;
  readonly lan: Netns;
  readonly visitor: Netns;
  /** `/etc/hosts` as seen by programs started with `ip netns exec <ns>` (bind-mounted by ip). */
  setHosts(ns: Netns, entries: Record<string, string>): void;
  /** Replaces the masquerade rule: `to :lo-hi` picks the source ports of new mappings. */
  setMasqueradePorts(range: [number, number] | undefined): Promise<void>;
  /** Deletes every conntrack entry of the NAT (its UDP mappings): the next packet gets a new one. */
  flushConntrack(): Promise<void>;
  /** `conntrack -L -p udp` in the NAT, for failure messages and assertions. */
  udpMappings(): Promise<string>;
  close(): Promise<void>;
}

function nftRuleset(wanIf: string, ports: [number, number] | undefined): string {
  return `
table ip porthole_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
${ports ? `    oifname "${wanIf}" meta l4proto udp masquerade to :${ports[0]}-${ports[1]} random\n` : ''}    oifname "${wanIf}" masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname != "${wanIf}" accept
  }
}
`;
}

export async function createNatLab(): Promise<NatLab> {
  const { make, setHosts, close } = createNetnsGroup();
  try {
    const pub = await make('e2p');
    const home = await make('e2h');
    const lan = await make('e2l');
    const visitor = await make('e2v');

    const wanIf = await veth(pub, `${HUB_IP}/24`, home, `${NAT_WAN_IP}/24`);
    await veth(pub, '198.18.1.1/24', visitor, `${VISITOR_IP}/24`);
    await veth(home, `${LAN_GATEWAY_IP}/24`, lan, `${DEVICE_IP}/24`);
    await visitor.exec('ip', ['route', 'add', 'default', 'via', '198.18.1.1']);
    await home.exec('ip', ['route', 'add', 'default', 'via', HUB_IP]);
    await lan.exec('ip', ['route', 'add', 'default', 'via', LAN_GATEWAY_IP]);
    // public has no route to 192.168.77.0/24 and forwards nothing: the device is reachable only
    // through the mapping its own outbound UDP opens in the NAT.
    await pub.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=0']);
    await home.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);

    const applyNft = async (ports: [number, number] | undefined) => {
      await home.exec('nft', ['-f', '-'], { input: `table ip porthole_nat\ndelete table ip porthole_nat\n${nftRuleset(wanIf, ports)}` });
    };
    await applyNft(undefined);
    // Short UDP timeouts (per namespace), as on cheap home routers: an idle mapping is gone after
    // 30 s. Just above the 25 s persistent keepalive the hub hands out; with less, every idle
    // device would be unreachable until its next keepalive (seen here with 10 s: 504s).
    await home.exec('sysctl', ['-qw', 'net.netfilter.nf_conntrack_udp_timeout=10']);
    await home.exec('sysctl', ['-qw', 'net.netfilter.nf_conntrack_udp_timeout_stream=30']);

    return {
      public: pub,
      home,
      lan,
      visitor,
      setHosts,
      setMasqueradePorts: applyNft,
      async flushConntrack() {
        // conntrack exits 1 with "0 flow entries" when the table is already empty.
        await home.exec('conntrack', ['-F']).catch(() => undefined);
      },
      async udpMappings() {
        return (await home.exec('conntrack', ['-L', '-p', 'udp']).catch((e: Error) => ({ stdout: e.message }))).stdout;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
