// One UDP socket per online device, on the hub's WireGuard port and connected to the device's
// endpoint, beside the ingress thread's socket (udp-ingress.ts). Linux hands a datagram to the
// socket that matches it most closely, so a connected socket on the port (both with SO_REUSEADDR)
// gets every datagram from its device, and the wildcard socket only the rest. A flood at the
// wildcard socket, however far it outruns its reader, then fills only that socket's queue: the
// kernel drops flood datagrams there, never an online device's data, which the main thread reads
// from the device's own queue without a trip through the ingress thread.
//
// A socket is opened when the hub sends transport data to an endpoint (only a peer with a session,
// i.e. one that authenticated itself from that endpoint, gets transport data), and closed when
// nothing came from it for a while (the device roamed, or went away), on an ICMP error, and never
// more than `maxSockets` at once. What the devices see is unchanged: the same port, and the source
// address the kernel picks by route for an unconnected send too.
//
// Only transport data and cookie replies go straight to the main thread: anything else a connected
// socket gets (a device's handshake, or whatever reached the socket before its connect) goes
// through the ingress thread's checks like every other datagram (`toChecks`).
import { createSocket, type Socket } from 'node:dgram';
import { isIP, isIPv6 } from 'node:net';
import { constants, lookupLiteral, socketAddress, sourceAddress, type Endpoint } from '@porthole/wireguard';
import type { Logger } from '../ops/logger.js';

export interface PeerSocketsOptions {
  port: number;
  host: string;
  /** Transport data and cookie replies from a device. */
  deliver(datagram: Uint8Array, from: Endpoint): void;
  /** Every other datagram: for the ingress thread's checks. */
  toChecks(datagram: Uint8Array, from: Endpoint): void;
  /** At most this many connected sockets; default 1,024 (each is a file descriptor). */
  maxSockets?: number;
  /** A socket that received nothing for one to two of these is closed; default 60 s (agents keep alive every 25 s). */
  idleMs?: number;
  onError?(err: Error): void;
}

export interface PeerSocketsStats {
  open: number;
  opened: number;
  received: number;
  sent: number;
}

const { MESSAGE_TRANSPORT_TYPE, MESSAGE_COOKIE_REPLY_TYPE } = constants;
const DEFAULT_MAX_SOCKETS = 1_024;
const DEFAULT_IDLE_MS = 60_000;

interface PeerSocket {
  readonly key: string;
  readonly endpoint: Endpoint;
  readonly socket: Socket;
  connected: boolean;
  receivedSinceSweep: boolean;
}

export class PeerSockets {
  private readonly byKey = new Map<string, PeerSocket>();
  /** Endpoint objects are kept by the device per peer: a send finds its socket without a string key. */
  private byEndpoint = new WeakMap<Endpoint, PeerSocket>();
  private readonly dualStack: boolean;
  private readonly sweep: NodeJS.Timeout;
  private closed = false;
  private disabled = false;
  private opened = 0;
  private received = 0;
  private sent = 0;

  constructor(private readonly options: PeerSocketsOptions) {
    this.dualStack = isIPv6(options.host);
    this.sweep = setInterval(() => this.closeIdle(), options.idleMs ?? DEFAULT_IDLE_MS);
    this.sweep.unref();
  }

  get stats(): PeerSocketsStats {
    return { open: this.byKey.size, opened: this.opened, received: this.received, sent: this.sent };
  }

  /**
   * Sends on the socket connected to `to`, opening one for transport data; false when there is no
   * connected socket (yet): the caller sends the usual way.
   */
  send(datagram: Uint8Array, to: Endpoint): boolean {
    if (this.closed || this.disabled || (to.transport !== undefined && to.transport !== 'udp')) return false;
    let peer = this.byEndpoint.get(to);
    if (!peer) {
      peer = this.byKey.get(`${to.address}|${to.port}`);
      if (peer) this.byEndpoint.set(to, peer);
      else if (datagram[0] === MESSAGE_TRANSPORT_TYPE) this.open(to);
    }
    if (!peer?.connected) return false;
    peer.socket.send(datagram);
    this.sent++;
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweep);
    await Promise.all([...this.byKey.values()].map((peer) => this.drop(peer)));
  }

  private open(to: Endpoint): void {
    if (this.byKey.size >= (this.options.maxSockets ?? DEFAULT_MAX_SOCKETS)) return;
    if (isIP(to.address) === 0) return;
    const address = socketAddress(this.dualStack, to.address);
    const socket = createSocket({ type: this.dualStack ? 'udp6' : 'udp4', reuseAddr: true, ipv6Only: false, lookup: lookupLiteral });
    const endpoint: Endpoint = { address: to.address, port: to.port };
    const peer: PeerSocket = { key: `${to.address}|${to.port}`, endpoint, socket, connected: false, receivedSinceSweep: true };
    this.byKey.set(peer.key, peer);
    this.byEndpoint.set(to, peer);
    this.opened++;
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.options.onError?.(err);
      // A socket that cannot share the port (the wildcard socket lacks SO_REUSEADDR, or another
      // process holds the port) would fail again for every device: stop opening them.
      if (err.syscall === 'bind') this.disabled = true;
      // Otherwise ECONNREFUSED and the like: the device's port is gone; the next transport send opens anew.
      void this.drop(peer);
    });
    socket.on('message', (msg, rinfo) => {
      this.received++;
      peer.receivedSinceSweep = true;
      // Until connect, the socket is a second wildcard on the port and may get anyone's datagram.
      const fromPeer = rinfo.port === to.port && rinfo.address === address;
      const from = fromPeer ? endpoint : { address: sourceAddress(rinfo), port: rinfo.port };
      const type = msg[0];
      if (fromPeer && (type === MESSAGE_TRANSPORT_TYPE || type === MESSAGE_COOKIE_REPLY_TYPE)) this.options.deliver(msg, from);
      else this.options.toChecks(msg, from);
    });
    try {
      // With a literal lookup both happen now, one after the other: the unconnected moment is short.
      socket.bind(this.options.port, this.options.host);
      socket.connect(to.port, address, () => {
        if (this.byKey.get(peer.key) === peer) peer.connected = true;
      });
    } catch (err) {
      this.options.onError?.(err as Error);
      this.disabled = true;
      void this.drop(peer);
    }
  }

  private closeIdle(): void {
    for (const peer of this.byKey.values()) {
      if (!peer.receivedSinceSweep) void this.drop(peer);
      else peer.receivedSinceSweep = false;
    }
  }

  private drop(peer: PeerSocket): Promise<void> {
    if (this.byKey.get(peer.key) !== peer) return Promise.resolve();
    this.byKey.delete(peer.key);
    // Endpoint objects that pointed at it would find it gone only by key: start the weak map afresh.
    this.byEndpoint = new WeakMap();
    peer.connected = false;
    return new Promise((resolve) => {
      try {
        peer.socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
  }
}

/**
 * A peer socket's error: at debug, but a bind that fails turns the per-device sockets off (the
 * platform or the port refuses to share it), which an admin must hear of.
 */
export function logPeerSocketError(logger: Logger | undefined, err: NodeJS.ErrnoException): void {
  if (err.syscall === 'bind') logger?.warn('wireguard per-device sockets off: the port cannot be shared (SO_REUSEADDR); a flood can crowd out online devices', { error: err.message });
  else logger?.debug('wireguard peer socket error', { error: err.message });
}
