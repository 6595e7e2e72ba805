// One TCP connection (a TCB, RFC 9293 §3.3.1): its state, the user calls of §3.10.1-3.10.6, the
// timers of §3.8 (RFC 6298 retransmission, persist, keep-alive, delayed ACK, TIME-WAIT), and how
// it ends and reports events.
// Sequence numbers are kept as unwrapped offsets from ISS (send) and IRS (receive), exact in a JS
// number up to 2^53 bytes, so no comparison below needs modular arithmetic; they are wrapped to
// 32 bits only on the wire. Segment arrival lives in tcp-input.ts, segment building in
// tcp-output.ts, the sender's ACK and loss handling in loss-recovery.ts.
import { formatIpv4Address } from '../wire/ipv4-address.js';
import type { TcpRepr } from '../wire/tcp.js';
import { NewReno } from './congestion.js';
import { RecvBuffer } from './recv-buffer.js';
import { RttEstimator } from './rtt-estimator.js';
import { SackScoreboard } from './sack-scoreboard.js';
import { SendBuffer } from './send-buffer.js';
import { DEFAULT_MSS, IPV4_TCP_HEADERS, type TcpConfig } from './tcp-config.js';
import { TcpError, type TcpErrorCode } from './tcp-error.js';
import { TcpInput } from './tcp-input.js';
import { TcpOutput } from './tcp-output.js';
import { LossRecovery } from './loss-recovery.js';
import type { TcpHost } from './tcp-host.js';

/** RFC 9293 §3.3.2 state names. */
export type TcpState =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN-SENT'
  | 'SYN-RECEIVED'
  | 'ESTABLISHED'
  | 'FIN-WAIT-1'
  | 'FIN-WAIT-2'
  | 'CLOSE-WAIT'
  | 'CLOSING'
  | 'LAST-ACK'
  | 'TIME-WAIT';

/** What a connection reports to its owner (the Duplex driver), always outside packet processing. */
export interface TcpConnectionHandler {
  /** The three-way handshake completed. */
  onEstablished?(): void;
  /** In-order data (or the peer's FIN) is ready for read(). */
  onReadable?(): void;
  /** Send-buffer space was freed. */
  onWritable?(): void;
  /** No more events follow. `error` is set when the connection failed (reset, timeout, refused). */
  onClose?(error: TcpError | undefined): void;
}

export const EV_ESTABLISHED = 1;
export const EV_READABLE = 2;
export const EV_WRITABLE = 4;
export const EV_CLOSED = 8;

/** Loss-recovery phase of the sender. */
export const enum Recovery {
  None = 0,
  /** Fast recovery after duplicate ACKs / SACK (RFC 6582, RFC 6675). */
  Fast = 1,
  /** After a retransmission timeout, until everything sent before it is acknowledged. */
  Loss = 2,
}

export interface ConnectOptions {
  /** Fail with ETIMEDOUT if not established within this many milliseconds. */
  timeoutMs?: number;
}

export class TcpConnection {
  state: TcpState = 'CLOSED';
  handler: TcpConnectionHandler | undefined;
  /** Failure that closed the connection, if any. */
  error: TcpError | undefined;
  /** Created by a listener (passive open). */
  readonly passive: boolean;
  /** Opaque slot for the stack (its listener, for passive connections). */
  listenerTag: unknown;

  // --- bookkeeping owned by the stack
  /** @internal */ pendingEvents = 0;
  /** @internal */ queuedForEvents = false;
  /** @internal */ heapAt: number | undefined;
  /** @internal */ released = false;
  /** @internal */ accepted = false;

  // --- negotiated at the handshake
  /** Largest payload per segment we send (peer MSS minus our per-segment option bytes). */
  segSize = DEFAULT_MSS;
  /** Largest payload the peer has sent us (Linux's rcv_mss estimate, for ACK decisions). */
  rcvMss = DEFAULT_MSS;
  wsOk = false;
  sndShift = 0;
  rcvShift = 0;
  sackOk = false;
  tsOk = false;
  tsRecent = 0;
  readonly tsOffset: number;

