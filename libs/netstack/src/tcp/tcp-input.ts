// Segment arrival for one connection, RFC 9293 §3.10.7: SYN-SENT (§3.10.7.3) and every later
// state (§3.10.7.4) in the RFC's order of checks: sequence acceptability with PAWS (RFC 7323 §5),
// RST and SYN with the RFC 5961 rules, the ACK field (loss handling in loss-recovery.ts), segment
// text with reassembly and ACK decisions, FIN. Option negotiation for both opens lives here too.
import { DEFAULT_MSS, MIN_PEER_MSS } from './tcp-config.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpRepr } from '../wire/tcp.js';
import type { TcpConnection } from './tcp-connection.js';
import { EV_CLOSED, EV_ESTABLISHED, EV_READABLE, EV_WRITABLE } from './tcp-types.js';

export class TcpInput {
  constructor(private readonly c: TcpConnection) {}

  /** Options of the peer's SYN or SYN-ACK (RFC 9293 §3.7.1, RFC 7323 §1.3, RFC 2018 §2). */
  negotiate(seg: TcpRepr): void {
    const c = this.c;
    const n = c.negotiated;
    const config = c.config;
    const ws = config.windowScaling && seg.windowScale !== undefined;
    n.wsOk = ws;
    if (ws) {
      n.sndShift = seg.windowScale!;
      n.rcvShift = c.out.ourWindowShift();
    } else {
      n.sndShift = 0;
      n.rcvShift = 0;
    }
    c.out.onWindowShiftChanged();
    n.sackOk = config.sack && seg.sackPermitted;
    n.tsOk = config.timestamps && seg.tsVal !== undefined;
    // An active opener only offered what config allows, so the peer's echo is the agreement;
    // a passive opener answers with exactly this subset (tcp-output.ts sendSyn).
    const peerMss = seg.mss === undefined || seg.mss === 0 ? DEFAULT_MSS : Math.max(MIN_PEER_MSS, seg.mss);
    const mss = Math.min(peerMss, c.localMss);
    n.segSize = mss - (n.tsOk ? 12 : 0);
    c.rcv.mss = Math.min(n.segSize, DEFAULT_MSS);
    c.cc.setMss(n.segSize);
  }

  tsRecentFrom(seg: TcpRepr): void {
    const n = this.c.negotiated;
    if (n.tsOk && seg.tsVal !== undefined) n.tsRecent = seg.tsVal;
  }

