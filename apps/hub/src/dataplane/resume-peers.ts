// After a hub restart the devices still hold sessions the new process does not know: their
// keepalives are dropped (unknown receiver index) and, left alone, a device notices only after
// WireGuard's 15 s no-reply rule on its next probe (or at its next rekey). The hub knows from the
// registry where each peer was last heard from, so it dials recently seen peers itself: it sets the
// endpoint and sends one ICMP echo, which WireGuard stages and turns into a handshake initiation.
// NAT mappings towards the hub's unchanged address and port are still open, so it gets through.
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

/** RFC 792 echo request from `src` to `dst` (dotted quads): 20-byte IPv4 header + 8-byte ICMP header. */
export function icmpEchoRequest(src: string, dst: string, id: number, seq: number): Uint8Array {
  const p = Buffer.alloc(28);
  p[0] = 0x45;
  p.writeUInt16BE(28, 2);
  p[8] = 64; // TTL
  p[9] = 1; // ICMP
  p.set(src.split('.').map(Number), 12);
  p.set(dst.split('.').map(Number), 16);
  p.writeUInt16BE(checksum(p.subarray(0, 20)), 10);
  p[20] = 8; // echo request
  p.writeUInt16BE(id & 0xffff, 24);
  p.writeUInt16BE(seq & 0xffff, 26);
  p.writeUInt16BE(checksum(p.subarray(20)), 22);
  return p;
}

function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Sends one echo per peer in batches; returns a function that cancels what is still pending.
 * `send` is the WireGuard node's send (the packet is staged until the handshake completes).
 */
export function dialPeers(hubAddress: string, peers: readonly { tunnelIp: string }[], send: (packet: Uint8Array) => unknown): () => void {
  let i = 0;
  let timer: NodeJS.Timeout | undefined;
  const batch = () => {
    const end = Math.min(peers.length, i + RESUME_BATCH);
    for (; i < end; i++) send(icmpEchoRequest(hubAddress, peers[i]!.tunnelIp, 0x7068, i));
    if (i < peers.length) {
      timer = setTimeout(batch, RESUME_BATCH_INTERVAL_MS);
      timer.unref();
    }
  };
  batch();
  return () => clearTimeout(timer);
}
