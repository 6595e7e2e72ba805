// One TCP connection (a TCB, RFC 9293 §3.3.1): its state, the user calls of §3.10.1-3.10.6, the
// timers of §3.8, and how it ends and reports events. The TCB's variables are grouped by concept:
// send and receive sequence spaces (send-sequence.ts, receive-sequence.ts), what the handshake
// negotiated (negotiated.ts), timers (tcp-timers.ts), congestion control (congestion.ts), RTT
// estimation (rtt-estimator.ts) and loss recovery (loss-recovery.ts). Segment arrival lives in
// tcp-input.ts, segment building in tcp-output.ts.
import { formatIpv4Address } from '../wire/ipv4-address.js';
import type { TcpRepr } from '../wire/tcp.js';
import { NewReno } from './congestion.js';
import { LossRecovery } from './loss-recovery.js';
import { Negotiated } from './negotiated.js';
import { ReceiveSequence } from './receive-sequence.js';
import { RttEstimator } from './rtt-estimator.js';
import { SendSequence } from './send-sequence.js';
import { IPV4_TCP_HEADERS, type TcpConfig } from './tcp-config.js';
import { TcpError, type TcpErrorCode } from './tcp-error.js';
import type { TcpHost } from './tcp-host.js';
import { TcpInput } from './tcp-input.js';
import { TcpOutput } from './tcp-output.js';
import { TcpTimers } from './tcp-timers.js';
import { EV_CLOSED, EV_ESTABLISHED, EV_READABLE, EV_WRITABLE, type ConnectOptions, type TcpConnectionHandler, type TcpState } from './tcp-types.js';

export class TcpConnection {
  state: TcpState = 'CLOSED';
  handler: TcpConnectionHandler | undefined;
  /** Failure that closed the connection, if any. */
  error: TcpError | undefined;
  /** Created by a listener (passive open). */
  readonly passive: boolean;
  /** Opaque slot for the stack (its listener, for passive connections). */
  listenerTag: unknown;
  /** Nagle's algorithm off (RFC 9293 §3.7.4 lets the application choose). */
  noDelay = false;

  // --- bookkeeping owned by the stack
  /** @internal */ pendingEvents = 0;
  /** @internal */ queuedForEvents = false;
  /** @internal */ heapAt: number | undefined;
  /** @internal */ released = false;
  /** @internal */ accepted = false;

  readonly snd: SendSequence;
  readonly rcv: ReceiveSequence;
  readonly negotiated: Negotiated;
  readonly timers: TcpTimers;
  readonly cc: NewReno;
  readonly rtt: RttEstimator;
  readonly loss: LossRecovery;

  readonly out: TcpOutput;
  readonly input: TcpInput;

  constructor(
    readonly host: TcpHost,
    readonly localPort: number,
    readonly remoteAddr: number,
    readonly remotePort: number,
    iss: number,
    tsOffset: number,
    passive: boolean,
    nowMs: number,
  ) {
    const config = host.config;
    this.passive = passive;
    this.snd = new SendSequence(iss >>> 0, config.sendBufferBytes);
    this.rcv = new ReceiveSequence({
      capacity: config.receiveBufferBytes,
      maxOooRanges: config.maxOutOfOrderRanges,
      maxOooChunks: config.maxOutOfOrderSegments,
    });
    this.negotiated = new Negotiated(tsOffset >>> 0);
    this.timers = new TcpTimers(config.keepaliveIdleMs, nowMs);
    this.rtt = new RttEstimator(config);
    this.cc = new NewReno(this.negotiated.segSize);
    this.loss = new LossRecovery(this);
    this.out = new TcpOutput(this);
    this.input = new TcpInput(this);
  }

  /** A getter so TypeScript does not narrow `state` across calls that may change it. */
  get isClosed(): boolean {
    return this.state === 'CLOSED';
  }
  get config(): TcpConfig {
    return this.host.config;
  }
  get remoteAddress(): string {
    return formatIpv4Address(this.remoteAddr);
  }
  /** Our MSS (what we advertise). */
  get localMss(): number {
    return this.config.mtuBytes - IPV4_TCP_HEADERS;
  }
  /** Bytes that can be written now without exceeding the send buffer. */
  get writableBytes(): number {
    return this.canSend ? this.snd.buf.free : 0;
  }
  get canSend(): boolean {
    if (this.snd.finQueued) return false;
    const s = this.state;
    return s === 'ESTABLISHED' || s === 'CLOSE-WAIT' || s === 'SYN-SENT' || s === 'SYN-RECEIVED';
  }
  /** In-order bytes waiting for read(). */
  get readableBytes(): number {
    return this.rcv.buf.queuedBytes;
  }
  /** True once the peer's FIN was reached and all data before it was read. */
  get readEnded(): boolean {
    return (this.rcv.finReceived || this.state === 'CLOSED') && this.rcv.buf.queuedBytes === 0;
  }
  /** True once the peer's FIN was consumed in order. */
  get finReceived(): boolean {
    return this.rcv.finReceived;
  }
  /** Sent but not yet acknowledged bytes (SYN/FIN count as one). */
  get bytesInFlight(): number {
    return this.snd.inFlight;
  }

  // ---------------------------------------------------------------------------------------------
  // Opening (RFC 9293 §3.10.1 OPEN, §3.10.7.2 LISTEN state)

  /** Active open: send SYN and enter SYN-SENT. */
  open(nowMs: number, options: ConnectOptions = {}): void {
    this.state = 'SYN-SENT';
    this.host.tcpStats.activeOpens++;
    if (options.timeoutMs !== undefined) this.timers.connectDeadline = nowMs + options.timeoutMs;
    this.out.sendSyn(nowMs);
    this.snd.nxt = 1;
    this.timers.rtoAt = nowMs + this.rtt.rtoMs;
  }

  /** Passive open from a listener: a SYN arrived (RFC 9293 §3.10.7.2 "third check for a SYN"). */
  acceptSyn(seg: TcpRepr, nowMs: number): void {
    this.state = 'SYN-RECEIVED';
    this.host.tcpStats.passiveOpens++;
    this.rcv.irs = seg.seq;
    this.rcv.nxt = 1;
    this.input.negotiate(seg);
    this.input.tsRecentFrom(seg);
    const snd = this.snd;
    snd.wnd = seg.window; // RFC 7323 §2.2: the window in a SYN is never scaled
    snd.wl1 = 0;
    snd.wl2 = 0;
    this.out.sendSyn(nowMs);
    snd.nxt = 1;
    this.timers.rtoAt = nowMs + this.rtt.rtoMs;
  }

  // ---------------------------------------------------------------------------------------------
  // User calls (RFC 9293 §3.10.2-3.10.6)

  /** SEND: buffers as much of `data` as fits; returns the bytes taken. Throws EPIPE once closed. */
  send(data: Uint8Array, nowMs: number): number {
    if (!this.canSend) throw this.makeError(this.error?.code ?? 'EPIPE', 'write');
    const n = this.snd.buf.append(data);
    if (n > 0 && this.snd.una > 0) this.out.output(nowMs);
    return n;
  }

  /**
   * SEND of chunks[from, to) at once (the socket's writev): buffers as much as fits, in order, and
   * only then segments it, so pieces written separately (an HTTP head, chunk headers, body parts)
   * leave as full segments instead of one small segment each. Returns the bytes taken.
   */
  sendv(chunks: readonly Uint8Array[], from: number, to: number, nowMs: number): number {
    if (!this.canSend) throw this.makeError(this.error?.code ?? 'EPIPE', 'write');
    const buf = this.snd.buf;
    let n = 0;
    for (let i = from; i < to; i++) {
      const chunk = chunks[i]!;
      const taken = buf.append(chunk);
      n += taken;
      if (taken < chunk.length) break;
    }
    if (n > 0 && this.snd.una > 0) this.out.output(nowMs);
    return n;
  }

  /** RECEIVE: the next chunk of in-order data, or undefined. May announce a reopened window. */
  read(nowMs: number, max?: number): Buffer | undefined {
    const chunk = this.rcv.buf.read(max);
    if (chunk !== undefined) this.out.maybeWindowUpdate(nowMs);
    return chunk;
  }

