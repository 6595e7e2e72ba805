// The hub's WireGuard socket as configured (PORTHOLE_WG_INGRESS_THREAD, PORTHOLE_WG_PEER_SOCKETS),
// and what the hub falls back to when the platform refuses a part of it: an ingress thread that
// cannot start (no worker threads, its module missing from a build) gives the main thread's reader
// with per-device sockets; a socket that cannot take SO_REUSEADDR gives one plain socket. Each
// step down is logged with its reason. A port that is taken or privileged fails every way alike:
// that error is the hub's, not a reason to try the next way.
import { UdpBind } from '@porthole/wireguard';
import type { Logger } from '../ops/logger.js';
import { PeerSocketBind } from './peer-socket-bind.js';
import { UdpIngress } from './udp-ingress.js';

export interface WireGuardSocketOptions {
  port: number;
  host: string;
  /** The hub's WireGuard public key (the ingress thread's mac1 and cookie checks). */
  publicKey: Uint8Array;
  ingressThread: boolean;
  peerSockets: boolean;
  logger?: Logger;
  /** The ingress thread's module (tests: one that fails); default udp-ingress-thread. */
  threadModule?: URL;
}

export type WireGuardSocket = UdpIngress | PeerSocketBind | UdpBind;

interface Way {
  name: string;
  open(): Promise<WireGuardSocket>;
}

/** Errors of the port itself: every way of opening it would fail the same. */
const PORT_ERRORS = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL']);

export async function openWireGuardSocket(options: WireGuardSocketOptions): Promise<WireGuardSocket> {
  const { port, host, logger } = options;
  const ways: Way[] = [];
  if (options.ingressThread) {
    ways.push({
      name: options.peerSockets ? 'an ingress thread with per-device sockets' : 'an ingress thread',
      open: () => UdpIngress.open({ port, host, publicKey: options.publicKey, peerSockets: options.peerSockets, ...(logger ? { logger } : {}), ...(options.threadModule ? { threadModule: options.threadModule } : {}) }),
    });
  }
  if (options.peerSockets) ways.push({ name: 'the main thread with per-device sockets', open: () => PeerSocketBind.open({ port, host, ...(logger ? { logger } : {}) }) });
  ways.push({ name: 'one socket on the main thread', open: () => UdpBind.open({ port, host }) });

  for (let i = 0; ; i++) {
    const way = ways[i]!;
    try {
      return await way.open();
    } catch (err) {
      const next = ways[i + 1];
      if (!next || PORT_ERRORS.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      logger?.warn(`wireguard socket: ${way.name} failed, using ${next.name}`, { error: (err as Error).message, port });
    }
  }
}
