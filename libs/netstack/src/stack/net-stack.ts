// The sans-I/O IPv4 host: packets and the caller's clock in, packets out through onTransmit.
// Ingress follows smoltcp's iface: validate IPv4 (RFC 791, RFC 1122 §3.2.1), answer ICMP echo
// (RFC 792), dispatch TCP to its connection or listener, RST for segments without one
// (RFC 9293 §3.10.7.1). It owns the connection table, listeners with SYN backlogs, the timer heap
// and event delivery. Nothing here reads a clock or starts a timer; the driver does that.
import { randomBytes } from 'node:crypto';
import { IsnGenerator } from '../tcp/isn.js';
import { DEFAULT_TCP_CONFIG, type TcpConfig } from '../tcp/tcp-config.js';
import { TcpConnection } from '../tcp/tcp-connection.js';
import type { ConnectOptions } from '../tcp/tcp-types.js';
import { TcpError } from '../tcp/tcp-error.js';
import type { TcpHost, TcpStats } from '../tcp/tcp-host.js';
import { emitIcmpEcho, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, icmpEchoLen, parseIcmpv4, type IcmpEchoRepr } from '../wire/icmpv4.js';
import { emitIpv4, IP_PROTOCOL_ICMP, IP_PROTOCOL_TCP, IPV4_HEADER_LEN, Ipv4Packet, parseIpv4 } from '../wire/ipv4.js';
import { formatIpv4Address, isUnusableSource, parseIpv4Address } from '../wire/ipv4-address.js';
import { emitTcp, emptyTcpRepr, parseTcp, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, tcpHeaderLen, type TcpRepr } from '../wire/tcp.js';
import { WireError, type DropReason } from '../wire/wire-error.js';
import type { NetstackLogger } from './logger.js';
import { TokenBucket } from './rate-limiter.js';
import { ConnectionTable } from './connection-table.js';
import { emptyStats, type NetStackStats } from './stats.js';
import { TimerHeap } from './timer-heap.js';

export interface NetStackLimits {
  /** Connections in any state, TIME-WAIT included. */
  maxConnections: number;
  /** Half-open (SYN-RECEIVED) connections per listener; further SYNs are dropped. */
  synBacklog: number;
  sendBufferBytes: number;
  receiveBufferBytes: number;
  maxOutOfOrderRanges: number;
  maxOutOfOrderSegments: number;
  /** RFC 5961 §7 challenge ACKs per second (stack-wide). */
  challengeAcksPerSecond: number;
  /** RSTs per second for segments that match no connection. */
  resetsPerSecond: number;
}

export const DEFAULT_LIMITS: NetStackLimits = {
  maxConnections: 16384,
  synBacklog: 256,
  sendBufferBytes: DEFAULT_TCP_CONFIG.sendBufferBytes,
  receiveBufferBytes: DEFAULT_TCP_CONFIG.receiveBufferBytes,
  maxOutOfOrderRanges: DEFAULT_TCP_CONFIG.maxOutOfOrderRanges,
  maxOutOfOrderSegments: DEFAULT_TCP_CONFIG.maxOutOfOrderSegments,
  challengeAcksPerSecond: 1000,
  resetsPerSecond: 1000,
};

export interface NetStackOptions {
  /** Our IPv4 address, e.g. "100.64.0.1". */
  address: string;
  /** Link MTU; TCP advertises MSS = mtu - 40. Default 1420 (WireGuard). */
  mtuBytes?: number;
  /** Receives every packet the stack sends. Must not call receive() of this stack synchronously. */
  onTransmit(packet: Uint8Array): void;
  /** Source of randomness (ISN secret, timestamp offsets, ephemeral ports). Default node:crypto. */
  random?: (size: number) => Uint8Array;
  logger?: NetstackLogger;
  /** Verify IPv4/ICMP/TCP checksums on receive (may be off behind an authenticated tunnel). */
  verifyChecksums?: boolean;
  limits?: Partial<NetStackLimits>;
  /** TCP tuning (timeouts, features); buffer sizes come from `limits`. */
  tcp?: Partial<Omit<TcpConfig, 'mtuBytes'>>;
}

export interface TcpListener {
  readonly port: number;
  close(): void;
}

interface ListenerEntry {
  port: number;
  onAccept: (conn: TcpConnection) => void;
  halfOpen: number;
  backlog: number;
  closed: boolean;
}

