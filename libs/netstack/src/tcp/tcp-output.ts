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

  /** Our timestamp clock: milliseconds plus a per-connection random offset (RFC 7323 §5.4). */
  tsNow(nowMs: number): number {
    return (Math.floor(nowMs) + this.c.tsOffset) >>> 0;
  }

  /** Largest window we can advertise with the negotiated shift. */
  maxWindow(): number {
    return Math.min(this.c.config.receiveBufferBytes, MAX_WINDOW_FIELD * 2 ** this.c.rcvShift);
  }

  /** The window field for a non-SYN segment; records the right edge it promises. */
  private windowField(): number {
    const c = this.c;
    const scale = 2 ** c.rcvShift;
    const want = Math.min(c.rcvBuf.free, this.maxWindow());
    // Never move the right edge left (RFC 9293 §3.8.6.2.2); round up so scaling cannot shrink it.
    // The rounding excess is not added to the budget, or it would accumulate ACK after ACK.
    const right = Math.max(c.rcvAdvRight, c.rcvNxt + want);
    const field = Math.min(MAX_WINDOW_FIELD, Math.ceil((right - c.rcvNxt) / scale));
    c.rcvAdvRight = right;
    c.rcvWireRight = Math.max(c.rcvWireRight, c.rcvNxt + field * scale);
    return field;
  }

  /**
   * Payload bytes that fit one segment now: the negotiated size minus the SACK option our ACKs
   * carry while we hold out-of-order data (as Linux's tcp_current_mss), so no packet exceeds the MTU.
   */
  payloadLimit(): number {
    const c = this.c;
    if (!c.sackOk || !c.rcvBuf.hasOutOfOrder) return c.segSize;
    return c.segSize - (4 + 8 * Math.min(c.rcvBuf.oooRangeCount, c.tsOk ? 3 : 4));
  }

  /** Bytes considered in the network (RFC 6675 "pipe"): un-SACKed, not marked lost unless resent. */
  pipe(): number {
    const c = this.c;
    const sb = c.scoreboard;
    const una = c.una;
    if (c.lostEnd <= una) return c.nxt - una - sb.sackedBytes;
    const rxt = Math.max(c.rxtNxt, una);
    const lostEnd = c.lostEnd;
    return rxt - una - sb.sackedIn(una, rxt) + (c.nxt - lostEnd - sb.sackedIn(lostEnd, c.nxt));
  }

  /** Sends whatever the windows allow: lost ranges first, then new data and FIN, else a due ACK. */
  output(nowMs: number): void {
    const c = this.c;
    const state = c.state;
    if (state === 'CLOSED') return;
    if (c.una === 0) {
      // Handshake pending: the only "ACK" we can send in SYN-RECEIVED is the SYN-ACK again.
      if (c.ackNow && state === 'SYN-RECEIVED') this.sendSyn(nowMs);
      c.ackNow = false;
      return;
    }
    if (state === 'TIME-WAIT') {
      if (c.ackNow) this.sendAck(nowMs);
      return;
    }
    const mss = this.payloadLimit();
    let idleChecked = false;
    for (;;) {
      if (c.rxtNxt < c.lostEnd) {
        const start = c.scoreboard.nextUnsacked(Math.max(c.rxtNxt, c.una));
        if (start >= c.lostEnd) {
          c.rxtNxt = c.lostEnd;
          continue;
        }
        if (!c.rxtForce && this.pipe() >= c.cc.cwnd) break;
        const end = Math.min(start + mss, c.lostEnd, c.scoreboard.nextSackedStart(start));
        this.sendRange(start, end, nowMs, true);
        c.rxtNxt = end;
        c.rxtForce = false;
        continue;
      }
      const dataEnd = 1 + c.sendBuf.end;
      const limit = c.finQueued ? c.finOff + 1 : dataEnd;
      if (c.nxt >= limit) break;
      if (!idleChecked) {
        idleChecked = true;
        // RFC 5681 §4.1: after idling longer than RTO, do not burst a stale window.
        if (c.nxt === c.una && nowMs - c.lastSendAt > c.rtt.rtoMs) c.cc.restartAfterIdle();
      }
      if (c.nxt < dataEnd) {
        const avail = dataEnd - c.nxt;
        const wndRoom = c.una + c.sndWnd - c.nxt;
        if (wndRoom <= 0) {
          // Zero window with nothing in flight: the persist timer takes over (RFC 9293 §3.8.6.1).
          if (c.nxt === c.una) this.armPersist(nowMs);
          break;
        }
        const cwndRoom = c.cc.cwnd - this.pipe();
        if (cwndRoom <= 0) break;
        const n = Math.min(avail, mss, wndRoom, cwndRoom);
        if (n < mss && n < avail) {
          // Window/cwnd allows only a runt: wait for an ACK if one will come (SWS avoidance).
          if (c.nxt > c.una) break;
        } else if (n < mss && !c.noDelay && c.nxt > c.una && !c.finQueued) {
          // Nagle (RFC 896, RFC 9293 §3.7.4): hold a small tail while data is unacknowledged.
          break;
        }
        let end = c.nxt + n;
        if (c.finQueued && end === c.finOff) end += 1; // FIN rides on the last data segment
        this.sendRange(c.nxt, end, nowMs, false);
        c.nxt = end;
      } else {
        this.sendRange(c.nxt, c.nxt + 1, nowMs, false); // a bare FIN
        c.nxt += 1;
      }
    }
    if (c.ackNow) this.sendAck(nowMs);
  }

  private armPersist(nowMs: number): void {
    const c = this.c;
    if (c.persisting || c.rtoAt !== undefined) return;
    c.persisting = true;
    c.persistBackoff = 0;
    c.rtoAt = nowMs + c.rtt.rtoMs;
  }

  /** Persist timer: probe the zero window with backoff, never giving up while the peer answers. */
  onPersistTimeout(nowMs: number): void {
    const c = this.c;
    const waiting = c.nxt < 1 + c.sendBuf.end;
    if (c.sndWnd > 0 || !waiting || c.nxt > c.una) {
      c.persisting = false;
      c.persistBackoff = 0;
      this.output(nowMs);
      return;
    }
    c.probesUnanswered++;
    if (c.probesUnanswered > c.config.maxRetransmissions) {
      c.fail('ETIMEDOUT', 'write');
      return;
    }
    c.host.tcpStats.zeroWindowProbes++;
    this.sendProbe(nowMs);
    c.persistBackoff++;
    c.rtoAt = nowMs + Math.min(c.config.maxRtoMs, c.rtt.rtoMs * 2 ** c.persistBackoff);
  }

  /**
   * RFC 9293 §3.8.6.2.2 / Linux tcp_cleanup_rbuf: after the application reads, announce the window
   * at once if it at least doubled from what the peer can still send — never wait for the delayed
   * ACK (pitfalls §3.6.1-2: delayed window updates throttle or stall the sender).
   */
  maybeWindowUpdate(nowMs: number): void {
    const c = this.c;
    if (c.una === 0 || c.finReceived) return;
    const s = c.state;
    if (s !== 'ESTABLISHED' && s !== 'FIN-WAIT-1' && s !== 'FIN-WAIT-2') return;
    const maxWnd = this.maxWindow();
    const remaining = c.rcvWireRight - c.rcvNxt;
    if (2 * remaining > maxWnd) return;
    const wnd = Math.min(c.rcvBuf.free, maxWnd);
    if (wnd >= 2 * remaining && wnd - remaining >= Math.min(c.rcvMss, maxWnd >> 1)) this.sendAck(nowMs);
  }

  /** One data and/or FIN segment covering sequence offsets [start, end). */
  private sendRange(start: number, end: number, nowMs: number, retransmit: boolean): void {
    const c = this.c;
    const fin = c.finQueued && start <= c.finOff && end > c.finOff;
    const dataEnd = fin ? c.finOff : end;
    const dataLen = dataEnd - start;
    let flags = TCP_ACK;
    if (fin) flags |= TCP_FIN;
    if (dataLen > 0 && dataEnd === 1 + c.sendBuf.end) flags |= TCP_PSH;
    this.segment(flags, start, dataLen, start - 1, nowMs);
    if (c.recovery === 1 /* Recovery.Fast */) c.prrOut += end - start;
    if (retransmit) {
      c.rxtFrontier = c.nxt;
      c.host.tcpStats.retransmittedSegments++;
      if (c.rttTiming && start < c.rttSeq) c.rttTiming = false; // Karn's rule
    } else if (!c.tsOk && !c.rttTiming) {
      c.rttTiming = true;
      c.rttSeq = end;
      c.rttSentAt = nowMs;
    }
    // RFC 6298 §5.1: start the timer when data goes out and it is not running.
    if (c.rtoAt === undefined && !c.persisting) c.rtoAt = nowMs + c.rtt.rtoMs;
    c.lastSendAt = nowMs;
  }

  /** SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED) with our options (RFC 9293 §3.7.1, RFC 7323, 2018). */
  sendSyn(nowMs: number): void {
    const c = this.c;
    const config = c.config;
    const r = this.repr;
    const active = c.state === 'SYN-SENT';
    r.flags = active ? TCP_SYN : TCP_SYN | TCP_ACK;
    r.seq = c.iss;
    r.ack = active ? 0 : (c.irs + c.rcvNxt) >>> 0;
    const window = Math.min(c.rcvBuf.free, MAX_WINDOW_FIELD);
    r.window = window;
    c.rcvAdvRight = c.rcvWireRight = c.rcvNxt + window;
    r.mss = c.localMss;
    if (active) {
      r.windowScale = config.windowScaling ? this.ourWindowShift() : undefined;
      r.sackPermitted = config.sack;
      r.tsVal = config.timestamps ? this.tsNow(nowMs) : undefined;
      r.tsEcr = 0;
    } else {
      // Reply with exactly the options the peer's SYN offered and we accepted.
      r.windowScale = c.wsOk ? c.rcvShift : undefined;
      r.sackPermitted = c.sackOk;
      r.tsVal = c.tsOk ? this.tsNow(nowMs) : undefined;
      r.tsEcr = c.tsRecent;
    }
    r.sackBlocks = undefined;
    if (c.synRetransmits === 0) c.rttSentAt = nowMs;
    this.finish(0, 0);
  }

  /** A pure ACK (also the challenge ACK of RFC 5961: our SND.NXT, our RCV.NXT). */
  sendAck(nowMs: number): void {
    const c = this.c;
    if (c.una === 0) {
      if (c.state === 'SYN-RECEIVED') this.sendSyn(nowMs);
      return;
    }
    this.segment(TCP_ACK, c.nxt, 0, 0, nowMs);
  }

  /** RST for ABORT in a synchronized state (§3.10.5): <SEQ=SND.NXT><CTL=RST,ACK>. */
  sendRst(nowMs: number): void {
    this.c.host.tcpStats.resetsSent++;
    this.segment(TCP_RST | TCP_ACK, this.c.nxt, 0, 0, nowMs);
  }

  /** Zero-window or keep-alive probe: SEQ = SND.UNA - 1, which the peer must ACK (gVisor #10243). */
  sendProbe(nowMs: number): void {
    this.segment(TCP_ACK, this.c.una - 1, 0, 0, nowMs);
  }

  private segment(flags: number, seqOff: number, dataLen: number, streamOff: number, nowMs: number): void {
    const c = this.c;
    const r = this.repr;
    r.flags = flags;
    r.seq = (c.iss + seqOff) >>> 0;
    r.ack = flags & TCP_ACK ? (c.irs + c.rcvNxt) >>> 0 : 0;
    r.window = flags & TCP_RST ? 0 : this.windowField();
    r.mss = undefined;
    r.windowScale = undefined;
    r.sackPermitted = false;
    r.tsVal = c.tsOk && !(flags & TCP_RST) ? this.tsNow(nowMs) : undefined;
    r.tsEcr = c.tsRecent;
    r.sackBlocks = undefined;
    if (c.sackOk && flags & TCP_ACK && c.rcvBuf.hasOutOfOrder) {
      const blocks = c.rcvBuf.sackBlocks(c.tsOk ? 3 : 4);
      const wire = this.sackWire;
      wire.length = 0;
      for (const edge of blocks) wire.push((c.irs + edge) >>> 0);
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
    emitTcpHeader(r, buf, IPV4_HEADER_LEN);
    if (dataLen > 0) c.sendBuf.copyOut(streamOff, dataLen, buf, IPV4_HEADER_LEN + headerLen);
    fillTcpChecksum(buf, IPV4_HEADER_LEN, tcpLen, host.localAddr, c.remoteAddr);
    host.tcpStats.segmentsOut++;
    if (r.flags & TCP_ACK) {
      c.ackNow = false;
      c.unackedBytes = 0;
      c.delackAt = undefined;
      c.lastAckSent = c.rcvNxt;
    }
    host.transmit(buf);
  }
}