  /** §3.10.7.3 SYN-SENT. */
  onSegmentSynSent(seg: TcpRepr, nowMs: number): void {
    const c = this.c;
    const snd = c.snd;
    const rcv = c.rcv;
    const flags = seg.flags;
    let ackOk = false;
    if (flags & TCP_ACK) {
      const ackOff = snd.unwrap(seg.ack);
      // ACK must cover our SYN and nothing beyond it.
      if (ackOff <= 0 || ackOff > snd.nxt) {
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
    rcv.irs = seg.seq;
    rcv.nxt = 1;
    // Our SYN advertised an unscaled window for the bytes after the peer's SYN.
    rcv.advRight = rcv.wireRight = 1 + Math.min(rcv.buf.free, 65535);
    this.negotiate(seg);
    this.tsRecentFrom(seg);
    if (ackOk) {
      // RTT sample from the handshake when the SYN was not retransmitted (Karn).
      if (c.timers.synRetransmits === 0) c.rtt.onSynAcked(nowMs);
      snd.una = 1;
      snd.wnd = seg.window; // never scaled in a SYN (RFC 7323 §2.2)
      snd.maxWnd = snd.wnd;
      snd.wl1 = 0;
      snd.wl2 = 1;
      c.timers.rtoAt = undefined;
      c.timers.rtoRetries = 0;
      this.establish(nowMs);
      rcv.ackNow = true;
    } else {
      // Simultaneous open (§3.10.7.3 fifth check): SYN-RECEIVED, answer with SYN-ACK.
      c.state = 'SYN-RECEIVED';
      snd.wnd = seg.window;
      c.out.sendSyn(nowMs);
    }
  }

  establish(nowMs: number): void {
    const c = this.c;
    const timers = c.timers;
    c.state = 'ESTABLISHED';
    timers.connectDeadline = undefined;
    timers.lastSendAt = nowMs;
    if (timers.synRetransmits > 0) c.rtt.synRetransmitted();
    c.rtt.resetBackoff();
    c.loss.reset(c.snd.una);
    if (c.snd.finQueued) c.state = 'FIN-WAIT-1';
    if (timers.keepaliveEnabled) timers.keepaliveAt = nowMs + timers.keepaliveIdleMs;
    c.emit(EV_ESTABLISHED | (c.snd.buf.free > 0 ? EV_WRITABLE : 0));
  }

  /** §3.10.7.4: every state after SYN-SENT. */
  onSegmentSynchronized(seg: TcpRepr, nowMs: number): void {
    const c = this.c;
    const snd = c.snd;
    const rcv = c.rcv;
    const n = c.negotiated;
    const flags = seg.flags;
    const rst = (flags & TCP_RST) !== 0;
    let syn = (flags & TCP_SYN) !== 0;
    let fin = (flags & TCP_FIN) !== 0;
    let payload = seg.payload;
    let segSeq = rcv.unwrap(seg.seq);
    const stats = c.host.tcpStats;

    // Simultaneous open: the peer's SYN-ACK acknowledging our SYN completes the handshake (Linux
    // tcp_validate_incoming does the same; by the letter of §3.10.7.4 its SYN is old and dropped).
    if (syn && c.state === 'SYN-RECEIVED' && !c.passive && flags & TCP_ACK && segSeq === 0 && snd.unwrap(seg.ack) === 1) {
      syn = false;
      segSeq = 1;
    }

    // RFC 7323 §5.3 PAWS: an older timestamp marks an old duplicate; ACK and drop it. Segments
    // without data or FIN are exempt (as Linux's tcp_disordered_ack): a reordered pure ACK still
    // carries valid ACK/SACK/window information and cannot corrupt the byte stream.
    if (n.tsOk && seg.tsVal !== undefined && !rst && !syn && (payload.length > 0 || fin) && ((seg.tsVal - n.tsRecent) | 0) < 0) {
      stats.pawsDrops++;
      rcv.ackNow = true;
      return;
    }

    // First check: sequence number acceptability.
    const segLen = payload.length + (syn ? 1 : 0) + (fin ? 1 : 0);
    const rcvNxt = rcv.nxt;
    const wnd = Math.max(0, rcv.wireRight - rcvNxt);
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
        rcv.ackNow = true;
        // A retransmitted FIN in TIME-WAIT: re-ACK and restart 2*MSL (§3.10.7.4 TIME-WAIT).
        if (c.state === 'TIME-WAIT' && fin) c.timers.closeAt = nowMs + c.config.timeWaitMs;
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
      const k = Math.min(cut, payload.length);
      payload = payload.subarray(k);
      segSeq += k;
      cut -= k;
      if (cut > 0 && fin) {
        fin = false;
        segSeq++;
      }
    }
    const right = Math.max(rcv.wireRight, rcvNxt);
    if (segSeq + payload.length > right) {
      payload = payload.subarray(0, Math.max(0, right - segSeq));
      fin = false;
      rcv.ackNow = true;
    }

    // Fourth check: SYN in a synchronized state → challenge ACK (RFC 5961 §4.2).
    if (syn) {
      this.challengeAck(nowMs);
      return;
    }

    // Fifth check: the ACK field.
    if (!(flags & TCP_ACK)) return;
    if (c.state === 'SYN-RECEIVED') {
      const ackOff = snd.unwrap(seg.ack);
      if (ackOff < 1 || ackOff > snd.nxt) {
        c.host.sendResetFor(seg, c.remoteAddr);
        return;
      }
      const timers = c.timers;
      if (timers.synRetransmits === 0 && n.tsOk && seg.tsEcr !== 0) c.rtt.sampleTimestamp((n.tsNow(nowMs) - seg.tsEcr) | 0);
      snd.una = 1;
      snd.wnd = seg.window << n.sndShift;
      snd.maxWnd = snd.wnd;
      snd.wl1 = segSeq;
      snd.wl2 = 1;
      timers.rtoAt = undefined;
      timers.rtoRetries = 0;
      timers.synRetransmits = 0;
      c.host.onPassiveEstablished(c);
      this.establish(nowMs);
    }
    if (!this.processAck(seg, segSeq, nowMs)) return;
    if (c.state === 'CLOSED') return;

    // RFC 7323 §4.3: remember the peer's timestamp from segments at the left window edge.
    if (n.tsOk && seg.tsVal !== undefined && segSeq <= rcv.lastAckSent) n.tsRecent = seg.tsVal;

    // Seventh check: segment text.
    if (payload.length > 0) {
      const s = c.state;
      if (s !== 'ESTABLISHED' && s !== 'FIN-WAIT-1' && s !== 'FIN-WAIT-2') {
        // CLOSE-WAIT and later: the peer already sent FIN; data beyond it is ignored (§3.10.7.4).
        rcv.ackNow = true;
      } else if (rcv.readClosed) {
        // Data for an application that closed: RST (RFC 9293 §3.6, gVisor #1449).
        c.abort(nowMs);
        return;
      } else {
        this.receiveData(segSeq, payload, fin, nowMs);
      }
    } else if (fin) {
      if (segSeq === rcv.nxt) this.receiveFin(nowMs);
      else if (segSeq > rcv.nxt) {
        rcv.remoteFinOff = segSeq;
        rcv.ackNow = true;
      }
    }
  }

  receiveData(segSeq: number, payload: Uint8Array, fin: boolean, nowMs: number): void {
    const c = this.c;
    const rcv = c.rcv;
    if (payload.length > rcv.mss) rcv.mss = Math.min(payload.length, c.localMss);
    if (segSeq === rcv.nxt) {
      const hadHoles = rcv.buf.hasOutOfOrder;
      rcv.buf.appendInOrder(payload);
      rcv.nxt += payload.length;
      if (hadHoles) {
        rcv.nxt = rcv.buf.drain(rcv.nxt);
        // RFC 5681 §4.2: ACK at once when a segment fills (part of) a hole.
        rcv.ackNow = true;
      }
      rcv.unackedBytes += payload.length;
      c.emit(EV_READABLE);
      if (fin) rcv.remoteFinOff = segSeq + payload.length;
      if (rcv.nxt === rcv.remoteFinOff) {
        this.receiveFin(nowMs);
        return;
      }
      const config = c.config;
      const timers = c.timers;
      if (rcv.unackedBytes >= config.maxAckStretchSegments * rcv.mss) rcv.ackNow = true;
      else if (rcv.unackedBytes >= config.ackEverySegments * rcv.mss) timers.delackAt = nowMs; // at the burst's end
      else if (timers.delackAt === undefined) timers.delackAt = nowMs + config.ackDelayMs;
    } else {
      // Out of order: keep it (bounded), and send a duplicate ACK carrying SACK at once (§4.2).
      c.host.tcpStats.outOfOrderSegments++;
      const stored = rcv.buf.insertOutOfOrder(segSeq, payload);
      if (!stored) c.host.tcpStats.outOfOrderDropped++;
      else if (fin) rcv.remoteFinOff = segSeq + payload.length;
      rcv.ackNow = true;
    }
  }

  /** The peer's FIN reached in order (§3.10.7.4 eighth check). */
  receiveFin(nowMs: number): void {
    const c = this.c;
    const rcv = c.rcv;
    if (rcv.finReceived) return;
    rcv.finReceived = true;
    rcv.nxt += 1;
    rcv.remoteFinOff = Infinity;
    rcv.ackNow = true;
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
    const snd = c.snd;
    const loss = c.loss;
    const ackOff = snd.unwrap(seg.ack);
    if (ackOff > snd.nxt) {
      // §3.10.7.4: ACK for something not yet sent → ACK and drop.
      c.rcv.ackNow = true;
      return false;
    }
    // RFC 5961 §5.2: an ACK far below SND.UNA (outside the window ever offered) is a blind attack.
    if (ackOff < snd.una - Math.max(snd.maxWnd, 65535)) {
      this.challengeAck(nowMs);
      return false;
    }
    const timers = c.timers;
    timers.probesUnanswered = 0;
    const newWnd = seg.window << c.negotiated.sndShift;
    const unaBefore = snd.una;
    const sackedBefore = loss.scoreboard.sackedBytes;
    let sackNew = false;
    if (c.negotiated.sackOk && seg.sackBlocks !== undefined && ackOff >= snd.una) sackNew = loss.processSack(seg.sackBlocks, ackOff);
    if (ackOff > snd.una) {
      loss.onNewAck(ackOff, seg, nowMs);
    } else if (
      ackOff === snd.una &&
      snd.nxt > snd.una &&
      seg.payload.length === 0 &&
      !(seg.flags & (TCP_SYN | TCP_FIN)) &&
      (newWnd === snd.wnd || sackNew)
    ) {
      loss.onDupAck();
    }
    loss.afterAck(snd.una - unaBefore + (loss.scoreboard.sackedBytes - sackedBefore));
    // §3.10.7.4: window update when the segment is newer (WL1/WL2 rule).
    if (ackOff >= snd.una && (snd.wl1 < segSeq || (snd.wl1 === segSeq && snd.wl2 <= ackOff))) {
      snd.wnd = newWnd;
      snd.wl1 = segSeq;
      snd.wl2 = ackOff;
      if (newWnd > snd.maxWnd) snd.maxWnd = newWnd;
      if (newWnd > 0 && timers.persisting) {
        timers.persisting = false;
        timers.persistBackoff = 0;
        timers.rtoAt = undefined;
      }
    }
    // Our FIN acknowledged?
    if (snd.finQueued && snd.una > snd.finOff) {
      switch (c.state) {
        case 'FIN-WAIT-1':
          c.state = 'FIN-WAIT-2';
          if (c.rcv.readClosed) timers.closeAt = nowMs + c.config.finWait2TimeoutMs;
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
    const timers = c.timers;
    timers.stopAll();
    timers.closeAt = nowMs + c.config.timeWaitMs;
    // Both directions are done: the owner gets its close now; the TCB lingers for 2*MSL.
    c.emit(EV_CLOSED);
  }
}
