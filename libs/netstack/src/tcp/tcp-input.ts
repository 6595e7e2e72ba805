// Segment arrival for one connection, RFC 9293 §3.10.7: SYN-SENT (§3.10.7.3) and every later
// state (§3.10.7.4) in the RFC's order of checks: sequence acceptability with PAWS (RFC 7323 §5),
// RST and SYN with the RFC 5961 rules, the ACK field (loss handling in loss-recovery.ts), segment
// text with reassembly and ACK decisions, FIN. Option negotiation for both opens lives here too.
import { DEFAULT_MSS, MIN_PEER_MSS } from './tcp-config.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpRepr } from '../wire/tcp.js';
import { EV_CLOSED, EV_ESTABLISHED, EV_READABLE, EV_WRITABLE, Recovery, type TcpConnection } from './tcp-connection.js';

export class TcpInput {
  constructor(private readonly c: TcpConnection) {}

  /** Options of the peer's SYN or SYN-ACK (RFC 9293 §3.7.1, RFC 7323 §1.3, RFC 2018 §2). */
  negotiate(seg: TcpRepr): void {
    const c = this.c;
    const config = c.config;
    const ws = config.windowScaling && seg.windowScale !== undefined;
    c.wsOk = ws;
    if (ws) {
      c.sndShift = seg.windowScale!;
      c.rcvShift = c.out.ourWindowShift();
    } else {
      c.sndShift = 0;
      c.rcvShift = 0;
    }
    c.sackOk = config.sack && seg.sackPermitted;
    c.tsOk = config.timestamps && seg.tsVal !== undefined;
    // An active opener only offered what config allows, so the peer's echo is the agreement;
    // a passive opener answers with exactly this subset (tcp-output.ts sendSyn).
    const peerMss = seg.mss === undefined || seg.mss === 0 ? DEFAULT_MSS : Math.max(MIN_PEER_MSS, seg.mss);
    const mss = Math.min(peerMss, c.localMss);
    c.segSize = mss - (c.tsOk ? 12 : 0);
    c.rcvMss = Math.min(c.segSize, DEFAULT_MSS);
    c.cc.setMss(c.segSize);
  }

  tsRecentFrom(seg: TcpRepr): void {
    const c = this.c;
    if (c.tsOk && seg.tsVal !== undefined) c.tsRecent = seg.tsVal;
  }

  /** §3.10.7.3 SYN-SENT. */
  onSegmentSynSent(seg: TcpRepr, nowMs: number): void {
    const c = this.c;
    const flags = seg.flags;
    let ackOk = false;
    if (flags & TCP_ACK) {
      const ackOff = c.unwrapSnd(seg.ack);
      // ACK must cover our SYN and nothing beyond it.
      if (ackOff <= 0 || ackOff > c.nxt) {
        // RFC 9293 §3.10.7.3 / onetun #17: an ACK for an old incarnation gets a RST, SYN continues.
        if (!(flags & TCP_RST)) c.host.sendResetFor(seg, c.remoteAddr);
        return;
      }
      ackOk = true;
    }
    if (flags & TCP_RST) {
      if (ackOk) {
        c.host.tcpStats.resetsReceived++;
        c.fail('ECONNREFUSED', 'connect');
      }
      return;
    }
    if (!(flags & TCP_SYN)) return;
    c.irs = seg.seq;
    c.rcvNxt = 1;
    // Our SYN advertised an unscaled window for the bytes after the peer's SYN.
    c.rcvAdvRight = c.rcvWireRight = 1 + Math.min(c.rcvBuf.free, 65535);
    this.negotiate(seg);
    this.tsRecentFrom(seg);
    if (ackOk) {
      // RTT sample from the handshake when the SYN was not retransmitted (Karn).
      if (c.synRetransmits === 0) c.rtt.sample(nowMs - c.rttSentAt);
      c.una = 1;
      c.sndWnd = seg.window; // never scaled in a SYN (RFC 7323 §2.2)
      c.maxSndWnd = c.sndWnd;
      c.wl1 = 0;
      c.wl2 = 1;
      c.rtoAt = undefined;
      c.rtoRetries = 0;
      this.establish(nowMs);
      c.ackNow = true;
    } else {
      // Simultaneous open (§3.10.7.3 fifth check): SYN-RECEIVED, answer with SYN-ACK.
      c.state = 'SYN-RECEIVED';
      c.sndWnd = seg.window;
      c.out.sendSyn(nowMs);
    }
  }