  /** CLOSE of the sending side (half-close, `end()`): queue a FIN after the buffered data. */
  shutdown(nowMs: number): void {
    const snd = this.snd;
    if (snd.finQueued) return;
    const s = this.state;
    if (s === 'CLOSED' || s === 'LISTEN' || s === 'TIME-WAIT') return;
    snd.finQueued = true;
    snd.finOff = snd.dataEnd;
    // §3.10.4: in SYN-SENT / SYN-RECEIVED the FIN waits for ESTABLISHED (see establish()).
    if (s === 'ESTABLISHED') this.state = 'FIN-WAIT-1';
    else if (s === 'CLOSE-WAIT') this.state = 'LAST-ACK';
    if (snd.una > 0) this.out.output(nowMs);
  }

  /**
   * Full close (`destroy()` on the socket): the application will read no more. RFC 1122 4.2.2.13 /
   * RFC 9293 §3.6: with unread data (or data arriving later) the peer gets a RST, not a FIN.
   */
  close(nowMs: number): void {
    this.handler = undefined;
    if (this.state === 'CLOSED') return;
    this.rcv.readClosed = true;
    if (this.state === 'SYN-SENT') {
      this.terminate(undefined);
      return;
    }
    if (this.rcv.buf.queuedBytes > 0 || this.rcv.buf.hasOutOfOrder) {
      this.abort(nowMs);
      return;
    }
    this.shutdown(nowMs);
    if (this.state === 'FIN-WAIT-2') this.timers.closeAt = nowMs + this.config.finWait2TimeoutMs;
  }

  /** ABORT (§3.10.5): send RST in synchronized states and drop everything. */
  abort(nowMs: number): void {
    this.handler = undefined;
    const s = this.state;
    if (s === 'CLOSED') return;
    if (s !== 'SYN-SENT' && s !== 'TIME-WAIT' && s !== 'LISTEN') this.out.sendRst(nowMs);
    this.rcv.buf.clear();
    this.terminate(undefined);
  }

  setNoDelay(noDelay: boolean, nowMs: number): void {
    this.noDelay = noDelay;
    if (noDelay && this.snd.una > 0) this.out.output(nowMs);
  }