/** Packets that arrive re-entrantly (onTransmit feeding back synchronously) wait in a bounded queue. */
const MAX_REENTRANT_QUEUE = 4096;

export class NetStack implements TcpHost {
  readonly address: string;
  readonly localAddr: number;
  readonly config: TcpConfig;
  readonly limits: NetStackLimits;
  readonly stats: NetStackStats = emptyStats();
  private readonly onTransmit: (packet: Uint8Array) => void;
  private readonly random: (size: number) => Uint8Array;
  private readonly logger: NetstackLogger | undefined;
  private readonly verifyChecksums: boolean;
  private readonly isn: IsnGenerator;
  private readonly table = new ConnectionTable();
  private readonly listeners = new Map<number, ListenerEntry>();
  private readonly timers = new TimerHeap<TcpConnection>();
  private dirty: TcpConnection[] = [];
  private depth = 0;
  private inInput = false;
  private reentrant: Buffer[] = [];
  private ipId: number;
  private now = 0;
  private readonly challengeBucket: TokenBucket;
  private readonly resetBucket: TokenBucket;
  private readonly scratch: TcpRepr = emptyTcpRepr();
  private deferredError: unknown;

  constructor(options: NetStackOptions) {
    this.address = options.address;
    this.localAddr = parseIpv4Address(options.address);
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    const mtuBytes = options.mtuBytes ?? DEFAULT_TCP_CONFIG.mtuBytes;
    if (!Number.isInteger(mtuBytes) || mtuBytes < 576 || mtuBytes > 65535) {
      throw new RangeError(`netstack: mtuBytes ${mtuBytes} is outside 576..65535`);
    }
    this.config = {
      ...DEFAULT_TCP_CONFIG,
      ...options.tcp,
      mtuBytes,
      sendBufferBytes: this.limits.sendBufferBytes,
      receiveBufferBytes: this.limits.receiveBufferBytes,
      maxOutOfOrderRanges: this.limits.maxOutOfOrderRanges,
      maxOutOfOrderSegments: this.limits.maxOutOfOrderSegments,
    };
    this.onTransmit = options.onTransmit;
    this.random = options.random ?? ((n) => randomBytes(n));
    this.logger = options.logger;
    this.verifyChecksums = options.verifyChecksums ?? true;
    this.isn = new IsnGenerator(this.random(32));
    this.ipId = this.randomU32() & 0xffff;
    this.challengeBucket = new TokenBucket(this.limits.challengeAcksPerSecond);
    this.resetBucket = new TokenBucket(this.limits.resetsPerSecond);
  }

  get tcpStats(): TcpStats {
    return this.stats.tcp;
  }

  /** Connections in the table (any state, TIME-WAIT included). */
  get connectionCount(): number {
    return this.table.size;
  }

  *connections(): IterableIterator<TcpConnection> {
    yield* this.table;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  // ---------------------------------------------------------------------------------------------
  // Entry points

  /** Processes one received IPv4 packet. Never throws: every rejected packet is counted. */
  receive(packet: Uint8Array, nowMs: number): void {
    if (this.inInput) {
      // onTransmit looped back synchronously: finish the current packet first.
      if (this.reentrant.length < MAX_REENTRANT_QUEUE) this.reentrant.push(Buffer.from(packet));
      else this.drop('tcpReentrantOverflow', 'reentrant queue full');
      return;
    }
    this.enter(nowMs);
    this.inInput = true;
    try {
      this.input(packet, nowMs);
      while (this.reentrant.length > 0) this.input(this.reentrant.shift()!, nowMs);
    } finally {
      this.inInput = false;
      this.leave();
    }
  }

  /** Runs every timer due at `nowMs`. */
  tick(nowMs: number): void {
    this.enter(nowMs);
    try {
      const timers = this.timers;
      while (timers.size > 0 && timers.peekAt()! <= nowMs) {
        const at = timers.peekAt()!;
        const conn = timers.pop()!;
        if (conn.heapAt === at) conn.heapAt = undefined;
        if (conn.released) continue;
        this.guard(() => conn.onTimer(nowMs));
        this.armTimer(conn);
      }
    } finally {
      this.leave();
    }
  }

  /** When tick() should next be called (ms, the caller's clock), or undefined when idle. */
  nextDeadline(): number | undefined {
    return this.timers.peekAt();
  }

  /** Accepts connections on `port`; `onAccept` runs once each handshake completes. */
  listen(port: number, onAccept: (conn: TcpConnection) => void, options: { backlog?: number } = {}): TcpListener {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`netstack: port ${port} is outside 1..65535`);
    if (this.listeners.has(port)) throw new TcpError('EADDRINUSE', 'listen', this.address, port);
    const entry: ListenerEntry = { port, onAccept, halfOpen: 0, backlog: options.backlog ?? this.limits.synBacklog, closed: false };
    this.listeners.set(port, entry);
    return {
      port,
      close: () => {
        if (entry.closed) return;
        entry.closed = true;
        if (this.listeners.get(port) === entry) this.listeners.delete(port);
      },
    };
  }

