// Segment output for one connection: what to (re)transmit now (RFC 9293 §3.8.6.2.1 sender SWS
// avoidance, RFC 896 Nagle, RFC 5681/6582/6675 loss recovery under cwnd), the advertised window
// (RFC 7323 §2.3 scaling, RFC 9293 §3.8.6.2.2 no shrinking, pitfall-free window updates), and the
// packet builder: one allocation per segment, payload copied once from the send buffer.
import { emitIpv4, IP_PROTOCOL_TCP, IPV4_HEADER_LEN, type Ipv4Repr } from '../wire/ipv4.js';
import {
  emitTcpHeader,
  emptyTcpRepr,
  fillTcpChecksum,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  tcpHeaderLen,
  type TcpRepr,
} from '../wire/tcp.js';
import type { TcpConnection } from './tcp-connection.js';

const MAX_WINDOW_FIELD = 65535;

export class TcpOutput {
  private readonly repr: TcpRepr = emptyTcpRepr();
  private readonly ip: Ipv4Repr = {
    srcAddr: 0,
    dstAddr: 0,
    protocol: IP_PROTOCOL_TCP,
    payloadLen: 0,
    ttl: 64,
    ident: 0,
    dontFragment: true, // Linux sets DF on TCP; the MSS keeps segments under the MTU
    dscpEcn: 0,
  };
  private readonly sackWire: number[] = [];

  constructor(private readonly c: TcpConnection) {}

  /** RFC 7323 §2.3: the smallest shift that lets the whole receive buffer be advertised. */
  ourWindowShift(): number {
    const buffer = this.c.config.receiveBufferBytes;
    let shift = 0;
    while (shift < 14 && Math.floor(buffer / 2 ** shift) > MAX_WINDOW_FIELD) shift++;
    return shift;
  }

  /** Largest window we can advertise with the negotiated shift (kept: it is read per segment). */
  private maxWindowBytes = -1;

  maxWindow(): number {
    if (this.maxWindowBytes < 0) this.onWindowShiftChanged();
    return this.maxWindowBytes;
  }

  /** The handshake set our window shift. */
  onWindowShiftChanged(): void {
    this.maxWindowBytes = Math.min(this.c.config.receiveBufferBytes, MAX_WINDOW_FIELD * 2 ** this.c.negotiated.rcvShift);
  }

  /** The window field for a non-SYN segment; records the right edge it promises. */
  private windowField(): number {
    const c = this.c;
    const rcv = c.rcv;
    const scale = 1 << c.negotiated.rcvShift; // shift ≤ 14 (RFC 7323 §2.3)
    const want = Math.min(rcv.buf.free, this.maxWindow());
    // Never move the right edge left (RFC 9293 §3.8.6.2.2); round up so scaling cannot shrink it.
    // The rounding excess is not added to the budget, or it would accumulate ACK after ACK.
    const right = Math.max(rcv.advRight, rcv.nxt + want);
    const field = Math.min(MAX_WINDOW_FIELD, Math.ceil((right - rcv.nxt) / scale));
    rcv.advRight = right;
    rcv.wireRight = Math.max(rcv.wireRight, rcv.nxt + field * scale);
    return field;
  }

  /**
   * Payload bytes that fit one segment now: the negotiated size minus the SACK option our ACKs
   * carry while we hold out-of-order data (as Linux's tcp_current_mss), so no packet exceeds the MTU.
   */
  payloadLimit(): number {
    const c = this.c;
    const n = c.negotiated;
    if (!n.sackOk || !c.rcv.buf.hasOutOfOrder) return n.segSize;
    return n.segSize - (4 + 8 * Math.min(c.rcv.buf.oooRangeCount, n.tsOk ? 3 : 4));
  }

