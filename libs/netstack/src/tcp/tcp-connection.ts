// One TCP connection (a TCB, RFC 9293 §3.3.1) and its state machine: segment arrival per
// RFC 9293 §3.10.7 with the RFC 5961 RST/SYN/ACK checks, user calls per §3.10.1-3.10.6, and the
// timers of §3.8 (RFC 6298 retransmission, persist, keep-alive, delayed ACK, TIME-WAIT).
// Sequence numbers are kept as unwrapped offsets from ISS (send) and IRS (receive), exact in a JS
// number up to 2^53 bytes, so no comparison below needs modular arithmetic; they are wrapped to
// 32 bits only on the wire. Segment building lives in tcp-output.ts, the sender's ACK and loss
// handling in loss-recovery.ts.
import { formatIpv4Address } from '../wire/ipv4-address.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpRepr } from '../wire/tcp.js';
import { NewReno } from './congestion.js';
import { RecvBuffer } from './recv-buffer.js';
import { RttEstimator } from './rtt-estimator.js';
import { SackScoreboard } from './sack-scoreboard.js';
import { SendBuffer } from './send-buffer.js';
import { DEFAULT_MSS, IPV4_TCP_HEADERS, MIN_PEER_MSS, type TcpConfig } from './tcp-config.js';
import { TcpError, type TcpErrorCode } from './tcp-error.js';
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
    this.negotiate(seg, true);
    this.tsRecentFrom(seg);
    this.sndWnd = seg.window; // RFC 7323 §2.2: the window in a SYN is never scaled
    this.wl1 = 0;
    this.wl2 = 0;
    this.out.sendSyn(nowMs);
    this.nxt = 1;
    this.rtoAt = nowMs + this.rtt.rtoMs;
  }

  /** Options of the peer's SYN or SYN-ACK (RFC 9293 §3.7.1, RFC 7323 §1.3, RFC 2018 §2). */
  private negotiate(seg: TcpRepr, passive: boolean): void {
    const config = this.config;
    const ws = config.windowScaling && seg.windowScale !== undefined;
    this.wsOk = ws;
    if (ws) {
      this.sndShift = seg.windowScale!;
      this.rcvShift = this.out.ourWindowShift();
    } else {
      this.sndShift = 0;
      this.rcvShift = 0;
    }
    this.sackOk = config.sack && seg.sackPermitted;
    this.tsOk = config.timestamps && seg.tsVal !== undefined;
    // An active opener only offered what config allows, so the peer's echo is the agreement;
    // a passive opener answers with exactly this subset (tcp-output.ts sendSyn).
    void passive;
    const peerMss = seg.mss === undefined || seg.mss === 0 ? DEFAULT_MSS : Math.max(MIN_PEER_MSS, seg.mss);
    const mss = Math.min(peerMss, this.localMss);
    this.segSize = mss - (this.tsOk ? 12 : 0);
    this.rcvMss = Math.min(this.segSize, DEFAULT_MSS);
    this.cc.setMss(this.segSize);
  }

  private tsRecentFrom(seg: TcpRepr): void {
    if (this.tsOk && seg.tsVal !== undefined) this.tsRecent = seg.tsVal;
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
    if (this.state === 'SYN-SENT') this.onSegmentSynSent(seg, nowMs);
    else this.onSegmentSynchronized(seg, nowMs);
    if (!this.isClosed) this.out.output(nowMs);
  }

  /** §3.10.7.3 SYN-SENT. */
  private onSegmentSynSent(seg: TcpRepr, nowMs: number): void {
    const flags = seg.flags;
    let ackOk = false;
    if (flags & TCP_ACK) {
      const ackOff = this.unwrapSnd(seg.ack);
      // ACK must cover our SYN and nothing beyond it.
      if (ackOff <= 0 || ackOff > this.nxt) {
        // RFC 9293 §3.10.7.3 / onetun #17: an ACK for an old incarnation gets a RST, SYN continues.
        if (!(flags & TCP_RST)) this.host.sendResetFor(seg, this.remoteAddr);
        return;
      }
      ackOk = true;
    }
    if (flags & TCP_RST) {
      if (ackOk) {
        this.host.tcpStats.resetsReceived++;
        this.fail('ECONNREFUSED', 'connect');
      }
      return;
    }
    if (!(flags & TCP_SYN)) return;
    this.irs = seg.seq;
    this.rcvNxt = 1;
    // Our SYN advertised an unscaled window for the bytes after the peer's SYN.
    this.rcvAdvRight = this.rcvWireRight = 1 + Math.min(this.rcvBuf.free, 65535);
    this.negotiate(seg, false);
    this.tsRecentFrom(seg);
    if (ackOk) {
      // RTT sample from the handshake when the SYN was not retransmitted (Karn).
      if (this.synRetransmits === 0) this.rtt.sample(nowMs - this.rttSentAt);
      this.una = 1;
      this.sndWnd = seg.window; // never scaled in a SYN (RFC 7323 §2.2)
      this.maxSndWnd = this.sndWnd;
      this.wl1 = 0;
      this.wl2 = 1;
      this.rtoAt = undefined;
      this.rtoRetries = 0;
      this.establish(nowMs);
      this.ackNow = true;
    } else {
      // Simultaneous open (§3.10.7.3 fifth check): SYN-RECEIVED, answer with SYN-ACK.
      this.state = 'SYN-RECEIVED';
      this.sndWnd = seg.window;
      this.out.sendSyn(nowMs);
    }
  }

  private establish(nowMs: number): void {
    this.state = 'ESTABLISHED';
    this.connectDeadline = undefined;
    this.lastSendAt = nowMs;
    if (this.synRetransmits > 0) this.rtt.synRetransmitted();
    this.rtt.resetBackoff();
    this.rxtNxt = this.lostEnd = this.una;
    if (this.finQueued) this.state = 'FIN-WAIT-1';
    if (this.keepaliveEnabled) this.keepaliveAt = nowMs + this.keepaliveIdleMs;
    this.emit(EV_ESTABLISHED | (this.sendBuf.free > 0 ? EV_WRITABLE : 0));
  }

  /** §3.10.7.4: every state after SYN-SENT. */
  private onSegmentSynchronized(seg: TcpRepr, nowMs: number): void {
    const flags = seg.flags;
    const rst = (flags & TCP_RST) !== 0;
    let syn = (flags & TCP_SYN) !== 0;
    let fin = (flags & TCP_FIN) !== 0;
    let payload = seg.payload;
    let segSeq = this.unwrapRcv(seg.seq);
    const stats = this.host.tcpStats;

    // Simultaneous open: the peer's SYN-ACK acknowledging our SYN completes the handshake (Linux
    // tcp_validate_incoming does the same; by the letter of §3.10.7.4 its SYN is old and dropped).
    if (
      syn &&
      this.state === 'SYN-RECEIVED' &&
      !this.passive &&
      flags & TCP_ACK &&
      segSeq === 0 &&
      this.unwrapSnd(seg.ack) === 1
    ) {
      syn = false;
      segSeq = 1;
    }

    // RFC 7323 §5.3 PAWS: an older timestamp marks an old duplicate; ACK and drop it. Segments
    // without data or FIN are exempt (as Linux's tcp_disordered_ack): a reordered pure ACK still
    // carries valid ACK/SACK/window information and cannot corrupt the byte stream.
    if (
      this.tsOk &&
      seg.tsVal !== undefined &&
      !rst &&
      !syn &&
      (payload.length > 0 || fin) &&
      ((seg.tsVal - this.tsRecent) | 0) < 0
    ) {
      stats.pawsDrops++;
      this.ackNow = true;
      return;
    }

    // First check: sequence number acceptability.
    const segLen = payload.length + (syn ? 1 : 0) + (fin ? 1 : 0);
    const wnd = Math.max(0, this.rcvWireRight - this.rcvNxt);
    const rcvNxt = this.rcvNxt;
    let acceptable: boolean;
    if (segLen === 0) {
      acceptable = wnd === 0 ? segSeq === rcvNxt : segSeq >= rcvNxt && segSeq < rcvNxt + wnd;
    } else {
      const last = segSeq + segLen - 1;
      acceptable = wnd > 0 && ((segSeq >= rcvNxt && segSeq < rcvNxt + wnd) || (last >= rcvNxt && last < rcvNxt + wnd));
    }
    // §3.10.7.4: with a zero window, still take valid ACKs and RSTs (Linux accepts seq = RCV.NXT).
    if (!acceptable && segSeq === rcvNxt) acceptable = true;
    if (!acceptable) {
      stats.outOfWindowSegments++;
      if (!rst) {
        this.ackNow = true;
        // A retransmitted FIN in TIME-WAIT: re-ACK and restart 2*MSL (§3.10.7.4 TIME-WAIT).
        if (this.state === 'TIME-WAIT' && fin) this.closeAt = nowMs + this.config.timeWaitMs;
      }
      return;
    }

    // Second check: RST (RFC 5961 §3.2: exact match resets, in-window gets a challenge ACK).
    if (rst) {
      stats.resetsReceived++;
      if (segSeq === rcvNxt) this.onReset();
      else this.challengeAck(nowMs);
      return;
    }

    // Trim to the window: drop what was already received, and anything past the right edge.
    if (segSeq < rcvNxt) {
      let cut = rcvNxt - segSeq;
      if (syn) {
        syn = false;
        cut--;
        segSeq++;
      }
      const n = Math.min(cut, payload.length);
      payload = payload.subarray(n);
      segSeq += n;
      cut -= n;
      if (cut > 0 && fin) {
        fin = false;
        segSeq++;
      }
    }
    const right = Math.max(this.rcvWireRight, rcvNxt);
    if (segSeq + payload.length > right) {
      payload = payload.subarray(0, Math.max(0, right - segSeq));
      fin = false;
      this.ackNow = true;
    }

    // Fourth check: SYN in a synchronized state → challenge ACK (RFC 5961 §4.2).
    if (syn) {
      this.challengeAck(nowMs);
      return;
    }

    // Fifth check: the ACK field.
    if (!(flags & TCP_ACK)) return;
    if (this.state === 'SYN-RECEIVED') {
      const ackOff = this.unwrapSnd(seg.ack);
      if (ackOff < 1 || ackOff > this.nxt) {
        this.host.sendResetFor(seg, this.remoteAddr);
        return;
      }
      if (this.synRetransmits === 0 && this.tsOk && seg.tsEcr !== 0) this.lossRecovery.sampleTimestamp(seg.tsEcr, nowMs);
      this.una = 1;
      this.sndWnd = seg.window << this.sndShift;
      this.maxSndWnd = this.sndWnd;
      this.wl1 = segSeq;
      this.wl2 = 1;
      this.rtoAt = undefined;
      this.rtoRetries = 0;
      this.synRetransmits = 0;
      this.host.onPassiveEstablished(this);
      this.establish(nowMs);
    }
    if (!this.processAck(seg, segSeq, nowMs)) return;
    if (this.state === 'CLOSED') return;

    // RFC 7323 §4.3: remember the peer's timestamp from segments at the left window edge.
    if (this.tsOk && seg.tsVal !== undefined && segSeq <= this.lastAckSent) this.tsRecent = seg.tsVal;

    // Seventh check: segment text.
    if (payload.length > 0) {
      const s = this.state;
      if (s !== 'ESTABLISHED' && s !== 'FIN-WAIT-1' && s !== 'FIN-WAIT-2') {
        // CLOSE-WAIT and later: the peer already sent FIN; data beyond it is ignored (§3.10.7.4).
        this.ackNow = true;
      } else if (this.readClosed) {
        // Data for an application that closed: RST (RFC 9293 §3.6, gVisor #1449).
        this.abort(nowMs);
        return;
      } else {
        this.receiveData(segSeq, payload, fin, nowMs);
      }
    } else if (fin) {
      if (segSeq === this.rcvNxt) this.receiveFin(nowMs);
      else if (segSeq > this.rcvNxt) {
        this.remoteFinOff = segSeq;
        this.ackNow = true;
      }
    }
  }

  private receiveData(segSeq: number, payload: Uint8Array, fin: boolean, nowMs: number): void {
    if (payload.length > this.rcvMss) this.rcvMss = Math.min(payload.length, this.localMss);
    if (segSeq === this.rcvNxt) {
      const hadHoles = this.rcvBuf.hasOutOfOrder;
      this.rcvBuf.appendInOrder(payload);
      this.rcvNxt += payload.length;
      if (hadHoles) {
        this.rcvNxt = this.rcvBuf.drain(this.rcvNxt);
        // RFC 5681 §4.2: ACK at once when a segment fills (part of) a hole.
        this.ackNow = true;
      }
      this.unackedBytes += payload.length;
      this.emit(EV_READABLE);
      if (fin) this.remoteFinOff = segSeq + payload.length;
      if (this.rcvNxt === this.remoteFinOff) {
        this.receiveFin(nowMs);
        return;
      }
      const config = this.config;
      if (this.unackedBytes >= config.maxAckStretchSegments * this.rcvMss) this.ackNow = true;
      else if (this.unackedBytes >= config.ackEverySegments * this.rcvMss) this.delackAt = nowMs; // at the burst's end
      else if (this.delackAt === undefined) this.delackAt = nowMs + config.ackDelayMs;
    } else {
      // Out of order: keep it (bounded), and send a duplicate ACK carrying SACK at once (§4.2).
      this.host.tcpStats.outOfOrderSegments++;
      const stored = this.rcvBuf.insertOutOfOrder(segSeq, payload);
      if (!stored) this.host.tcpStats.outOfOrderDropped++;
      else if (fin) this.remoteFinOff = segSeq + payload.length;
      this.ackNow = true;
    }
  }

  /** The peer's FIN reached in order (§3.10.7.4 eighth check). */
  private receiveFin(nowMs: number): void {
    if (this.finReceived) return;
    this.finReceived = true;
    this.rcvNxt += 1;
    this.remoteFinOff = Infinity;
    this.ackNow = true;
    this.emit(EV_READABLE);
    switch (this.state) {
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
        this.state = 'CLOSE-WAIT';
        break;
      case 'FIN-WAIT-1':
        this.state = 'CLOSING';
        break;
      case 'FIN-WAIT-2':
        this.enterTimeWait(nowMs);
        break;
      default:
        break;
    }
  }

  /**
   * Fifth check continued: SND.UNA/SND.WND updates, loss detection, FIN acknowledgment.
   * Returns false when the segment must be dropped here.
   */
  private processAck(seg: TcpRepr, segSeq: number, nowMs: number): boolean {
    const ackOff = this.unwrapSnd(seg.ack);
    if (ackOff > this.nxt) {
      // §3.10.7.4: ACK for something not yet sent → ACK and drop.
      this.ackNow = true;
      return false;
    }
    // RFC 5961 §5.2: an ACK far below SND.UNA (outside the window ever offered) is a blind attack.
    if (ackOff < this.una - Math.max(this.maxSndWnd, 65535)) {
      this.challengeAck(nowMs);
      return false;
    }
    this.probesUnanswered = 0;
    const newWnd = seg.window << this.sndShift;
    const unaBefore = this.una;
    const sackedBefore = this.scoreboard.sackedBytes;
    let sackNew = false;
    if (this.sackOk && seg.sackBlocks !== undefined && ackOff >= this.una) sackNew = this.lossRecovery.processSack(seg.sackBlocks, ackOff);
    if (ackOff > this.una) {
      this.lossRecovery.onNewAck(ackOff, seg, nowMs);
    } else if (
      ackOff === this.una &&
      this.nxt > this.una &&
      seg.payload.length === 0 &&
      !(seg.flags & (TCP_SYN | TCP_FIN)) &&
      (newWnd === this.sndWnd || sackNew)
    ) {
      this.lossRecovery.onDupAck();
    }
    if (
      this.recovery === Recovery.None &&
      this.sackOk &&
      this.nxt > this.una &&
      this.scoreboard.sackedBytes > 2 * this.segSize
    ) {
      // RFC 6675 §5 (IsLost): more than DupThresh-1 segments SACKed above SND.UNA.
      this.lossRecovery.enterFastRecovery();
    }
    if (this.recovery !== Recovery.None && this.sackOk) {
      // Lost retransmission: data sent after our latest retransmission was SACKed (3 segments
      // past it) while holes we retransmitted are still open. On a FIFO path those retransmissions
      // are gone; resend them now instead of waiting for the RTO (as Linux's lost-retransmit check).
      if (this.rxtNxt > this.una && this.scoreboard.highest >= this.rxtFrontier + 3 * this.segSize) {
        this.rxtNxt = this.una;
        this.rxtFrontier = this.nxt;
        this.host.tcpStats.lostRetransmits++;
      }
      if (this.recovery === Recovery.Fast) {
        this.lossRecovery.prrUpdate(this.una - unaBefore + (this.scoreboard.sackedBytes - sackedBefore));
      }
    }
    // §3.10.7.4: window update when the segment is newer (WL1/WL2 rule).
    if (ackOff >= this.una && (this.wl1 < segSeq || (this.wl1 === segSeq && this.wl2 <= ackOff))) {
      this.sndWnd = newWnd;
      this.wl1 = segSeq;
      this.wl2 = ackOff;
      if (newWnd > this.maxSndWnd) this.maxSndWnd = newWnd;
      if (newWnd > 0 && this.persisting) {
        this.persisting = false;
        this.persistBackoff = 0;
        this.rtoAt = undefined;
      }
    }
    // Our FIN acknowledged?
    if (this.finQueued && this.una > this.finOff) {
      switch (this.state) {
        case 'FIN-WAIT-1':
          this.state = 'FIN-WAIT-2';
          if (this.readClosed) this.closeAt = nowMs + this.config.finWait2TimeoutMs;
          break;
        case 'CLOSING':
          this.enterTimeWait(nowMs);
          break;
        case 'LAST-ACK':
          this.terminate(undefined);
          return false;
        default:
          break;
      }
    }
    return true;
  }

  /** RFC 5961 §3.2: a RST in window but not exact, or a SYN: answer with a rate-limited ACK. */
  private challengeAck(nowMs: number): void {
    if (this.host.allowChallengeAck(nowMs)) {
      this.host.tcpStats.challengeAcks++;
      this.out.sendAck(nowMs);
    }
  }

  /** An acceptable RST (§3.10.7.4 second check). */
  private onReset(): void {
    switch (this.state) {
      case 'SYN-RECEIVED':
        // Passive: back to LISTEN, i.e. forget this half-open connection; active: refused.
        if (this.passive) this.terminate(undefined);
        else this.fail('ECONNREFUSED', 'connect');
        break;
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
        this.fail('ECONNRESET', 'read');
        break;
      default:
        this.terminate(undefined);
        break;
    }
  }

  private enterTimeWait(nowMs: number): void {
    this.state = 'TIME-WAIT';
    this.rtoAt = undefined;
    this.persisting = false;
    this.delackAt = undefined;
    this.keepaliveAt = undefined;
    this.connectDeadline = undefined;
    this.closeAt = nowMs + this.config.timeWaitMs;
    // Both directions are done: the owner gets its close now; the TCB lingers for 2*MSL.
    this.emit(EV_CLOSED);
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

export { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN };
