// The sans-I/O IPv4 host: packets and the caller's clock in, packets out through onTransmit.
// Ingress follows smoltcp's iface: validate IPv4 (RFC 791, RFC 1122 §3.2.1), answer ICMP echo
// (RFC 792), dispatch TCP to its connection or listener, RST for segments without one
// (RFC 9293 §3.10.7.1). It owns the connection table, listeners with SYN backlogs, the timer heap
// and event delivery. Nothing here reads a clock or starts a timer; the driver does that.
import { randomBytes } from 'node:crypto';
import { IsnGenerator } from '../tcp/isn.js';
import type { TcpConfig } from '../tcp/tcp-config.js';
import { TcpConnection } from '../tcp/tcp-connection.js';
import { TcpError } from '../tcp/tcp-error.js';
import type { TcpHost, TcpStats } from '../tcp/tcp-host.js';
import type { ConnectOptions } from '../tcp/tcp-types.js';
import { ICMP_ECHO_REQUEST, isIcmpEcho, parseIcmpv4 } from '../wire/icmpv4.js';
import { checkIpv4Header, IP_PROTOCOL_ICMP, IP_PROTOCOL_TCP, ipv4LengthError, Ipv4Packet } from '../wire/ipv4.js';
import { formatIpv4Address, isUnusableSource, parseIpv4Address } from '../wire/ipv4-address.js';
import { emptyTcpRepr, parseTcpInto, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpRepr } from '../wire/tcp.js';
import { WireError, type DropReason } from '../wire/wire-error.js';
import { ConnectionTable } from './connection-table.js';
import { ListenerTable, type TcpListener } from './listener-table.js';
import type { NetstackLogger } from './logger.js';
import { DEFAULT_LIMITS, resolveTcpConfig, type NetStackLimits, type NetStackOptions } from './net-stack-options.js';
import { TokenBucket } from './rate-limiter.js';
import { buildEchoReply, buildResetFor } from './replies.js';
import { emptyStats, type NetStackStats } from './stats.js';
import { TimerHeap } from './timer-heap.js';

export type { TcpListener } from './listener-table.js';
export { DEFAULT_LIMITS, type NetStackLimits, type NetStackOptions } from './net-stack-options.js';

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
  private readonly listeners = new ListenerTable();
  private readonly timers = new TimerHeap<TcpConnection>();
  /**
   * Connections with events to deliver, dirty[0, dirtyCount). The array is kept at its size and
   * slots are overwritten: truncating it would free its storage and the next packet would
   * allocate it again.
   */
  private readonly dirty: Array<TcpConnection | undefined> = [];
  private dirtyCount = 0;
  private depth = 0;
  private inInput = false;
  private reentrant: Buffer[] = [];
  private ipId: number;
  private now = 0;
  private readonly challengeBucket: TokenBucket;
  private readonly resetBucket: TokenBucket;
  /** The segment being processed (one at a time; nothing keeps it past its input). */
  private readonly segment: TcpRepr = emptyTcpRepr();
  /** The RST being built. */
  private readonly scratch: TcpRepr = emptyTcpRepr();
  private deferredError: unknown;

  constructor(options: NetStackOptions) {
    this.address = options.address;
    this.localAddr = parseIpv4Address(options.address);
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.config = resolveTcpConfig(options, this.limits);
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
        try {
          conn.onTimer(nowMs);
        } catch (err) {
          this.internalError(err);
        }
        this.armTimer(conn);
      }
    } finally {
      this.leave();
    }
  }

  /**
   * The time of the entry point running now (receive, tick, call, connect, close), or undefined
   * outside one. A call made from an event handler runs at that time anyway, so a driver need not
   * read its clock for it.
   */
  get entryTimeMs(): number | undefined {
    return this.depth > 0 ? this.now : undefined;
  }

  /** When tick() should next be called (ms, the caller's clock), or undefined when idle. */
  nextDeadline(): number | undefined {
    return this.timers.peekAt();
  }

  /** Accepts connections on `port`; `onAccept` runs once each handshake completes. */
  listen(port: number, onAccept: (conn: TcpConnection) => void, options: { backlog?: number } = {}): TcpListener {
    return this.listeners.listen(this.address, port, onAccept, options.backlog ?? this.limits.synBacklog);
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
  call<T>(conn: TcpConnection, nowMs: number, fn: (nowMs: number) => T): T {
    this.enter(nowMs);
    try {
      return fn(nowMs);
    } finally {
      if (!conn.released) this.armTimer(conn);
      this.leave();
    }
  }

  /** Aborts every connection (RST) and closes every listener. */
  close(nowMs: number): void {
    this.enter(nowMs);
    try {
      this.listeners.closeAll();
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
      // Fields are read in place: no view copies, no parsed header object per packet.
      if (ipv4LengthError(packet) !== undefined) Ipv4Packet.checked(packet); // throws the reason
      const ip = new Ipv4Packet(packet);
      checkIpv4Header(ip, this.verifyChecksums);
      if (ip.dstAddr !== this.localAddr) return this.drop('ipv4NotForUs');
      const srcAddr = ip.srcAddr;
      if (isUnusableSource(srcAddr) || srcAddr === this.localAddr) return this.drop('ipv4BadSource');
      const protocol = ip.protocol;
      if (protocol === IP_PROTOCOL_TCP) this.inputTcp(srcAddr, packet, ip.headerLen, ip.totalLen, nowMs);
      else if (protocol === IP_PROTOCOL_ICMP) this.inputIcmp(srcAddr, ip.payload);
      else this.drop('ipv4UnknownProtocol');
    } catch (err) {
      if (err instanceof WireError) this.drop(err.reason, err.message);
      else this.internalError(err);
    }
  }

  private inputIcmp(srcAddr: number, payload: Uint8Array): void {
    const icmp = parseIcmpv4(payload, this.verifyChecksums);
    if (icmp.type !== ICMP_ECHO_REQUEST || !isIcmpEcho(icmp)) return this.drop('icmpUnsupportedType');
    this.stats.icmpEchoReplies++;
    this.transmit(buildEchoReply(this.localAddr, srcAddr, icmp, this.nextIpId()));
  }

  /** The TCP segment at `packet[start, end)` from `srcAddr`. */
  private inputTcp(srcAddr: number, packet: Uint8Array, start: number, end: number, nowMs: number): void {
    const seg = parseTcpInto(this.segment, packet, start, end, srcAddr, this.localAddr, this.verifyChecksums);
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
      const c = this.createConnection(seg.dstPort, srcAddr, seg.srcPort, true, nowMs);
      this.listeners.admit(listener, c);
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
    this.dirty[this.dirtyCount++] = conn;
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
    this.listeners.leaveBacklog(conn);
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
    const packet = buildResetFor(seg, this.localAddr, remoteAddr, this.nextIpId(), this.scratch);
    if (packet === undefined) return;
    this.stats.tcp.resetsSent++;
    this.stats.tcp.segmentsOut++;
    this.transmit(packet);
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
    const dirty = this.dirty;
    // Handlers may queue more connections while this runs: the loop reads the count each time.
    for (let i = 0; i < this.dirtyCount; i++) {
      const conn = dirty[i]!;
      dirty[i] = undefined;
      conn.queuedForEvents = false;
      try {
        conn.dispatchEvents();
      } catch (err) {
        this.deferredError ??= err;
      }
      if (!conn.released) this.armTimer(conn);
    }
    this.dirtyCount = 0;
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