  /** Sends whatever the windows allow: lost ranges first, then new data and FIN, else a due ACK. */
  output(nowMs: number): void {
    const c = this.c;
    const snd = c.snd;
    const rcv = c.rcv;
    const loss = c.loss;
    const state = c.state;
    if (state === 'CLOSED') return;
    if (snd.una === 0) {
      // Handshake pending: the only "ACK" we can send in SYN-RECEIVED is the SYN-ACK again.
      if (rcv.ackNow && state === 'SYN-RECEIVED') this.sendSyn(nowMs);
      rcv.ackNow = false;
      return;
    }
    if (state === 'TIME-WAIT') {
      if (rcv.ackNow) this.sendAck(nowMs);
      return;
    }
    const mss = this.payloadLimit();
    let idleChecked = false;
    for (;;) {
      if (loss.rxtNxt < loss.lostEnd) {
        const start = loss.scoreboard.nextUnsacked(Math.max(loss.rxtNxt, snd.una));
        if (start >= loss.lostEnd) {
          loss.rxtNxt = loss.lostEnd;
          continue;
        }
        if (!loss.rxtForce && loss.pipe() >= c.cc.cwnd) break;
        const end = Math.min(start + mss, loss.lostEnd, loss.scoreboard.nextSackedStart(start));
        this.sendRange(start, end, nowMs, true);
        loss.rxtNxt = end;
        loss.rxtForce = false;
        continue;
      }
      const dataEnd = snd.dataEnd;
      const limit = snd.finQueued ? snd.finOff + 1 : dataEnd;
      if (snd.nxt >= limit) break;
      if (!idleChecked) {
        idleChecked = true;
        // RFC 5681 §4.1: after idling longer than RTO, do not burst a stale window.
        if (snd.nxt === snd.una && nowMs - c.timers.lastSendAt > c.rtt.rtoMs) c.cc.restartAfterIdle();
      }
      if (snd.nxt < dataEnd) {
        const avail = dataEnd - snd.nxt;
        const wndRoom = snd.una + snd.wnd - snd.nxt;
        if (wndRoom <= 0) {
          // Zero window with nothing in flight: the persist timer takes over (RFC 9293 §3.8.6.1).
          if (snd.nxt === snd.una) this.armPersist(nowMs);
          break;
        }
        const cwndRoom = c.cc.cwnd - loss.pipe();
        if (cwndRoom <= 0) break;
        const n = Math.min(avail, mss, wndRoom, cwndRoom);
        if (n < mss && n < avail) {
          // Window/cwnd allows only a runt: wait for an ACK if one will come (SWS avoidance).
          if (snd.nxt > snd.una) break;
        } else if (n < mss && !c.noDelay && snd.nxt > snd.una && !snd.finQueued) {
          // Nagle (RFC 896, RFC 9293 §3.7.4): hold a small tail while data is unacknowledged.
          break;
        }
        let end = snd.nxt + n;
        if (snd.finQueued && end === snd.finOff) end += 1; // FIN rides on the last data segment
        this.sendRange(snd.nxt, end, nowMs, false);
        snd.nxt = end;
      } else {
        this.sendRange(snd.nxt, snd.nxt + 1, nowMs, false); // a bare FIN
        snd.nxt += 1;
      }
    }
    if (rcv.ackNow) this.sendAck(nowMs);
  }

  private armPersist(nowMs: number): void {
    const timers = this.c.timers;
    if (timers.persisting || timers.rtoAt !== undefined) return;
    timers.persisting = true;
    timers.persistBackoff = 0;
    timers.rtoAt = nowMs + this.c.rtt.rtoMs;
  }

  /** Persist timer: probe the zero window with backoff, never giving up while the peer answers. */
  onPersistTimeout(nowMs: number): void {
    const c = this.c;
    const snd = c.snd;
    const timers = c.timers;
    const waiting = snd.nxt < snd.dataEnd;
    if (snd.wnd > 0 || !waiting || snd.nxt > snd.una) {
      timers.persisting = false;
      timers.persistBackoff = 0;
      this.output(nowMs);
      return;
    }
    timers.probesUnanswered++;
    if (timers.probesUnanswered > c.config.maxRetransmissions) {
      c.fail('ETIMEDOUT', 'write');
      return;
    }
    c.host.tcpStats.zeroWindowProbes++;
    this.sendProbe(nowMs);
    timers.persistBackoff++;
    timers.rtoAt = nowMs + Math.min(c.config.maxRtoMs, c.rtt.rtoMs * 2 ** timers.persistBackoff);
  }

  /**
   * RFC 9293 §3.8.6.2.2 / Linux tcp_cleanup_rbuf: after the application reads, announce the window
   * if it at least doubled from what the peer can still send — when the current burst of work
   * ends, never after the delayed-ACK timeout (pitfalls §3.6.1-2: delayed window updates throttle
   * or stall the sender). Waiting for the burst's end lets a reply the application writes right
   * after reading carry the update, instead of a pure ACK going out just before it.
   */
  maybeWindowUpdate(nowMs: number): void {
    const c = this.c;
    const rcv = c.rcv;
    if (c.snd.una === 0 || rcv.finReceived) return;
    const s = c.state;
    if (s !== 'ESTABLISHED' && s !== 'FIN-WAIT-1' && s !== 'FIN-WAIT-2') return;
    const maxWnd = this.maxWindow();
    const remaining = rcv.wireRight - rcv.nxt;
    if (2 * remaining > maxWnd) return;
    const wnd = Math.min(rcv.buf.free, maxWnd);
    if (wnd >= 2 * remaining && wnd - remaining >= Math.min(rcv.mss, maxWnd >> 1)) {
      rcv.windowUpdateDue = true;
      c.timers.delackAt = nowMs;
    }
  }

  /** One data and/or FIN segment covering sequence offsets [start, end). */
  private sendRange(start: number, end: number, nowMs: number, retransmit: boolean): void {
    const c = this.c;
    const snd = c.snd;
    const fin = snd.finQueued && start <= snd.finOff && end > snd.finOff;
    const dataEnd = fin ? snd.finOff : end;
    const dataLen = dataEnd - start;
    let flags = TCP_ACK;
    if (fin) flags |= TCP_FIN;
    if (dataLen > 0 && dataEnd === snd.dataEnd) flags |= TCP_PSH;
    this.segment(flags, start, dataLen, start - 1, nowMs);
    c.loss.onSent(start, end, nowMs, retransmit);
    // RFC 6298 §5.1: start the timer when data goes out and it is not running.
    const timers = c.timers;
    if (timers.rtoAt === undefined && !timers.persisting) timers.rtoAt = nowMs + c.rtt.rtoMs;
    timers.lastSendAt = nowMs;
  }

  /** SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED) with our options (RFC 9293 §3.7.1, RFC 7323, 2018). */
  sendSyn(nowMs: number): void {
    const c = this.c;
    const config = c.config;
    const rcv = c.rcv;
    const n = c.negotiated;
    const r = this.repr;
    const active = c.state === 'SYN-SENT';
    r.flags = active ? TCP_SYN : TCP_SYN | TCP_ACK;
    r.seq = c.snd.iss;
    r.ack = active ? 0 : rcv.wire(rcv.nxt);
    const window = Math.min(rcv.buf.free, MAX_WINDOW_FIELD);
    r.window = window;
    rcv.advRight = rcv.wireRight = rcv.nxt + window;
    r.mss = c.localMss;
    if (active) {
      r.windowScale = config.windowScaling ? this.ourWindowShift() : undefined;
      r.sackPermitted = config.sack;
      r.tsVal = config.timestamps ? n.tsNow(nowMs) : undefined;
      r.tsEcr = 0;
    } else {
      // Reply with exactly the options the peer's SYN offered and we accepted.
      r.windowScale = n.wsOk ? n.rcvShift : undefined;
      r.sackPermitted = n.sackOk;
      r.tsVal = n.tsOk ? n.tsNow(nowMs) : undefined;
      r.tsEcr = n.tsRecent;
    }
    r.sackBlocks = undefined;
    if (c.timers.synRetransmits === 0) c.rtt.onSynSent(nowMs);
    this.finish(0, 0);
  }

