// The NAT lab's network: four namespaces joined by veth pairs, with addresses only inside
// them. `public` holds the hub; `home` is a NAT router (nftables masquerade, inbound refused)
// between `public` and `lan` (the device); `visitor` reaches `public` only (no forwarding there).
//
//   visitor 198.18.1.2 ── 198.18.1.1 public 198.18.0.1 ── 198.18.0.2 home 192.168.77.1 ── 192.168.77.2 lan
import type { Netns } from '../../support/netns.js';
import { createTopology, natRuleset, type Topology } from '../../support/netns-topology.js';

export const HUB_IP = '198.18.0.1';
export const NAT_WAN_IP = '198.18.0.2';
export const VISITOR_IP = '198.18.1.2';
export const LAN_GATEWAY_IP = '192.168.77.1';
export const DEVICE_IP = '192.168.77.2';

export type NatLab = Topology<'public' | 'home' | 'lan' | 'visitor'> & {
  /** Replaces the masquerade rule: `to :lo-hi` picks the source ports of new mappings. */
  setMasqueradePorts(range: [number, number] | undefined): Promise<void>;
  /** Deletes every conntrack entry of the NAT (its UDP mappings): the next packet gets a new one. */
  flushConntrack(): Promise<void>;
  /** `conntrack -L -p udp` in the NAT, for failure messages and assertions. */
  udpMappings(): Promise<string>;
};

export async function createNatLab(): Promise<NatLab> {
  const net = await createTopology({
    namespaces: { public: 'e2p', home: 'e2h', lan: 'e2l', visitor: 'e2v' },
    links: [
      ['public', `${HUB_IP}/24`, 'home', `${NAT_WAN_IP}/24`],
      ['public', '198.18.1.1/24', 'visitor', `${VISITOR_IP}/24`],
      ['home', `${LAN_GATEWAY_IP}/24`, 'lan', `${DEVICE_IP}/24`],
    ],
    routes: [
      ['visitor', 'default', '198.18.1.1'],
      ['home', 'default', HUB_IP],
      ['lan', 'default', LAN_GATEWAY_IP],
    ],
    // public has no route to 192.168.77.0/24 and forwards nothing: the device is reachable only
    // through the mapping its own outbound UDP opens in the NAT.
    forwarding: { public: false, home: true },
  });
  try {
    const { home } = net;
    const wanIf = net.linkIfs[0]!;
    const applyNft = async (ports: [number, number] | undefined) => {
      await home.exec('nft', ['-f', '-'], { input: natRuleset(wanIf, ports) });
    };
    await applyNft(undefined);
    // Short UDP timeouts (per namespace), as on cheap home routers: an idle mapping is gone after
    // 30 s. Just above the 25 s persistent keepalive the hub hands out; with less, every idle
    // device would be unreachable until its next keepalive (seen here with 10 s: 504s).
    await home.exec('sysctl', ['-qw', 'net.netfilter.nf_conntrack_udp_timeout=10']);
    await home.exec('sysctl', ['-qw', 'net.netfilter.nf_conntrack_udp_timeout_stream=30']);

    return {
      ...net,
      setMasqueradePorts: applyNft,
      async flushConntrack() {
        // conntrack exits 1 with "0 flow entries" when the table is already empty.
        await home.exec('conntrack', ['-F']).catch(() => undefined);
      },
      async udpMappings() {
        return (await home.exec('conntrack', ['-L', '-p', 'udp']).catch((e: Error) => ({ stdout: e.message }))).stdout;
      },
    };
  } catch (err) {
    await net.close();
    throw err;
  }
}