  // --- send sequence space (offsets from ISS; SYN is offset 0, data starts at 1)
  readonly iss: number;
  una = 0;
  nxt = 0;
  sndWnd = 0;
  maxSndWnd = 0;
  wl1 = 0;
  wl2 = 0;
  readonly sendBuf: SendBuffer;
  finQueued = false;
  /** Sequence offset of our FIN once queued. */
  finOff = Infinity;
  recovery = Recovery.None;
  recover = 0;
  /** Un-SACKed bytes in [una, lostEnd) are considered lost; rxtNxt is the retransmission cursor. */
  lostEnd = 0;
  rxtNxt = 0;
  /** Send one retransmission even if cwnd is full (RFC 5681 §3.2 step 2, RFC 6298 §5.4). */
  rxtForce = false;
  dupAcks = 0;
  /** RFC 6937 PRR state for the current fast recovery. */
  prrDelivered = 0;
  prrOut = 0;
  recoverFs = 0;
  /** SND.NXT when the latest retransmission left: SACKs beyond it prove earlier ones were lost. */
  rxtFrontier = 0;
  readonly scoreboard = new SackScoreboard();
  readonly cc: NewReno;
  readonly rtt: RttEstimator;
  /** RTT timing: sequence that must be acknowledged to take the next sample. */
  rttSeq = 0;
  rttSentAt = 0;
  rttTiming = false;
  noDelay = false;

  // --- receive sequence space (offsets from IRS)
  irs = 0;
  rcvNxt = 0;
  /** Right edge of the receive budget we offered (never moved left, RFC 9293 §3.8.6.2.2). */
  rcvAdvRight = 0;
  /**
   * Right edge as the peer sees it: the scaled window field is rounded up so scaling never shrinks
   * the window (RFC 7323 §2.3), so this may exceed rcvAdvRight by less than 2^rcvShift.
   */
  rcvWireRight = 0;
  readonly rcvBuf: RecvBuffer;
  /** Peer FIN consumed in order. */
  finReceived = false;
  /** Offset of a FIN that arrived ahead of a hole. */
  remoteFinOff = Infinity;
  /** The application closed its reading side: data arriving now is answered with RST. */
  readClosed = false;
  /** Send an ACK at the end of the current input. */
  ackNow = false;
  /** Bytes received since the last ACK we sent. */
  unackedBytes = 0;
  /** rcvNxt as of the last ACK sent (RFC 7323 §4.3 Last.ACK.sent). */
  lastAckSent = 0;

  // --- timers (absolute ms; undefined = not running)
  rtoAt: number | undefined;
  persisting = false;
  persistBackoff = 0;
  rtoRetries = 0;
  synRetransmits = 0;
  probesUnanswered = 0;
  delackAt: number | undefined;
  keepaliveEnabled = false;
  keepaliveIdleMs: number;
  keepaliveAt: number | undefined;
  keepaliveProbesSent = 0;
  lastRecvAt = 0;
  lastSendAt = 0;
  closeAt: number | undefined;
  connectDeadline: number | undefined;

