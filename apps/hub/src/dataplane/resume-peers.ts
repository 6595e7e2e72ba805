// After a hub restart the devices still hold sessions the new process does not know: their
// keepalives are dropped (unknown receiver index) and, left alone, a device notices only after
// WireGuard's 15 s no-reply rule on its next probe (or at its next rekey). The hub knows from the
// registry where each peer was last heard from, so it dials recently seen peers itself: it sets the
// endpoint and sends one ICMP echo, which WireGuard stages and turns into a handshake initiation.
// NAT mappings towards the hub's unchanged address and port are still open, so it gets through.
import { parseIpv4Address } from '@porthole/netstack';
import { buildIcmpv4Packet, ICMP_ECHO_REQUEST, type IcmpEchoRepr } from '@porthole/netstack/wire';
import type { PeerConfig } from '@porthole/wireguard';

/** Peers heard from within this window before the start are dialled (their NAT mapping likely lives). */
export const RESUME_WINDOW_MS = 10 * 60_000;
/** Handshake initiations cost DH work on both ends: spread large fleets over time. */
export const RESUME_BATCH = 64;
export const RESUME_BATCH_INTERVAL_MS = 50;

export interface ResumablePeer {
  publicKey: string;
  tunnelIp: string;
  lastEndpoint?: string | null;
  lastHandshakeAt?: Date | null;
}

/** `1.2.3.4:51820` or `[fd00::1]:51820` → endpoint; undefined for anything else. */
export function parseEndpoint(text: string): PeerConfig['endpoint'] {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { address: (m[1] ?? m[2])!, port };
}

/** The peers worth dialling: a usable endpoint and a handshake within the window before `nowMs`. */
export function resumablePeers<T extends ResumablePeer>(peers: readonly T[], nowMs: number, windowMs = RESUME_WINDOW_MS): (T & { endpoint: NonNullable<PeerConfig['endpoint']> })[] {
  const out: (T & { endpoint: NonNullable<PeerConfig['endpoint']> })[] = [];
  for (const peer of peers) {
    if (!peer.lastEndpoint || !peer.lastHandshakeAt) continue;
    const age = nowMs - peer.lastHandshakeAt.getTime();
    if (age < 0 || age > windowMs) continue;
    const endpoint = parseEndpoint(peer.lastEndpoint);
    if (endpoint) out.push({ ...peer, endpoint });
  }
  return out;
}

/** The echo identifier of the hub's dialling packets ("ph"). */
export const DIAL_ECHO_IDENT = 0x7068;
const NO_DATA = new Uint8Array(0);

/** An echo request (RFC 792) from the hub to `tunnelIp`: WireGuard stages it and starts a handshake. */
function dialPacket(hubAddress: number, tunnelIp: string, sequence: number): Uint8Array {
  const echo: IcmpEchoRepr = { type: ICMP_ECHO_REQUEST, identifier: DIAL_ECHO_IDENT, sequence: sequence & 0xffff, data: NO_DATA };
  return buildIcmpv4Packet({ srcAddr: hubAddress, dstAddr: parseIpv4Address(tunnelIp) }, echo);
}

/**
 * Sends one echo per peer in batches; returns a function that cancels what is still pending.
 * `send` is the WireGuard node's send (the packet is staged until the handshake completes).
 */
export function dialPeers(hubAddress: string, peers: readonly { tunnelIp: string }[], send: (packet: Uint8Array) => unknown): () => void {
  const source = parseIpv4Address(hubAddress);
  let i = 0;
  let timer: NodeJS.Timeout | undefined;
  const batch = () => {
    const end = Math.min(peers.length, i + RESUME_BATCH);
    for (; i < end; i++) send(dialPacket(source, peers[i]!.tunnelIp, i));
    if (i < peers.length) {
      timer = setTimeout(batch, RESUME_BATCH_INTERVAL_MS);
      timer.unref();
    }
  };
  batch();
  return () => clearTimeout(timer);
}
