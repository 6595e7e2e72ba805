// The datagram seam of the device (modelled on wireguard-go conn.Bind): a Bind sends datagrams to
// an Endpoint and reports received ones with their source. UdpBind is the node:dgram binding;
// @porthole/wireguard/testing has in-memory binds for tests; a WebSocket carrier can implement the same interface.
import { createSocket, type Socket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP, isIPv6 } from 'node:net';
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
  /**
   * For a bind that talks to one peer (an agent and its hub; never a hub, which must hear every
   * peer): once the peer has answered from the address the bind sends to, the socket is connected
   * to it, so a send skips Node's per-datagram address handling and the kernel's route lookup
   * (about a fifth of a send's CPU). A connected socket hears that address only, as the
   * filter of most NATs does; it lets go (and hears everyone again) when a datagram goes anywhere
   * else (a roamed or failed-over endpoint) and when nothing came in for `singlePeerQuietMs`.
   */
  singlePeer?: boolean;
  /**
   * SO_REUSEADDR: other sockets may bind the same port, e.g. one connected to each of a hub's
   * online peers (Linux gives a datagram to the socket that matches it most closely: a connected
   * one for its peer's datagrams, this one for the rest). Any local process can then bind the port
   * too; off by default.
   */
  reuseAddr?: boolean;
  /** Default 15 s: a quiet connected socket is disconnected after 15–30 s. */
  singlePeerQuietMs?: number;
}

const MAPPED_PREFIX = '::ffff:';

/** A received datagram's source address as endpoints write it: a dual-stack socket's ::ffff:a.b.c.d as a.b.c.d. */
export function sourceAddress(rinfo: { address: string; family: string }): string {
  return rinfo.address.startsWith(MAPPED_PREFIX) && rinfo.family === 'IPv6' && rinfo.address.includes('.') ? rinfo.address.slice(MAPPED_PREFIX.length) : rinfo.address;
}

/** The address a socket bound to `host` sends to for `address` (dual stack: IPv4 as ::ffff:a.b.c.d). */
export function socketAddress(dualStack: boolean, address: string): string {
  return dualStack && !isIPv6(address) ? MAPPED_PREFIX + address : address;
}
const DEFAULT_QUIET_MS = 15_000;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * dgram resolves the address of every send through its lookup function, which for an IP literal
 * is dns.lookup answering on the next tick (a closure and a tick per datagram). Endpoints are IP
 * literals: answer those at once, and leave names to dns.lookup.
 */
export function lookupLiteral(address: string, family: number | LookupOneOptions, callback: LookupCallback): void {
  const version = isIP(address);
  if (version !== 0) return callback(null, address, version);
  dnsLookup(address, typeof family === 'number' ? { family } : family, callback);
}

async function bindSocket(host: string, port: number, options: UdpBindOptions): Promise<Socket> {
  const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', ipv6Only: false, reuseAddr: options.reuseAddr ?? false, lookup: lookupLiteral });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', (err) => options.onError?.(err));
  return socket;
}

/**
 * A socket on a random free port bound by number: Linux gives an automatically chosen port back
 * when the socket disconnects (only an explicitly bound one stays), and a single-peer bind
 * connects and disconnects. So: learn a free port, then bind to it (again if it was taken meanwhile).
 */
async function bindPinned(host: string, options: UdpBindOptions): Promise<Socket> {
  for (let attempt = 1; ; attempt++) {
    const probe = await bindSocket(host, 0, {});
    const port = probe.address().port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    try {
      return await bindSocket(host, port, options);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 5) throw err;
    }
  }
}

export class UdpBind implements Bind {
  private handler: ((datagram: Uint8Array, from: Endpoint) => void) | undefined;
  private closed = false;
  /** The endpoint the socket is connected to (singlePeer), and what quiet checks saw. */
  private connectedTo: Endpoint | undefined;
  private quietTimer: NodeJS.Timeout | undefined;
  private received = 0;
  private receivedAtCheck = 0;
  /** Where the last datagram came from (singlePeer: connect only to a peer that answers). */
  private lastFrom: Endpoint | undefined;
  /** The last endpoint sent to and its address as the socket wants it (dual stack: mapped). */
  private lastTo: Endpoint | undefined;
  private lastToAddress = '';
  /** Datagrams of this turn, sent together once the turn's code has run (see send). */
  private pending: Uint8Array[] = [];
  private pendingTo: Endpoint[] = [];
  private readonly flushPending = (): void => {
    const datagrams = this.pending;
    const targets = this.pendingTo;
    this.pending = [];
    this.pendingTo = [];
    for (let i = 0; i < datagrams.length; i++) this.sendNow(datagrams[i]!, targets[i]!);
  };