  readonly out: TcpOutput;
  readonly input: TcpInput;
  readonly lossRecovery: LossRecovery;

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
    this.iss = iss >>> 0;
    this.tsOffset = tsOffset >>> 0;
    this.passive = passive;
    this.sendBuf = new SendBuffer(config.sendBufferBytes);
    this.rcvBuf = new RecvBuffer({
      capacity: config.receiveBufferBytes,
      maxOooRanges: config.maxOutOfOrderRanges,
      maxOooChunks: config.maxOutOfOrderSegments,
    });
    this.rtt = new RttEstimator(config);
    this.cc = new NewReno(this.segSize);
    this.keepaliveIdleMs = config.keepaliveIdleMs;
    this.lastRecvAt = nowMs;
    this.out = new TcpOutput(this);
    this.input = new TcpInput(this);
    this.lossRecovery = new LossRecovery(this);
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
    return this.canSend ? this.sendBuf.free : 0;
  }
  get canSend(): boolean {
    if (this.finQueued) return false;
    const s = this.state;
    return s === 'ESTABLISHED' || s === 'CLOSE-WAIT' || s === 'SYN-SENT' || s === 'SYN-RECEIVED';
  }
  /** In-order bytes waiting for read(). */
  get readableBytes(): number {
    return this.rcvBuf.queuedBytes;
  }
  /** True once the peer's FIN was reached and all data before it was read. */
  get readEnded(): boolean {
    return (this.finReceived || this.state === 'CLOSED') && this.rcvBuf.queuedBytes === 0;
  }
  /** Sent but not yet acknowledged bytes (SYN/FIN count as one). */
  get bytesInFlight(): number {
    return this.nxt - this.una;
  }

  // ---------------------------------------------------------------------------------------------
  // Opening (RFC 9293 §3.10.1 OPEN, §3.10.7.2 LISTEN state)

  /** Active open: send SYN and enter SYN-SENT. */
  open(nowMs: number, options: ConnectOptions = {}): void {
    this.state = 'SYN-SENT';
    this.host.tcpStats.activeOpens++;
    if (options.timeoutMs !== undefined) this.connectDeadline = nowMs + options.timeoutMs;
    this.out.sendSyn(nowMs);
    this.nxt = 1;
    this.rtoAt = nowMs + this.rtt.rtoMs;
  }

  /** Passive open from a listener: a SYN arrived (RFC 9293 §3.10.7.2 "third check for a SYN"). */
  acceptSyn(seg: TcpRepr, nowMs: number): void {
    this.state = 'SYN-RECEIVED';
    this.host.tcpStats.passiveOpens++;
    this.irs = seg.seq;
    this.rcvNxt = 1;
    this.input.negotiate(seg);
    this.input.tsRecentFrom(seg);
    this.sndWnd = seg.window; // RFC 7323 §2.2: the window in a SYN is never scaled
    this.wl1 = 0;
    this.wl2 = 0;
    this.out.sendSyn(nowMs);
    this.nxt = 1;
    this.rtoAt = nowMs + this.rtt.rtoMs;
  }

  // ---------------------------------------------------------------------------------------------
  // User calls (RFC 9293 §3.10.2-3.10.6)

  /** SEND: buffers as much of `data` as fits; returns the bytes taken. Throws EPIPE once closed. */
  send(data: Uint8Array, nowMs: number): number {
    if (!this.canSend) throw this.makeError(this.error?.code ?? 'EPIPE', 'write');
    const n = this.sendBuf.append(data);
    if (n > 0 && this.una > 0) this.out.output(nowMs);
    return n;
  }

  /** RECEIVE: the next chunk of in-order data, or undefined. May announce a reopened window. */
  read(nowMs: number, max?: number): Buffer | undefined {
    const chunk = this.rcvBuf.read(max);
    if (chunk !== undefined) this.out.maybeWindowUpdate(nowMs);
    return chunk;
  }

  /** CLOSE of the sending side (half-close, `end()`): queue a FIN after the buffered data. */
  shutdown(nowMs: number): void {
    if (this.finQueued) return;
    const s = this.state;
    if (s === 'CLOSED' || s === 'LISTEN' || s === 'TIME-WAIT') return;
    this.finQueued = true;
    this.finOff = 1 + this.sendBuf.end;
    // §3.10.4: in SYN-SENT / SYN-RECEIVED the FIN waits for ESTABLISHED (see establish()).
    if (s === 'ESTABLISHED') this.state = 'FIN-WAIT-1';
    else if (s === 'CLOSE-WAIT') this.state = 'LAST-ACK';
    if (this.una > 0) this.out.output(nowMs);
  }

  /**
   * Full close (`destroy()` on the socket): the application will read no more. RFC 1122 4.2.2.13 /
   * RFC 9293 §3.6: with unread data (or data arriving later) the peer gets a RST, not a FIN.
   */
  close(nowMs: number): void {
    this.handler = undefined;
    if (this.state === 'CLOSED') return;
    this.readClosed = true;
    if (this.state === 'SYN-SENT') {
      this.terminate(undefined);
      return;
    }
    if (this.rcvBuf.queuedBytes > 0 || this.rcvBuf.hasOutOfOrder) {
      this.abort(nowMs);
      return;
    }
    this.shutdown(nowMs);
    if (this.state === 'FIN-WAIT-2') this.closeAt = nowMs + this.config.finWait2TimeoutMs;
  }

  /** ABORT (§3.10.5): send RST in synchronized states and drop everything. */
  abort(nowMs: number): void {
    this.handler = undefined;
    const s = this.state;
    if (s === 'CLOSED') return;
    if (s !== 'SYN-SENT' && s !== 'TIME-WAIT' && s !== 'LISTEN') this.out.sendRst(nowMs);
    this.rcvBuf.clear();
    this.terminate(undefined);
  }

  setNoDelay(noDelay: boolean, nowMs: number): void {
    this.noDelay = noDelay;
    if (noDelay && this.una > 0) this.out.output(nowMs);
  }

  /** Keep-alive per RFC 1122 4.2.3.6: probes after `idleMs` without any segment from the peer. */
  setKeepAlive(enable: boolean, idleMs: number | undefined, nowMs: number): void {
    this.keepaliveEnabled = enable;
    if (idleMs !== undefined && idleMs > 0) this.keepaliveIdleMs = idleMs;
    this.keepaliveProbesSent = 0;
    this.keepaliveAt = enable ? nowMs + this.keepaliveIdleMs : undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // Segment arrival (RFC 9293 §3.10.7)

  /** Unwraps a receive-side sequence number relative to rcvNxt. */
  unwrapRcv(seq: number): number {
    return this.rcvNxt + ((seq - ((this.irs + this.rcvNxt) >>> 0)) | 0);
  }
  /** Unwraps an acknowledgment number relative to una. */
  unwrapSnd(ack: number): number {
    return this.una + ((ack - ((this.iss + this.una) >>> 0)) | 0);
  }

  onSegment(seg: TcpRepr, nowMs: number): void {
    if (this.state === 'CLOSED') return;
    this.lastRecvAt = nowMs;
    this.keepaliveProbesSent = 0;
    if (this.state === 'SYN-SENT') this.input.onSegmentSynSent(seg, nowMs);
    else this.input.onSegmentSynchronized(seg, nowMs);
    if (!this.isClosed) this.out.output(nowMs);
  }

  // ---------------------------------------------------------------------------------------------
  // Timers

  /** The earliest timer deadline, or undefined. */
  nextTimerAt(): number | undefined {
    // Called after every segment: no allocation, just four comparisons.
    let at = this.rtoAt;
    const d = this.delackAt;
    if (d !== undefined && (at === undefined || d < at)) at = d;
    const k = this.keepaliveAt;
    if (k !== undefined && (at === undefined || k < at)) at = k;
    const c = this.closeAt;
    if (c !== undefined && (at === undefined || c < at)) at = c;
    const t = this.connectDeadline;
    if (t !== undefined && (at === undefined || t < at)) at = t;
    return at;
  }

  onTimer(nowMs: number): void {
    if (this.state === 'CLOSED') return;
    if (this.closeAt !== undefined && nowMs >= this.closeAt) {
      // TIME-WAIT over, or an orphan stuck in FIN-WAIT-2 (Linux tcp_fin_timeout).
      this.closeAt = undefined;
      this.terminate(undefined);
      return;
    }
    if (this.connectDeadline !== undefined && nowMs >= this.connectDeadline) {
      this.connectDeadline = undefined;
      if (this.state === 'SYN-SENT' || this.state === 'SYN-RECEIVED') {
        this.fail('ETIMEDOUT', 'connect');
        return;
      }
    }
    if (this.rtoAt !== undefined && nowMs >= this.rtoAt) {
      this.rtoAt = undefined;
      if (this.persisting) this.out.onPersistTimeout(nowMs);
      else this.lossRecovery.onRetransmitTimeout(nowMs);
      if (this.isClosed) return;
    }
    if (this.delackAt !== undefined && nowMs >= this.delackAt) {
      this.delackAt = undefined;
      if (this.unackedBytes > 0) this.out.sendAck(nowMs);
    }
    if (this.keepaliveAt !== undefined && nowMs >= this.keepaliveAt) this.onKeepaliveTimeout(nowMs);
  }

  private onKeepaliveTimeout(nowMs: number): void {
    const s = this.state;
    if (!this.keepaliveEnabled || (s !== 'ESTABLISHED' && s !== 'CLOSE-WAIT' && s !== 'FIN-WAIT-2')) {
      this.keepaliveAt = undefined;
      return;
    }
    // Data in flight: the retransmission timer watches the peer already.
    if (this.nxt > this.una) {
      this.keepaliveAt = nowMs + this.keepaliveIdleMs;
      return;
    }
    if (this.keepaliveProbesSent === 0 && nowMs - this.lastRecvAt < this.keepaliveIdleMs) {
      this.keepaliveAt = this.lastRecvAt + this.keepaliveIdleMs;
      return;
    }
    if (this.keepaliveProbesSent >= this.config.keepaliveProbes) {
      this.fail('ETIMEDOUT', 'read');
      return;
    }
    this.keepaliveProbesSent++;
    this.host.tcpStats.keepaliveProbes++;
    this.out.sendProbe(nowMs);
    this.keepaliveAt = nowMs + this.config.keepaliveIntervalMs;
  }

  // ---------------------------------------------------------------------------------------------
  // Endings and events

  /** Closes with an error reported to the owner. */
  fail(code: TcpErrorCode, syscall: string): void {
    if (this.state === 'CLOSED') return;
    if (code === 'ETIMEDOUT') this.host.tcpStats.timeouts++;
    this.error = this.makeError(code, syscall);
    this.rcvBuf.clear();
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
    this.rtoAt = this.delackAt = this.keepaliveAt = this.closeAt = this.connectDeadline = undefined;
    this.persisting = false;
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

