// The datagram seam of the device (modelled on wireguard-go conn.Bind): a Bind sends datagrams to
// an Endpoint and reports received ones with their source. UdpBind is the node:dgram binding;
// @porthole/wireguard/testing has in-memory binds for tests; a WebSocket carrier can implement the same interface.
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Endpoint } from './endpoint.js';

export interface Bind {
  send(datagram: Uint8Array, to: Endpoint): void;
  onReceive(handler: (datagram: Uint8Array, from: Endpoint) => void): void;
  close(): Promise<void>;
  /** The local UDP port, when the bind has one. */
  readonly localPort?: number;
}

export interface UdpBindOptions {
  /** 0 or undefined: a random free port. */
  port?: number;
  /** Local address; default 0.0.0.0 (IPv4). `::` gives a dual-stack socket (IPv4 and IPv6 peers). */
  host?: string;
  /** Reports socket errors (send failures, ICMP unreachable); the bind keeps running. */
  onError?: (err: Error) => void;
  /**
   * Kernel socket buffer size for each direction; default 4 MiB. The kernel default (~208 KiB)
   * overflows on bursts of a fast TCP flow, which TCP sees as loss and reordering. The kernel caps
   * it at net.core.rmem_max / wmem_max.
   */
  socketBufferBytes?: number;
}

const MAPPED_PREFIX = '::ffff:';

export class UdpBind implements Bind {
  private handler: ((datagram: Uint8Array, from: Endpoint) => void) | undefined;
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly dualStack: boolean,
    readonly localPort: number,
  ) {}

  static async open(options: UdpBindOptions = {}): Promise<UdpBind> {
    const host = options.host ?? '0.0.0.0';
    const v6 = isIPv6(host);
    const socket = createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: false });
    socket.on('error', (err) => options.onError?.(err));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.port ?? 0, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const bufferBytes = options.socketBufferBytes ?? 4 * 1024 * 1024;
    for (const set of [(n: number) => socket.setRecvBufferSize(n), (n: number) => socket.setSendBufferSize(n)]) {
      try {
        set(bufferBytes);
      } catch (err) {
        options.onError?.(err as Error); // keep the kernel default: slower under bursts, still correct
      }
    }
    const bind = new UdpBind(socket, v6, socket.address().port);
    socket.on('message', (msg, rinfo) => {
      if (bind.closed || !bind.handler) return;
      // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; endpoints use the plain form.
      const address = rinfo.address.startsWith(MAPPED_PREFIX) && rinfo.family === 'IPv6' && rinfo.address.includes('.')
        ? rinfo.address.slice(MAPPED_PREFIX.length)
        : rinfo.address;
      bind.handler(msg, { address, port: rinfo.port });
    });
    return bind;
  }

  onReceive(handler: (datagram: Uint8Array, from: Endpoint) => void): void {
    this.handler = handler;
  }

  send(datagram: Uint8Array, to: Endpoint): void {
    if (this.closed) return;
    const address = this.dualStack && !isIPv6(to.address) ? MAPPED_PREFIX + to.address : to.address;
    this.socket.send(datagram, to.port, address);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