  /** A pure ACK (also the challenge ACK of RFC 5961: our SND.NXT, our RCV.NXT). */
  sendAck(nowMs: number): void {
    const c = this.c;
    if (c.snd.una === 0) {
      if (c.state === 'SYN-RECEIVED') this.sendSyn(nowMs);
      return;
    }
    this.segment(TCP_ACK, c.snd.nxt, 0, 0, nowMs);
  }

  /** RST for ABORT in a synchronized state (§3.10.5): <SEQ=SND.NXT><CTL=RST,ACK>. */
  sendRst(nowMs: number): void {
    this.c.host.tcpStats.resetsSent++;
    this.segment(TCP_RST | TCP_ACK, this.c.snd.nxt, 0, 0, nowMs);
  }

  /** Zero-window or keep-alive probe: SEQ = SND.UNA - 1, which the peer must ACK (gVisor #10243). */
  sendProbe(nowMs: number): void {
    this.segment(TCP_ACK, this.c.snd.una - 1, 0, 0, nowMs);
  }

  private segment(flags: number, seqOff: number, dataLen: number, streamOff: number, nowMs: number): void {
    const c = this.c;
    const rcv = c.rcv;
    const n = c.negotiated;
    const r = this.repr;
    r.flags = flags;
    r.seq = c.snd.wire(seqOff);
    r.ack = flags & TCP_ACK ? rcv.wire(rcv.nxt) : 0;
    r.window = flags & TCP_RST ? 0 : this.windowField();
    r.mss = undefined;
    r.windowScale = undefined;
    r.sackPermitted = false;
    r.tsVal = n.tsOk && !(flags & TCP_RST) ? n.tsNow(nowMs) : undefined;
    r.tsEcr = n.tsRecent;
    r.sackBlocks = undefined;
    if (n.sackOk && flags & TCP_ACK && rcv.buf.hasOutOfOrder) {
      const blocks = rcv.buf.sackBlocks(n.tsOk ? 3 : 4);
      const wire = this.sackWire;
      wire.length = 0;
      for (const edge of blocks) wire.push(rcv.wire(edge));
      r.sackBlocks = wire;
    }
    this.finish(dataLen, streamOff);
  }

  private finish(dataLen: number, streamOff: number): void {
    const c = this.c;
    const r = this.repr;
    const host = c.host;
    r.srcPort = c.localPort;
    r.dstPort = c.remotePort;
    const headerLen = tcpHeaderLen(r);
    const tcpLen = headerLen + dataLen;
    const buf = Buffer.allocUnsafe(IPV4_HEADER_LEN + tcpLen);
    const ip = this.ip;
    ip.srcAddr = host.localAddr;
    ip.dstAddr = c.remoteAddr;
    ip.payloadLen = tcpLen;
    ip.ident = host.nextIpId();
    emitIpv4(ip, buf, 0);
    emitTcpHeader(r, buf, IPV4_HEADER_LEN, headerLen);
    if (dataLen > 0) c.snd.buf.copyOut(streamOff, dataLen, buf, IPV4_HEADER_LEN + headerLen);
    fillTcpChecksum(buf, IPV4_HEADER_LEN, tcpLen, host.localAddr, c.remoteAddr);
    host.tcpStats.segmentsOut++;
    if (r.flags & TCP_ACK) {
      const rcv = c.rcv;
      rcv.ackNow = false;
      rcv.windowUpdateDue = false;
      rcv.unackedBytes = 0;
      c.timers.delackAt = undefined;
      rcv.lastAckSent = rcv.nxt;
    }
    host.transmit(buf);
  }
}