  establish(nowMs: number): void {
    const c = this.c;
    c.state = 'ESTABLISHED';
    c.connectDeadline = undefined;
    c.lastSendAt = nowMs;
    if (c.synRetransmits > 0) c.rtt.synRetransmitted();
    c.rtt.resetBackoff();
    c.rxtNxt = c.lostEnd = c.una;
    if (c.finQueued) c.state = 'FIN-WAIT-1';
    if (c.keepaliveEnabled) c.keepaliveAt = nowMs + c.keepaliveIdleMs;
    c.emit(EV_ESTABLISHED | (c.sendBuf.free > 0 ? EV_WRITABLE : 0));
  }

  /** §3.10.7.4: every state after SYN-SENT. */
  onSegmentSynchronized(seg: TcpRepr, nowMs: number): void {
    const c = this.c;
    const flags = seg.flags;
    const rst = (flags & TCP_RST) !== 0;
    let syn = (flags & TCP_SYN) !== 0;
    let fin = (flags & TCP_FIN) !== 0;
    let payload = seg.payload;
    let segSeq = c.unwrapRcv(seg.seq);
    const stats = c.host.tcpStats;

    // Simultaneous open: the peer's SYN-ACK acknowledging our SYN completes the handshake (Linux
    // tcp_validate_incoming does the same; by the letter of §3.10.7.4 its SYN is old and dropped).
    if (
      syn &&
      c.state === 'SYN-RECEIVED' &&
      !c.passive &&
      flags & TCP_ACK &&
      segSeq === 0 &&
      c.unwrapSnd(seg.ack) === 1
    ) {
      syn = false;
      segSeq = 1;
    }

    // RFC 7323 §5.3 PAWS: an older timestamp marks an old duplicate; ACK and drop it. Segments
    // without data or FIN are exempt (as Linux's tcp_disordered_ack): a reordered pure ACK still
    // carries valid ACK/SACK/window information and cannot corrupt the byte stream.
    if (
      c.tsOk &&
      seg.tsVal !== undefined &&
      !rst &&
      !syn &&
      (payload.length > 0 || fin) &&
      ((seg.tsVal - c.tsRecent) | 0) < 0
    ) {
      stats.pawsDrops++;
      c.ackNow = true;
      return;
    }

    // First check: sequence number acceptability.
    const segLen = payload.length + (syn ? 1 : 0) + (fin ? 1 : 0);
    const wnd = Math.max(0, c.rcvWireRight - c.rcvNxt);
    const rcvNxt = c.rcvNxt;
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
        c.ackNow = true;
        // A retransmitted FIN in TIME-WAIT: re-ACK and restart 2*MSL (§3.10.7.4 TIME-WAIT).
        if (c.state === 'TIME-WAIT' && fin) c.closeAt = nowMs + c.config.timeWaitMs;
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
    const right = Math.max(c.rcvWireRight, rcvNxt);
    if (segSeq + payload.length > right) {
      payload = payload.subarray(0, Math.max(0, right - segSeq));
      fin = false;
      c.ackNow = true;
    }

    // Fourth check: SYN in a synchronized state → challenge ACK (RFC 5961 §4.2).
    if (syn) {
      this.challengeAck(nowMs);
      return;
    }

    // Fifth check: the ACK field.
    if (!(flags & TCP_ACK)) return;
    if (c.state === 'SYN-RECEIVED') {
      const ackOff = c.unwrapSnd(seg.ack);
      if (ackOff < 1 || ackOff > c.nxt) {
        c.host.sendResetFor(seg, c.remoteAddr);
        return;
      }
      if (c.synRetransmits === 0 && c.tsOk && seg.tsEcr !== 0) c.lossRecovery.sampleTimestamp(seg.tsEcr, nowMs);
      c.una = 1;
      c.sndWnd = seg.window << c.sndShift;
      c.maxSndWnd = c.sndWnd;
      c.wl1 = segSeq;
      c.wl2 = 1;
      c.rtoAt = undefined;
      c.rtoRetries = 0;
      c.synRetransmits = 0;
      c.host.onPassiveEstablished(c);
      this.establish(nowMs);
    }
    if (!this.processAck(seg, segSeq, nowMs)) return;
    if (c.state === 'CLOSED') return;

    // RFC 7323 §4.3: remember the peer's timestamp from segments at the left window edge.
    if (c.tsOk && seg.tsVal !== undefined && segSeq <= c.lastAckSent) c.tsRecent = seg.tsVal;

    // Seventh check: segment text.
    if (payload.length > 0) {
      const s = c.state;
      if (s !== 'ESTABLISHED' && s !== 'FIN-WAIT-1' && s !== 'FIN-WAIT-2') {
        // CLOSE-WAIT and later: the peer already sent FIN; data beyond it is ignored (§3.10.7.4).
        c.ackNow = true;
      } else if (c.readClosed) {
        // Data for an application that closed: RST (RFC 9293 §3.6, gVisor #1449).
        c.abort(nowMs);
        return;
      } else {
        this.receiveData(segSeq, payload, fin, nowMs);
      }
    } else if (fin) {
      if (segSeq === c.rcvNxt) this.receiveFin(nowMs);
      else if (segSeq > c.rcvNxt) {
        c.remoteFinOff = segSeq;
        c.ackNow = true;
      }
    }
  }

