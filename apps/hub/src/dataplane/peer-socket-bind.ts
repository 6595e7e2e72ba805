// The hub's WireGuard socket read on the main thread (PORTHOLE_WG_INGRESS_THREAD=off), with a
// socket of its own for each online device beside it (peer-sockets.ts): a flood that outruns the
// main thread fills only the shared socket's queue, and the kernel drops flood datagrams there,
// not an online device's. Every datagram still goes to the one handler: the device runs the
// cookie checks itself on this path, whichever socket a handshake came in on.
import { UdpBind, type Bind, type Endpoint } from '@porthole/wireguard';
import type { Logger } from '../ops/logger.js';
import { logPeerSocketError, PeerSockets, type PeerSocketsStats } from './peer-sockets.js';

export class PeerSocketBind implements Bind {
  private handler: ((datagram: Uint8Array, from: Endpoint) => void) | undefined;
  private readonly peers: PeerSockets;

  private constructor(
    private readonly udp: UdpBind,
    host: string,
    logger: Logger | undefined,
  ) {
    const deliver = (datagram: Uint8Array, from: Endpoint) => this.handler?.(datagram, from);
    this.peers = new PeerSockets({
      port: udp.localPort,
      host,
      deliver,
      toChecks: deliver,
      onError: (err) => logPeerSocketError(logger, err),
    });
  }

  static async open(options: { port: number; host: string; logger?: Logger }): Promise<PeerSocketBind> {
    const udp = await UdpBind.open({ port: options.port, host: options.host, reuseAddr: true });
    return new PeerSocketBind(udp, options.host, options.logger);
  }

  get localPort(): number {
    return this.udp.localPort;
  }

  get peerSockets(): PeerSocketsStats {
    return this.peers.stats;
  }

  onReceive(handler: (datagram: Uint8Array, from: Endpoint) => void): void {
    this.handler = handler;
    this.udp.onReceive(handler);
  }

  send(datagram: Uint8Array, to: Endpoint): void {
    if (!this.peers.send(datagram, to)) this.udp.send(datagram, to);
  }

  async close(): Promise<void> {
    await this.peers.close();
    await this.udp.close();
  }
}
