// The hub's data plane: the WireGuard endpoint every device dials, the policy router between
// peers, the hub's own netstack on the hub tunnel address (the proxy's TCP connections start
// here), and peer sync with the registry.
import type { Netstack } from '@porthole/netstack';
import { createNetstack, formatIpv4Address, parseIpv4Address } from '@porthole/netstack';
import { ICMP_DEST_UNREACHABLE, ICMP_UNREACH_ADMIN_PROHIBITED, IP_PROTOCOL_ICMP } from '@porthole/netstack/wire';
import { constants, startWireGuardNode, type Bind, type WireGuardEvent, type WireGuardNode } from '@porthole/wireguard';
import type { Logger } from '../ops/logger.js';
import type { DeviceDialer } from '../proxy/contracts.js';
import { createOverlayDialer } from './overlay-dialer.js';
import { OverlayRouter } from './overlay-router.js';
import { summarizeIpv4 } from './packet-summary.js';
import { PeerSync, type PeerSource } from './peer-sync.js';
import { dialPeers } from './resume-peers.js';

export const OVERLAY_MTU_BYTES = 1420;

export interface OverlayOptions {
  privateKey: Uint8Array;
  /** The hub's tunnel address, e.g. 100.64.0.1. */
  hubAddress: string;
  bind: Bind;
  source: PeerSource;
  logger?: Logger;
  /** Called for WireGuard events (handshakes for metrics, endpoint changes). */
  onEvent?(event: WireGuardEvent): void;
  dialTimeoutMs?: number;
  statusFlushMs?: number;
  pollIntervalMs?: number;
  /** Handshake (DH) work per event-loop turn, in ms; default 2 (see @porthole/wireguard's runner). */
  handshakeBudgetMs?: number;
  /**
   * True when every datagram the bind delivers has passed the cookie checks already (UdpIngress,
   * which decides load and sends cookie replies itself): the device then never asks for mac2 of
   * its own, which its cookies (another secret) would make the initiator fail at the ingress.
   */
  handshakesAdmitted?: boolean;
  /**
   * Whether this node may dial a recently seen peer itself (after a start, or when re-enabled).
   * In a cluster a device another live node holds must not be dialled: WireGuard follows the last
   * authenticated packet's source, so the dial would pull the device away from its holder.
   */
  mayResume?(tunnelIp: string): boolean;
  /**
   * The peer at `tunnelIp` may have gone offline before its session expired: it said goodbye
   * (remote access turned off on the device) or its peer was removed.
   */
  onGone?(tunnelIp: string): void;
}

export interface Overlay {
  readonly wireguard: WireGuardNode;
  readonly netstack: Netstack;
  readonly router: OverlayRouter;
  readonly peers: PeerSync;
  readonly dialer: DeviceDialer;
  /**
   * Whether the peer owning `tunnelIp` has a live session (a handshake within REJECT_AFTER_TIME)
   * and has not said since its last handshake that remote access was turned off on it.
   */
  isOnline(tunnelIp: string): boolean;
  /** 'turned-off-on-device' after the device's "administratively prohibited" goodbye, until its next handshake. */
  offlineReason(tunnelIp: string): 'turned-off-on-device' | undefined;
  /** Milliseconds since the last handshake with the peer owning `tunnelIp` (undefined: none). */
  handshakeAgeMs(tunnelIp: string): number | undefined;
  close(): Promise<void>;
}