  receiveData(segSeq: number, payload: Uint8Array, fin: boolean, nowMs: number): void {
    const c = this.c;
    if (payload.length > c.rcvMss) c.rcvMss = Math.min(payload.length, c.localMss);
    if (segSeq === c.rcvNxt) {
      const hadHoles = c.rcvBuf.hasOutOfOrder;
      c.rcvBuf.appendInOrder(payload);
      c.rcvNxt += payload.length;
      if (hadHoles) {
        c.rcvNxt = c.rcvBuf.drain(c.rcvNxt);
        // RFC 5681 §4.2: ACK at once when a segment fills (part of) a hole.
        c.ackNow = true;
      }
      c.unackedBytes += payload.length;
      c.emit(EV_READABLE);
      if (fin) c.remoteFinOff = segSeq + payload.length;
      if (c.rcvNxt === c.remoteFinOff) {
        this.receiveFin(nowMs);
        return;
      }
      const config = c.config;
      if (c.unackedBytes >= config.maxAckStretchSegments * c.rcvMss) c.ackNow = true;
      else if (c.unackedBytes >= config.ackEverySegments * c.rcvMss) c.delackAt = nowMs; // at the burst's end
      else if (c.delackAt === undefined) c.delackAt = nowMs + config.ackDelayMs;
    } else {
      // Out of order: keep it (bounded), and send a duplicate ACK carrying SACK at once (§4.2).
      c.host.tcpStats.outOfOrderSegments++;
      const stored = c.rcvBuf.insertOutOfOrder(segSeq, payload);
      if (!stored) c.host.tcpStats.outOfOrderDropped++;
      else if (fin) c.remoteFinOff = segSeq + payload.length;
      c.ackNow = true;
    }
  }