  /** Keep-alive per RFC 1122 4.2.3.6: probes after `idleMs` without any segment from the peer. */
  setKeepAlive(enable: boolean, idleMs: number | undefined, nowMs: number): void {
    const timers = this.timers;
    timers.keepaliveEnabled = enable;
    if (idleMs !== undefined && idleMs > 0) timers.keepaliveIdleMs = idleMs;
    timers.keepaliveProbesSent = 0;
    timers.keepaliveAt = enable ? nowMs + timers.keepaliveIdleMs : undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // Segment arrival (RFC 9293 §3.10.7)

  onSegment(seg: TcpRepr, nowMs: number): void {
    if (this.state === 'CLOSED') return;
    this.timers.lastRecvAt = nowMs;
    this.timers.keepaliveProbesSent = 0;
    if (this.state === 'SYN-SENT') this.input.onSegmentSynSent(seg, nowMs);
    else this.input.onSegmentSynchronized(seg, nowMs);
    if (!this.isClosed) this.out.output(nowMs);
  }

  // ---------------------------------------------------------------------------------------------
  // Timers

  /** The earliest timer deadline, or undefined. */
  nextTimerAt(): number | undefined {
    return this.timers.next();
  }

  onTimer(nowMs: number): void {
    if (this.state === 'CLOSED') return;
    const timers = this.timers;
    if (timers.closeAt !== undefined && nowMs >= timers.closeAt) {
      // TIME-WAIT over, or an orphan stuck in FIN-WAIT-2 (Linux tcp_fin_timeout).
      timers.closeAt = undefined;
      this.terminate(undefined);
      return;
    }
    if (timers.connectDeadline !== undefined && nowMs >= timers.connectDeadline) {
      timers.connectDeadline = undefined;
      if (this.state === 'SYN-SENT' || this.state === 'SYN-RECEIVED') {
        this.fail('ETIMEDOUT', 'connect');
        return;
      }
    }
    if (timers.rtoAt !== undefined && nowMs >= timers.rtoAt) {
      timers.rtoAt = undefined;
      if (timers.persisting) this.out.onPersistTimeout(nowMs);
      else this.loss.onRetransmitTimeout(nowMs);
      if (this.isClosed) return;
    }
    if (timers.delackAt !== undefined && nowMs >= timers.delackAt) {
      timers.delackAt = undefined;
      if (this.rcv.unackedBytes > 0 || this.rcv.windowUpdateDue) this.out.sendAck(nowMs);
    }
    if (timers.keepaliveAt !== undefined && nowMs >= timers.keepaliveAt) this.onKeepaliveTimeout(nowMs);
  }

  private onKeepaliveTimeout(nowMs: number): void {
    const timers = this.timers;
    const s = this.state;
    if (!timers.keepaliveEnabled || (s !== 'ESTABLISHED' && s !== 'CLOSE-WAIT' && s !== 'FIN-WAIT-2')) {
      timers.keepaliveAt = undefined;
      return;
    }
    // Data in flight: the retransmission timer watches the peer already.
    if (this.snd.nxt > this.snd.una) {
      timers.keepaliveAt = nowMs + timers.keepaliveIdleMs;
      return;
    }
    if (timers.keepaliveProbesSent === 0 && nowMs - timers.lastRecvAt < timers.keepaliveIdleMs) {
      timers.keepaliveAt = timers.lastRecvAt + timers.keepaliveIdleMs;
      return;
    }
    if (timers.keepaliveProbesSent >= this.config.keepaliveProbes) {
      this.fail('ETIMEDOUT', 'read');
      return;
    }
    timers.keepaliveProbesSent++;
    this.host.tcpStats.keepaliveProbes++;
    this.out.sendProbe(nowMs);
    timers.keepaliveAt = nowMs + this.config.keepaliveIntervalMs;
  }

  // ---------------------------------------------------------------------------------------------
  // Endings and events

  /**
   * Closes with an error reported to the owner. In-order data received before the failure stays
   * readable, as Linux keeps its receive queue on a RST (tcp_reset purges only the write queue) and
   * recv() returns that data before ECONNRESET: a reply followed at once by a reset is not lost.
   */
  fail(code: TcpErrorCode, syscall: string): void {
    if (this.state === 'CLOSED') return;
    if (code === 'ETIMEDOUT') this.host.tcpStats.timeouts++;
    this.error = this.makeError(code, syscall);
    this.terminate(this.error);
  }

  makeError(code: TcpErrorCode, syscall: string): TcpError {
    return new TcpError(code, syscall, this.remoteAddress, this.remotePort);
  }

  /** Enters CLOSED, stops every timer and leaves the connection table. */
  terminate(error: TcpError | undefined): void {
    const wasTimeWait = this.state === 'TIME-WAIT';
    this.state = 'CLOSED';
    this.error = error;
    this.timers.stopAll();
    // TIME-WAIT already reported the close.
    if (!wasTimeWait) this.emit(EV_CLOSED);
    this.host.release(this);
  }

  emit(events: number): void {
    this.pendingEvents |= events;
    this.host.notify(this);
  }

  /** Delivers pending events to the handler; called by the stack outside packet processing. */
  dispatchEvents(): void {
    const ev = this.pendingEvents;
    this.pendingEvents = 0;
    if (ev & EV_ESTABLISHED && this.passive && !this.accepted) {
      this.accepted = true;
      this.host.accept(this);
    }
    const h = this.handler;
    if (h === undefined) return;
    if (ev & EV_ESTABLISHED) h.onEstablished?.();
    if (ev & EV_READABLE && this.handler === h) h.onReadable?.();
    if (ev & EV_WRITABLE && this.handler === h) h.onWritable?.();
    if (ev & EV_CLOSED && this.handler === h) {
      this.handler = undefined;
      h.onClose?.(this.error);
    }
  }
}