  /** Active open to `remote`:`port`; the handler of the returned connection sees onEstablished. */
  connect(remote: string | number, port: number, nowMs: number, options: ConnectOptions & { localPort?: number } = {}): TcpConnection {
    const remoteAddr = typeof remote === 'number' ? remote >>> 0 : parseIpv4Address(remote);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`netstack: port ${port} is outside 1..65535`);
    if (this.table.size >= this.limits.maxConnections && !this.reclaimTimeWait()) {
      throw new TcpError('ECONNABORTED', 'connect', formatIpv4Address(remoteAddr), port);
    }
    const localPort = options.localPort ?? this.pickEphemeralPort(remoteAddr, port);
    if (this.lookup(remoteAddr, port, localPort) !== undefined) {
      throw new TcpError('EADDRINUSE', 'connect', formatIpv4Address(remoteAddr), port);
    }
    this.enter(nowMs);
    try {
      const conn = this.createConnection(localPort, remoteAddr, port, false, nowMs);
      conn.open(nowMs, options);
      this.armTimer(conn);
      return conn;
    } finally {
      this.leave();
    }
  }

  /**
   * Runs `fn` (a user call on a connection) as an entry point: events it causes are delivered
   * after it returns, and timers it changed are rearmed.
   */
  call<T>(conn: TcpConnection, nowMs: number, fn: () => T): T {
    this.enter(nowMs);
    try {
      return fn();
    } finally {
      if (!conn.released) this.armTimer(conn);
      this.leave();
    }
  }

  /** Aborts every connection (RST) and closes every listener. */
  close(nowMs: number): void {
    this.enter(nowMs);
    try {
      for (const l of this.listeners.values()) l.closed = true;
      this.listeners.clear();
      for (const conn of [...this.connections()]) {
        const h = conn.handler;
        const err = conn.makeError('ECONNABORTED', 'close');
        conn.abort(nowMs);
        h?.onClose?.(err);
      }
      this.timers.clear();
    } finally {
      this.leave();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Ingress

  private input(packet: Uint8Array, nowMs: number): void {
    this.stats.packetsIn++;
    this.stats.bytesIn += packet.length;
    try {
      const ipPacket = Ipv4Packet.checked(packet);
      const ip = parseIpv4(ipPacket, this.verifyChecksums);
      if (ip.dstAddr !== this.localAddr) return this.drop('ipv4NotForUs');
      if (isUnusableSource(ip.srcAddr) || ip.srcAddr === this.localAddr) return this.drop('ipv4BadSource');
      const payload = ipPacket.payload;
      if (ip.protocol === IP_PROTOCOL_TCP) this.inputTcp(ip.srcAddr, payload, nowMs);
      else if (ip.protocol === IP_PROTOCOL_ICMP) this.inputIcmp(ip.srcAddr, payload);
      else this.drop('ipv4UnknownProtocol');
    } catch (err) {
      if (err instanceof WireError) this.drop(err.reason, err.message);
      else this.internalError(err);
    }
  }

  private inputIcmp(srcAddr: number, payload: Uint8Array): void {
    const icmp = parseIcmpv4(payload, this.verifyChecksums);
    if (icmp.type !== ICMP_ECHO_REQUEST || !('identifier' in icmp)) return this.drop('icmpUnsupportedType');
    // RFC 1122 §3.2.2.6: the reply carries the request's identifier, sequence and data unchanged.
    const reply: IcmpEchoRepr = { type: ICMP_ECHO_REPLY, identifier: icmp.identifier, sequence: icmp.sequence, data: icmp.data };
    const len = icmpEchoLen(reply);
    const buf = Buffer.allocUnsafe(IPV4_HEADER_LEN + len);
    emitIpv4(
      { srcAddr: this.localAddr, dstAddr: srcAddr, protocol: IP_PROTOCOL_ICMP, payloadLen: len, ttl: 64, ident: this.nextIpId(), dontFragment: false, dscpEcn: 0 },
      buf,
    );
    emitIcmpEcho(reply, buf, IPV4_HEADER_LEN);
    this.stats.icmpEchoReplies++;
    this.transmit(buf);
  }

  private inputTcp(srcAddr: number, payload: Uint8Array, nowMs: number): void {
    const seg = parseTcp(payload, srcAddr, this.localAddr, this.verifyChecksums);
    const flags = seg.flags;
    // SYN with FIN or RST is nonsense no real stack sends; dropping avoids ambiguous state changes.
    if (flags & TCP_SYN && flags & (TCP_FIN | TCP_RST)) return this.drop('tcpBadFlags');
    this.stats.tcp.segmentsIn++;
    let conn = this.lookup(srcAddr, seg.srcPort, seg.dstPort);
    if (conn !== undefined) {
      // RFC 6191 / RFC 1122 4.2.2.13: a new SYN above the old sequence space may reopen a TIME-WAIT tuple.
      if (
        conn.state === 'TIME-WAIT' &&
        (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN &&
        this.listeners.has(seg.dstPort) &&
        conn.rcv.unwrap(seg.seq) >= conn.rcv.nxt
      ) {
        conn.terminate(undefined);
        conn = undefined;
      } else {
        conn.onSegment(seg, nowMs);
        if (!conn.released) this.armTimer(conn);
        return;
      }
    }
    const listener = this.listeners.get(seg.dstPort);
    if (listener !== undefined) {
      // RFC 9293 §3.10.7.2 LISTEN: ignore RST, reset anything carrying ACK, open on SYN.
      if (flags & TCP_RST) return;
      if (flags & TCP_ACK) {
        this.sendResetFor(seg, srcAddr);
        return;
      }
      if (!(flags & TCP_SYN)) return;
      if (this.table.size >= this.limits.maxConnections && !this.reclaimTimeWait()) return this.drop('tcpConnectionLimit');
      if (listener.halfOpen >= listener.backlog) return this.drop('tcpBacklogFull');
      listener.halfOpen++;
      const c = this.createConnection(seg.dstPort, srcAddr, seg.srcPort, true, nowMs);
      c.listenerTag = listener;
      c.acceptSyn(seg, nowMs);
      this.armTimer(c);
      return;
    }
    this.drop('tcpNoListener');
    if (!(flags & TCP_RST)) this.sendResetFor(seg, srcAddr);
  }

  // ---------------------------------------------------------------------------------------------
  // TcpHost

  transmit(packet: Buffer): void {
    this.stats.packetsOut++;
    this.stats.bytesOut += packet.length;
    try {
      this.onTransmit(packet);
    } catch (err) {
      this.stats.transmitErrors++;
      this.logger?.warn?.('netstack: onTransmit threw', { error: String(err) });
    }
  }

  nextIpId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }

  notify(conn: TcpConnection): void {
    if (conn.queuedForEvents) return;
    conn.queuedForEvents = true;
    this.dirty.push(conn);
  }

  release(conn: TcpConnection): void {
    if (conn.released) return;
    conn.released = true;
    this.table.remove(conn);
    // A passive connection that dies half-open gives its backlog slot back.
    this.onPassiveEstablished(conn);
  }

  /** Frees the SYN-backlog slot a passive connection held while half-open. */
  onPassiveEstablished(conn: TcpConnection): void {
    const listener = conn.listenerTag as ListenerEntry | undefined;
    if (listener) {
      listener.halfOpen = Math.max(0, listener.halfOpen - 1);
      conn.listenerTag = undefined;
    }
  }

  accept(conn: TcpConnection): void {
    const listener = this.listeners.get(conn.localPort);
    if (listener === undefined || listener.closed) {
      // The listener went away during the handshake: refuse the connection as Linux would.
      conn.abort(this.now);
      return;
    }
    listener.onAccept(conn);
  }

  allowChallengeAck(nowMs: number): boolean {
    return this.challengeBucket.take(nowMs);
  }

  /** RFC 9293 §3.10.7.1: <SEQ=SEG.ACK><CTL=RST>, or <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. */
  sendResetFor(seg: TcpRepr, remoteAddr: number): void {
    if (seg.flags & TCP_RST) return;
    if (!this.resetBucket.take(this.now)) return;
    const r = this.scratch;
    r.srcPort = seg.dstPort;
    r.dstPort = seg.srcPort;
    r.window = 0;
    r.urgent = 0;
    r.mss = r.windowScale = r.tsVal = r.sackBlocks = undefined;
    r.sackPermitted = false;
    r.tsEcr = 0;
    r.payload = new Uint8Array(0);
    if (seg.flags & TCP_ACK) {
      r.seq = seg.ack;
      r.ack = 0;
      r.flags = TCP_RST;
    } else {
      const len = seg.payload.length + (seg.flags & TCP_SYN ? 1 : 0) + (seg.flags & TCP_FIN ? 1 : 0);
      r.seq = 0;
      r.ack = (seg.seq + len) >>> 0;
      r.flags = TCP_RST | TCP_ACK;
    }
    const tcpLen = tcpHeaderLen(r);
    const buf = Buffer.allocUnsafe(IPV4_HEADER_LEN + tcpLen);
    emitIpv4(
      { srcAddr: this.localAddr, dstAddr: remoteAddr, protocol: IP_PROTOCOL_TCP, payloadLen: tcpLen, ttl: 64, ident: this.nextIpId(), dontFragment: true, dscpEcn: 0 },
      buf,
    );
    emitTcp(r, buf, IPV4_HEADER_LEN, this.localAddr, remoteAddr);
    this.stats.tcp.resetsSent++;
    this.stats.tcp.segmentsOut++;
    this.transmit(buf);
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  private createConnection(localPort: number, remoteAddr: number, remotePort: number, passive: boolean, nowMs: number): TcpConnection {
    const iss = this.isn.generate(nowMs, this.localAddr, localPort, remoteAddr, remotePort);
    const conn = new TcpConnection(this, localPort, remoteAddr, remotePort, iss, this.randomU32(), passive, nowMs);
    this.table.add(conn);
    return conn;
  }

  /**
   * With the table full, ends the TIME-WAIT connection closest to expiry to make room (as Linux's
   * tcp_max_tw_buckets does): a live connection is worth more than a lingering one.
   */
  private reclaimTimeWait(): boolean {
    const victim = this.table.oldestTimeWait();
    if (victim === undefined) return false;
    victim.terminate(undefined);
    this.stats.timeWaitReclaimed++;
    return true;
  }

  private lookup(remoteAddr: number, remotePort: number, localPort: number): TcpConnection | undefined {
    return this.table.lookup(remoteAddr, remotePort, localPort);
  }

  private pickEphemeralPort(remoteAddr: number, remotePort: number): number {
    const port = this.table.pickEphemeralPort(remoteAddr, remotePort, this.randomU32());
    if (port === undefined) throw new TcpError('EADDRINUSE', 'connect', formatIpv4Address(remoteAddr), remotePort);
    return port;
  }

  private randomU32(): number {
    const b = this.random(4);
    return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  }

  /** Pushes a heap entry when the connection's earliest deadline moved before its last entry. */
  private armTimer(conn: TcpConnection): void {
    if (conn.released) return;
    const at = conn.nextTimerAt();
    if (at !== undefined && (conn.heapAt === undefined || at < conn.heapAt)) {
      conn.heapAt = at;
      this.timers.push(at, conn);
    }
  }

  private enter(nowMs: number): void {
    if (this.depth === 0) this.now = nowMs;
    this.depth++;
  }

  private leave(): void {
    if (this.depth === 1) this.flushEvents();
    this.depth--;
    if (this.depth === 0 && this.deferredError !== undefined) {
      const err = this.deferredError;
      this.deferredError = undefined;
      // An application handler threw: surface it like an uncaught exception in an event listener.
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  /** Delivers pending connection events; handlers may call back into the stack. */
  private flushEvents(): void {
    for (let i = 0; i < this.dirty.length; i++) {
      const conn = this.dirty[i]!;
      conn.queuedForEvents = false;
      try {
        conn.dispatchEvents();
      } catch (err) {
        this.deferredError ??= err;
      }
      if (!conn.released) this.armTimer(conn);
    }
    this.dirty = [];
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.internalError(err);
    }
  }

  private drop(reason: DropReason, detail?: string): void {
    this.stats.drops[reason]++;
    this.logger?.debug?.('netstack: drop', { reason, detail });
  }

  private internalError(err: unknown): void {
    this.stats.internalErrors++;
    this.logger?.error?.('netstack: internal error', { error: err instanceof Error ? err.stack : String(err) });
  }
}
