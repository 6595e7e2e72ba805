// Policy router for decrypted overlay packets: devices reach the hub only, never each other;
// admin peers reach device tunnel IPs with TCP and ICMP, and devices may answer those flows
// (tracked like a stateful firewall) but never open one towards an admin. An admin peer reaches
// only its own organisation's devices. Everything else is dropped and counted by reason.
import { DEVICE_CONTROL_PORT } from '@porthole/device-control';
import { ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, IP_PROTOCOL_ICMP, IP_PROTOCOL_TCP } from '@porthole/netstack/wire';
import { summarizeIpv4, type PacketSummary } from './packet-summary.js';

export type PeerRole = 'device' | 'admin';

export type RouterDropReason =
  | 'malformed'
  | 'no_route'
  | 'device_to_device'
  | 'device_unsolicited'
  | 'admin_to_admin'
  /** An admin peer's packet to a device of another organisation (or one whose organisation is not known). */
  | 'other_organization'
  | 'protocol_not_allowed'
  | 'spoofed_hub_source'
  | 'control_port'
  /** A packet from another node of the cluster addressed to the hub itself (never relayed). */
  | 'relay_to_hub'
  /** A relayed packet whose destination's session is not on this node (never relayed on: no loops, no pull). */
  | 'relay_not_here';

/**
 * In a cluster, a packet whose destination's session is on another node goes there over the
 * internal relay channel instead of out through this node's WireGuard (which would send it through
 * an older session and pull the peer away from its node).
 */
export interface RouterRelay {
  /** The node to relay a packet for `dst` to; undefined: deliver here. */
  route(dst: number, role: PeerRole): string | undefined;
  send(node: string, packet: Uint8Array): void;
  /** An admin peer's packet came relayed from `node`: answers to that admin go back there. */
  learned(admin: number, node: string): void;
}

export interface OverlayRouterOptions {
  /** The hub's own tunnel address (its netstack), as a 32-bit integer. */
  hubAddress: number;
  /** Who owns a tunnel address: a device, an admin peer, or nobody. */
  roleOf(address: number): PeerRole | undefined;
  /** The organisation of a tunnel address's owner; given, an admin peer reaches only devices of its own. */
  organizationOf?(address: number): string | undefined;
  /** Hand a packet addressed to the hub to the hub's netstack. */
  deliverToHub(packet: Uint8Array): void;
  /** Send a packet out through WireGuard (routed by allowed IPs). */
  forward(packet: Uint8Array): void;
  /** Idle lifetime of an admin→device TCP flow; default 15 minutes (a quiet SSH session). */
  tcpFlowIdleMs?: number;
  /** Idle lifetime of an admin→device ICMP echo flow; default 30 s. */
  icmpFlowIdleMs?: number;
  /** Bound on tracked flows; the least recently used is evicted. Default 65,536. */
  maxFlows?: number;
}

export class OverlayRouter {
  readonly drops = new Map<RouterDropReason, number>();
  forwarded = 0;
  delivered = 0;
  /** Packets sent to another node of the cluster, and packets other nodes relayed here and passed. */
  relayedOut = 0;
  relayedIn = 0;
  /** Set in cluster mode (the relay exists after the router). */
  relay: RouterRelay | undefined;
  private readonly flows = new Map<string, number>(); // flow key → expiry (ms)
  private readonly tcpIdleMs: number;
  private readonly icmpIdleMs: number;
  private readonly maxFlows: number;

  constructor(private readonly options: OverlayRouterOptions) {
    this.tcpIdleMs = options.tcpFlowIdleMs ?? 15 * 60_000;
    this.icmpIdleMs = options.icmpFlowIdleMs ?? 30_000;
    this.maxFlows = options.maxFlows ?? 65_536;
  }

  get flowCount(): number {
    return this.flows.size;
  }

  /**
   * A packet WireGuard decrypted from a peer. WireGuard has already checked that the source
   * address belongs to the sending peer (cryptokey routing), so the source's role is trustworthy.
   */
  fromPeer(packet: Uint8Array, nowMs: number): void {
    const summary = summarizeIpv4(packet);
    if (!summary) return this.drop('malformed');
    const { hubAddress } = this.options;
    if (summary.src === hubAddress) return this.drop('spoofed_hub_source');
    if (summary.dst === hubAddress) {
      this.delivered++;
      this.options.deliverToHub(packet);
      return;
    }
    const to = this.admit(summary, nowMs);
    if (!to) return;
    this.forwarded++;
    const node = this.relay?.route(summary.dst, to);
    if (node === undefined) return this.options.forward(packet);
    this.relayedOut++;
    this.relay!.send(node, packet);
  }