  /** The peer's FIN reached in order (§3.10.7.4 eighth check). */
  receiveFin(nowMs: number): void {
    const c = this.c;
    if (c.finReceived) return;
    c.finReceived = true;
    c.rcvNxt += 1;
    c.remoteFinOff = Infinity;
    c.ackNow = true;
    c.emit(EV_READABLE);
    switch (c.state) {
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
        c.state = 'CLOSE-WAIT';
        break;
      case 'FIN-WAIT-1':
        c.state = 'CLOSING';
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
  processAck(seg: TcpRepr, segSeq: number, nowMs: number): boolean {
    const c = this.c;
    const ackOff = c.unwrapSnd(seg.ack);
    if (ackOff > c.nxt) {
      // §3.10.7.4: ACK for something not yet sent → ACK and drop.
      c.ackNow = true;
      return false;
    }
    // RFC 5961 §5.2: an ACK far below SND.UNA (outside the window ever offered) is a blind attack.
    if (ackOff < c.una - Math.max(c.maxSndWnd, 65535)) {
      this.challengeAck(nowMs);
      return false;
    }
    c.probesUnanswered = 0;
    const newWnd = seg.window << c.sndShift;
    const unaBefore = c.una;
    const sackedBefore = c.scoreboard.sackedBytes;
    let sackNew = false;
    if (c.sackOk && seg.sackBlocks !== undefined && ackOff >= c.una) sackNew = c.lossRecovery.processSack(seg.sackBlocks, ackOff);
    if (ackOff > c.una) {
      c.lossRecovery.onNewAck(ackOff, seg, nowMs);
    } else if (
      ackOff === c.una &&
      c.nxt > c.una &&
      seg.payload.length === 0 &&
      !(seg.flags & (TCP_SYN | TCP_FIN)) &&
      (newWnd === c.sndWnd || sackNew)
    ) {
      c.lossRecovery.onDupAck();
    }
    if (
      c.recovery === Recovery.None &&
      c.sackOk &&
      c.nxt > c.una &&
      c.scoreboard.sackedBytes > 2 * c.segSize
    ) {
      // RFC 6675 §5 (IsLost): more than DupThresh-1 segments SACKed above SND.UNA.
      c.lossRecovery.enterFastRecovery();
    }
    if (c.recovery !== Recovery.None && c.sackOk) {
      // Lost retransmission: data sent after our latest retransmission was SACKed (3 segments
      // past it) while holes we retransmitted are still open. On a FIFO path those retransmissions
      // are gone; resend them now instead of waiting for the RTO (as Linux's lost-retransmit check).
      if (c.rxtNxt > c.una && c.scoreboard.highest >= c.rxtFrontier + 3 * c.segSize) {
        c.rxtNxt = c.una;
        c.rxtFrontier = c.nxt;
        c.host.tcpStats.lostRetransmits++;
      }
      if (c.recovery === Recovery.Fast) {
        c.lossRecovery.prrUpdate(c.una - unaBefore + (c.scoreboard.sackedBytes - sackedBefore));
      }
    }
    // §3.10.7.4: window update when the segment is newer (WL1/WL2 rule).
    if (ackOff >= c.una && (c.wl1 < segSeq || (c.wl1 === segSeq && c.wl2 <= ackOff))) {
      c.sndWnd = newWnd;
      c.wl1 = segSeq;
      c.wl2 = ackOff;
      if (newWnd > c.maxSndWnd) c.maxSndWnd = newWnd;
      if (newWnd > 0 && c.persisting) {
        c.persisting = false;
        c.persistBackoff = 0;
        c.rtoAt = undefined;
      }
    }
    // Our FIN acknowledged?
    if (c.finQueued && c.una > c.finOff) {
      switch (c.state) {
        case 'FIN-WAIT-1':
          c.state = 'FIN-WAIT-2';
          if (c.readClosed) c.closeAt = nowMs + c.config.finWait2TimeoutMs;
          break;
        case 'CLOSING':
          this.enterTimeWait(nowMs);
          break;
        case 'LAST-ACK':
          c.terminate(undefined);
          return false;
        default:
          break;
      }
    }
    return true;
  }

  /** RFC 5961 §3.2: a RST in window but not exact, or a SYN: answer with a rate-limited ACK. */
  challengeAck(nowMs: number): void {
    const c = this.c;
    if (c.host.allowChallengeAck(nowMs)) {
      c.host.tcpStats.challengeAcks++;
      c.out.sendAck(nowMs);
    }
  }

  /** An acceptable RST (§3.10.7.4 second check). */
  onReset(): void {
    const c = this.c;
    switch (c.state) {
      case 'SYN-RECEIVED':
        // Passive: back to LISTEN, i.e. forget this half-open connection; active: refused.
        if (c.passive) c.terminate(undefined);
        else c.fail('ECONNREFUSED', 'connect');
        break;
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
        c.fail('ECONNRESET', 'read');
        break;
      default:
        c.terminate(undefined);
        break;
    }
  }

  enterTimeWait(nowMs: number): void {
    const c = this.c;
    c.state = 'TIME-WAIT';
    c.rtoAt = undefined;
    c.persisting = false;
    c.delackAt = undefined;
    c.keepaliveAt = undefined;
    c.connectDeadline = undefined;
    c.closeAt = nowMs + c.config.timeWaitMs;
    // Both directions are done: the owner gets its close now; the TCB lingers for 2*MSL.
    c.emit(EV_CLOSED);
  }
}