  private constructor(
    private readonly socket: Socket,
    private readonly dualStack: boolean,
    readonly localPort: number,
    private readonly options: UdpBindOptions,
  ) {}

  static async open(options: UdpBindOptions = {}): Promise<UdpBind> {
    const host = options.host ?? '0.0.0.0';
    const v6 = isIPv6(host);
    const socket = options.singlePeer && !options.port ? await bindPinned(host, options) : await bindSocket(host, options.port ?? 0, options);
    const bufferBytes = options.socketBufferBytes ?? 4 * 1024 * 1024;
    for (const set of [(n: number) => socket.setRecvBufferSize(n), (n: number) => socket.setSendBufferSize(n)]) {
      try {
        set(bufferBytes);
      } catch (err) {
        options.onError?.(err as Error); // keep the kernel default: slower under bursts, still correct
      }
    }
    const bind = new UdpBind(socket, v6, socket.address().port, options);
    socket.on('message', (msg, rinfo) => {
      if (bind.closed || !bind.handler) return;
      bind.received++;
      // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; endpoints use the plain form.
      const address = sourceAddress(rinfo);
      const from = { address, port: rinfo.port };
      if (options.singlePeer) bind.lastFrom = from;
      bind.handler(msg, from);
    });
    return bind;
  }

  /** The endpoint the socket is connected to (singlePeer), if any. */
  get connectedEndpoint(): Endpoint | undefined {
    return this.connectedTo;
  }

  onReceive(handler: (datagram: Uint8Array, from: Endpoint) => void): void {
    this.handler = handler;
  }

  /**
   * Queues the datagram and sends the turn's datagrams together once the code that produced them
   * has run (process.nextTick), as dgram did when it resolved each address on the next tick: a
   * burst then reaches the peer in one go and wakes it once, instead of once per datagram while
   * the rest is still being made (sending each datagram at once roughly halved the visitor
   * path's requests/s at 16 connections in alternating runs against the deferred sends).
   */
  send(datagram: Uint8Array, to: Endpoint): void {
    if (this.closed) return;
    if (this.pending.length === 0) process.nextTick(this.flushPending);
    this.pending.push(datagram);
    this.pendingTo.push(to);
  }

  private sendNow(datagram: Uint8Array, to: Endpoint): void {
    if (this.closed) return;
    const connected = this.connectedTo;
    if (connected) {
      if (to === connected || (to.port === connected.port && to.address === connected.address)) return void this.socket.send(datagram);
      this.disconnect(); // somewhere else now: unconnected sends, and every source heard again
    } else if (this.options.singlePeer && this.lastFrom && to.port === this.lastFrom.port && to.address === this.lastFrom.address && this.connect(to)) {
      return void this.socket.send(datagram);
    }
    this.socket.send(datagram, to.port, this.addressFor(to));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.quietTimer);
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private addressFor(to: Endpoint): string {
    if (to === this.lastTo) return this.lastToAddress;
    this.lastTo = to;
    this.lastToAddress = socketAddress(this.dualStack, to.address);
    return this.lastToAddress;
  }

  /** Connects the socket to `to`; false if that did not happen at once (then it stays unconnected). */
  private connect(to: Endpoint): boolean {
    if (isIP(to.address) === 0) return false; // a name would connect later, racing the sends in between
    try {
      // An IP literal connects synchronously (lookupLiteral answers at once); remoteAddress()
      // throws unless the socket is connected now.
      this.socket.connect(to.port, this.addressFor(to));
      this.socket.remoteAddress();
    } catch {
      // A failed connect is reported through the socket's 'error' event; unconnected sends go on.
      this.lastFrom = undefined; // not again until the peer is heard anew
      return false;
    }
    this.connectedTo = { address: to.address, port: to.port };
    this.receivedAtCheck = this.received;
    this.quietTimer = setInterval(() => {
      if (this.received === this.receivedAtCheck) this.disconnect();
      else this.receivedAtCheck = this.received;
    }, this.options.singlePeerQuietMs ?? DEFAULT_QUIET_MS);
    this.quietTimer.unref();
    return true;
  }

  private disconnect(): void {
    clearInterval(this.quietTimer);
    this.quietTimer = undefined;
    this.connectedTo = undefined;
    this.lastFrom = undefined; // reconnect only after the peer answers again
    try {
      this.socket.disconnect();
    } catch (err) {
      this.options.onError?.(err as Error);
    }
  }
}