  /**
   * A packet another node of the cluster relayed here (the channel is authenticated with the
   * cluster secret; the sending node's WireGuard authenticated the source and its router passed
   * it). The same rules apply again here: admin peer to device, or a device's answer in a flow an
   * admin opened; never to the hub, never device to device. Delivered through this node's
   * WireGuard only, never relayed on (no loops).
   */
  fromRelay(packet: Uint8Array, nowMs: number, fromNode: string): void {
    const summary = summarizeIpv4(packet);
    if (!summary) return this.drop('malformed');
    if (summary.src === this.options.hubAddress) return this.drop('spoofed_hub_source');
    if (summary.dst === this.options.hubAddress) return this.drop('relay_to_hub');
    const to = this.admit(summary, nowMs);
    if (!to) return;
    if (this.relay?.route(summary.dst, to) !== undefined) return void this.drop('relay_not_here');
    if (to === 'device') this.relay?.learned(summary.src, fromNode);
    this.relayedIn++;
    this.options.forward(packet);
  }

  /** The overlay's rules for a packet between two peers: the destination's role, or undefined (dropped and counted). */
  private admit(summary: PacketSummary, nowMs: number): PeerRole | undefined {
    const from = this.options.roleOf(summary.src);
    const to = this.options.roleOf(summary.dst);
    if (!from || !to) return this.drop('no_route');
    if (from === 'device' && to === 'device') return this.drop('device_to_device');
    if (from === 'admin' && to === 'admin') return this.drop('admin_to_admin');
    if (summary.protocol !== IP_PROTOCOL_TCP && summary.protocol !== IP_PROTOCOL_ICMP) return this.drop('protocol_not_allowed');

    if (from === 'admin') {
      // Admins may only start echo requests, not send unsolicited replies or errors.
      if (summary.protocol === IP_PROTOCOL_ICMP && summary.icmpType !== ICMP_ECHO_REQUEST) {
        return this.drop('protocol_not_allowed');
      }
      // The device's control port is the hub's alone (the agent also checks the source address).
      if (summary.protocol === IP_PROTOCOL_TCP && summary.dstPort === DEVICE_CONTROL_PORT) return this.drop('control_port');
      if (!this.sameOrganization(summary.src, summary.dst)) return this.drop('other_organization');
      this.track(flowKey(summary, 'admin'), summary.protocol, nowMs);
    } else {
      if (summary.protocol === IP_PROTOCOL_ICMP && summary.icmpType !== ICMP_ECHO_REPLY) {
        return this.drop('device_unsolicited');
      }
      const key = flowKey(summary, 'device');
      const expiry = this.flows.get(key);
      if (expiry === undefined || expiry < nowMs) {
        if (expiry !== undefined) this.flows.delete(key);
        return this.drop('device_unsolicited');
      }
      this.track(key, summary.protocol, nowMs);
    }
    return to;
  }

  private sameOrganization(admin: number, device: number): boolean {
    const { organizationOf } = this.options;
    if (!organizationOf) return true;
    const own = organizationOf(admin);
    return own !== undefined && own === organizationOf(device);
  }

  /** A packet from the hub's own netstack, addressed to a peer. */
  fromHub(packet: Uint8Array): void {
    this.forwarded++;
    this.options.forward(packet);
  }

  /** Forget expired flows; call now and then (the hub does it once a second). */
  sweep(nowMs: number): void {
    for (const [key, expiry] of this.flows) if (expiry < nowMs) this.flows.delete(key);
  }

  private track(key: string, protocol: number, nowMs: number): void {
    // Re-inserting keeps the Map in least-recently-used order for eviction.
    this.flows.delete(key);
    this.flows.set(key, nowMs + (protocol === IP_PROTOCOL_TCP ? this.tcpIdleMs : this.icmpIdleMs));
    if (this.flows.size > this.maxFlows) {
      const oldest = this.flows.keys().next().value;
      if (oldest !== undefined) this.flows.delete(oldest);
    }
  }

  private drop(reason: RouterDropReason): undefined {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
    return undefined;
  }
}

/** The same key for both directions of one flow, oriented admin-side first. */
function flowKey(s: PacketSummary, sender: PeerRole): string {
  return sender === 'admin'
    ? `${s.protocol}:${s.src}:${s.srcPort}:${s.dst}:${s.dstPort}`
    : `${s.protocol}:${s.dst}:${s.dstPort}:${s.src}:${s.srcPort}`;
}