export async function startOverlay(options: OverlayOptions): Promise<Overlay> {
  const logger = options.logger?.child({ component: 'overlay' });
  const hubAddress = parseIpv4Address(options.hubAddress);
  let wireguard: WireGuardNode | undefined;
  let netstack: Netstack | undefined;
  // The router is built before the node and the stack exist; packets cannot arrive before both do.
  const router = new OverlayRouter({
    hubAddress,
    roleOf: (address) => peers.roleOf(address),
    organizationOf: (address) => peers.organizationOf(address),
    deliverToHub: (packet) => netstack!.receive(packet),
    forward: (packet) => void wireguard!.send(packet),
  });
  netstack = createNetstack({
    address: options.hubAddress,
    mtuBytes: OVERLAY_MTU_BYTES,
    onTransmit: (packet) => router.fromHub(packet),
    // Packets reach the stack only after WireGuard authenticated them (as kernel WireGuard does).
    verifyChecksums: false,
  });
  wireguard = await startWireGuardNode({
    privateKey: options.privateKey,
    bind: options.bind,
    mtu: OVERLAY_MTU_BYTES,
    ...(options.handshakeBudgetMs ? { handshakeBudgetMs: options.handshakeBudgetMs } : {}),
    ...(options.handshakesAdmitted ? { underLoad: false } : {}),
    onPacket: (packet) => {
      noteGoodbye(packet);
      router.fromPeer(packet, wireguard!.now());
    },
    onEvent: (event) => {
      if (event.type === 'handshake-completed' || event.type === 'endpoint-changed') {
        logger?.debug(event.type, { peer: event.peer.slice(0, 8) });
      }
      // A device coming online is written at once; rekeys wait for the status flush.
      if (event.type === 'handshake-completed') peers.handshakeCompleted(event.peer);
      options.onEvent?.(event);
    },
    ...(logger ? { logger } : {}),
  });
  const node = wireguard;

  // An agent whose owner pressed Disable sends one ICMP "communication administratively
  // prohibited" (type 3 code 13) to the hub before it tears its tunnel down. WireGuard has
  // authenticated the source address, so the mark is the device's own word; it holds until the
  // device's next handshake (Enable again) and makes the proxy answer at once, saying why.
  const turnedOff = new Map<number, number | undefined>(); // tunnel IP → lastHandshakeMs at the goodbye
  function noteGoodbye(packet: Uint8Array): void {
    const s = summarizeIpv4(packet);
    if (!s || s.protocol !== IP_PROTOCOL_ICMP || s.dst !== hubAddress) return;
    if (s.icmpType !== ICMP_DEST_UNREACHABLE || s.icmpCode !== ICMP_UNREACH_ADMIN_PROHIBITED) return;
    const key = peers.peerAt(s.src);
    if (key === undefined) return;
    turnedOff.set(s.src, node.device.lastHandshakeOf(key));
    logger?.info('device turned remote access off', { peer: key.slice(0, 8) });
    options.onGone?.(formatIpv4Address(s.src));
  }
  /** True while the goodbye of `address` is newer than its last handshake. */
  function saidGoodbye(address: number, lastHandshakeMs: number | undefined): boolean {
    if (!turnedOff.has(address)) return false;
    if (turnedOff.get(address) === lastHandshakeMs) return true;
    turnedOff.delete(address); // a handshake since: it is back
    return false;
  }
  const resumeFilter = <P extends { tunnelIp: string }>(list: P[]): P[] => (options.mayResume ? list.filter((p) => options.mayResume!(p.tunnelIp)) : list);
  const peers = new PeerSync({
    source: options.source,
    target: node.device,
    monotonicNow: () => node.now(),
    ...(options.statusFlushMs ? { statusFlushMs: options.statusFlushMs } : {}),
    ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
    ...(logger ? { logger } : {}),
    // A device enabled again on the portal is dialled at its old endpoint (it still has a session the hub dropped).
    onReturn: (returning) => void dialPeers(options.hubAddress, resumeFilter(returning), (packet) => node.send(packet)),
    ...(options.onGone ? { onRemoved: options.onGone } : {}),
  });
  try {
    await peers.start();
  } catch (err) {
    netstack.close();
    await node.close();
    throw err;
  }
  const sweeper = setInterval(() => router.sweep(node.now()), 1000);
  sweeper.unref();
  // Devices keep their old sessions across a hub restart: dial the recently seen ones ourselves.
  const resumable = resumeFilter(peers.takeResumable(Date.now()));
  const cancelResume = dialPeers(options.hubAddress, resumable, (packet) => node.send(packet));
  if (resumable.length > 0) logger?.info('dialling recently seen peers after start', { peers: resumable.length });

  return {
    wireguard: node,
    netstack,
    router,
    peers,
    dialer: createOverlayDialer(netstack, options.dialTimeoutMs),
    isOnline(tunnelIp) {
      const address = parseIpv4Address(tunnelIp);
      const key = peers.peerAt(address);
      const last = key === undefined ? undefined : node.device.lastHandshakeOf(key);
      if (last === undefined) return false;
      if (saidGoodbye(address, last)) return false;
      return node.now() - last < constants.REJECT_AFTER_TIME_MS;
    },
    handshakeAgeMs(tunnelIp) {
      const key = peers.peerAt(parseIpv4Address(tunnelIp));
      const last = key === undefined ? undefined : node.device.lastHandshakeOf(key);
      return last === undefined ? undefined : node.now() - last;
    },
    offlineReason(tunnelIp) {
      const address = parseIpv4Address(tunnelIp);
      const key = peers.peerAt(address);
      return saidGoodbye(address, key === undefined ? undefined : node.device.lastHandshakeOf(key)) ? 'turned-off-on-device' : undefined;
    },
    async close() {
      clearInterval(sweeper);
      cancelResume();
      await peers.stop();
      netstack!.close();
      await node.close();
    },
  };
}
