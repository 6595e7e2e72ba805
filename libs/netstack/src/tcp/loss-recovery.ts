// The sender's side of ACK processing: new data acknowledged (RFC 9293 §3.10.7.4 fifth check),
// SACK scoreboard updates (RFC 2018), duplicate ACKs and fast recovery (RFC 5681 §3.2, RFC 6582,
// RFC 6675) with Proportional Rate Reduction (RFC 6937), lost-retransmission detection, and the
// retransmission timeout (RFC 6298 §5). It owns the recovery state; congestion control (cwnd,
// ssthresh) and RTT estimation are units of their own that it drives.
import type { TcpRepr } from '../wire/tcp.js';
import { ProportionalRateReduction } from './prr.js';
import { SackScoreboard } from './sack-scoreboard.js';
import type { TcpConnection } from './tcp-connection.js';
import { EV_WRITABLE, Recovery } from './tcp-types.js';

export class LossRecovery {
  phase = Recovery.None;
  /** RFC 6582 "recover": SND.NXT when the episode started; an ACK beyond it ends the episode. */
  recover = 0;
  /** Un-SACKed bytes in [una, lostEnd) are considered lost; rxtNxt is the retransmission cursor. */
  lostEnd = 0;
  rxtNxt = 0;
  /** Send one retransmission even if cwnd is full (RFC 5681 §3.2 step 2, RFC 6298 §5.4). */
  rxtForce = false;
  dupAcks = 0;
  /** SND.NXT when the latest retransmission left: SACKs beyond it prove earlier ones were lost. */
  rxtFrontier = 0;
  readonly scoreboard = new SackScoreboard();
  readonly prr = new ProportionalRateReduction();

  constructor(private readonly c: TcpConnection) {}

  /** Nothing is marked lost (after the handshake, and when an episode ends). */
  reset(una: number): void {
    this.lostEnd = this.rxtNxt = una;
  }

  /** Bookkeeping for a data/FIN segment covering [start, end) that just left. */
  onSent(start: number, end: number, nowMs: number, retransmit: boolean): void {
    const c = this.c;
    if (this.phase === Recovery.Fast) this.prr.onSent(end - start);
    if (retransmit) {
      this.rxtFrontier = c.snd.nxt;
      c.host.tcpStats.retransmittedSegments++;
      c.rtt.onRetransmit(start);
    } else if (!c.negotiated.tsOk) {
      c.rtt.onNewDataSent(end, nowMs);
    }
  }

  /** RFC 2018 §3: records SACK blocks (wire numbers) relative to `ackOff`; true if any was new. */
  processSack(blocks: number[], ackOff: number): boolean {
    const snd = this.c.snd;
    const sb = this.scoreboard;
    const before = sb.sackedBytes;
    const base = snd.wire(ackOff);
    for (let i = 0; i + 1 < blocks.length; i += 2) {
      const start = ackOff + ((blocks[i]! - base) | 0);
      const end = ackOff + ((blocks[i + 1]! - base) | 0);
      // Ignore D-SACK (RFC 2883, below the cumulative ACK) and anything never sent.
      if (start >= end || start < ackOff || end > snd.nxt) continue;
      sb.add(start, end);
    }
    if (ackOff > snd.una) sb.advance(ackOff);
    return sb.sackedBytes > before;
  }

  onNewAck(ackOff: number, seg: TcpRepr, nowMs: number): void {
    const c = this.c;
    const snd = c.snd;
    const acked = ackOff - snd.una;
    const flightBefore = snd.inFlight;
    const freedBefore = snd.buf.free;
    snd.buf.consume(Math.min(ackOff - 1, snd.buf.end));
    snd.una = ackOff;
    if (this.rxtNxt < ackOff) this.rxtNxt = ackOff;
    this.scoreboard.advance(ackOff);
    // RTT (RFC 6298 §3 with RFC 7323 §4 timestamps).
    if (c.negotiated.tsOk && seg.tsEcr !== 0) {
      c.rtt.onTimestampEcho(ackOff, (c.negotiated.tsNow(nowMs) - seg.tsEcr) | 0, snd.nxt);
    } else {
      c.rtt.onAck(ackOff, nowMs);
    }
    c.rtt.resetBackoff();
    c.timers.rtoRetries = 0;
    this.dupAcks = 0;
    // Congestion control and recovery exits (RFC 6582 §3.2 steps 5-6).
    if (this.phase === Recovery.Fast) {
      if (ackOff >= this.recover) {
        this.phase = Recovery.None;
        c.cc.exitRecovery(snd.inFlight);
        this.reset(snd.una);
      } else if (!c.negotiated.sackOk) {
        // Partial ACK: the next segment is lost too; retransmit it now.
        c.cc.partialAck(acked);
        this.lostEnd = Math.max(this.lostEnd, snd.una + Math.min(c.negotiated.segSize, snd.inFlight));
        this.rxtNxt = snd.una;
        this.rxtForce = true;
      } else {
        this.lostEnd = Math.max(this.lostEnd, this.scoreboard.highest);
      }
    } else {
      if (this.phase === Recovery.Loss && ackOff >= this.recover) this.phase = Recovery.None;
      c.cc.onAck(acked, flightBefore * 2 >= c.cc.cwnd);
    }
    // RFC 6298 §5.2-5.3: stop the timer when all is acknowledged, else restart it.
    const timers = c.timers;
    if (!timers.persisting) timers.rtoAt = snd.una >= snd.nxt ? undefined : nowMs + c.rtt.rtoMs;
    if (snd.buf.free > freedBefore && c.canSend) c.emit(EV_WRITABLE);
  }

  /** RFC 5681 §3.2 / RFC 6582 §3.2: duplicate ACK handling. */
  onDupAck(): void {
    this.dupAcks++;
    if (this.phase === Recovery.None) {
      if (this.dupAcks >= 3) this.enterFastRecovery();
    } else if (this.phase === Recovery.Fast) {
      if (this.c.negotiated.sackOk) this.lostEnd = Math.max(this.lostEnd, this.scoreboard.highest);
      else this.c.cc.inflate();
    }
  }

  /**
   * What an ACK in recovery means beyond the cumulative point: SACK-detected losses (RFC 6675
   * IsLost), lost retransmissions, and the PRR window. `delivered` counts bytes newly ACKed or SACKed.
   */
  afterAck(delivered: number): void {
    const c = this.c;
    const snd = c.snd;
    const sackOk = c.negotiated.sackOk;
    const sb = this.scoreboard;
    if (this.phase === Recovery.None && sackOk && snd.nxt > snd.una && sb.sackedBytes > 2 * c.negotiated.segSize) {
      // RFC 6675 §5 (IsLost): more than DupThresh-1 segments SACKed above SND.UNA.
      this.enterFastRecovery();
    }
    if (this.phase === Recovery.None || !sackOk) return;
    // Lost retransmission: data sent after our latest retransmission was SACKed (3 segments past
    // it) while holes we retransmitted are still open. On a FIFO path those retransmissions are
    // gone; resend them now instead of waiting for the RTO (as Linux's lost-retransmit check).
    if (this.rxtNxt > snd.una && sb.highest >= this.rxtFrontier + 3 * c.negotiated.segSize) {
      this.rxtNxt = snd.una;
      this.rxtFrontier = snd.nxt;
      c.host.tcpStats.lostRetransmits++;
    }
    if (this.phase === Recovery.Fast) {
      c.cc.cwnd = this.prr.onAck(delivered, this.pipe(), c.cc.ssthresh, c.negotiated.segSize);
    }
  }

  enterFastRecovery(): void {
    const c = this.c;
    const snd = c.snd;
    c.host.tcpStats.fastRecoveries++;
    this.phase = Recovery.Fast;
    this.recover = snd.nxt;
    this.prr.start(snd.inFlight);
    this.rxtFrontier = snd.nxt;
    c.cc.enterRecovery(snd.inFlight, c.negotiated.sackOk);
    const first = snd.una + Math.min(c.negotiated.segSize, snd.inFlight);
    this.lostEnd = c.negotiated.sackOk ? Math.max(first, this.scoreboard.highest) : first;
    this.rxtNxt = snd.una;
    this.rxtForce = true;
    c.rtt.cancelTiming();
  }

  /** Bytes considered in the network (RFC 6675 "pipe"): un-SACKed, not marked lost unless resent. */
  pipe(): number {
    const snd = this.c.snd;
    const sb = this.scoreboard;
    const una = snd.una;
    const lostEnd = this.lostEnd;
    if (lostEnd <= una) return snd.nxt - una - sb.sackedBytes;
    const rxt = Math.max(this.rxtNxt, una);
    return rxt - una - sb.sackedIn(una, rxt) + (snd.nxt - lostEnd - sb.sackedIn(lostEnd, snd.nxt));
  }

  /** RFC 6298 §5.4-5.7 and RFC 5681 §3.1: retransmission timeout. */
  onRetransmitTimeout(nowMs: number): void {
    const c = this.c;
    const snd = c.snd;
    const timers = c.timers;
    const stats = c.host.tcpStats;
    if (snd.una === 0) {
      // SYN or SYN-ACK unanswered.
      timers.synRetransmits++;
      if (timers.synRetransmits > c.config.synRetries) {
        if (c.passive) c.terminate(undefined);
        else c.fail('ETIMEDOUT', 'connect');
        return;
      }
      stats.retransmittedSegments++;
      c.rtt.backoff();
      c.out.sendSyn(nowMs);
      timers.rtoAt = nowMs + c.rtt.rtoMs;
      return;
    }
    if (snd.nxt === snd.una) return;
    timers.rtoRetries++;
    stats.rtoExpirations++;
    if (timers.rtoRetries > c.config.maxRetransmissions) {
      c.fail('ETIMEDOUT', 'read');
      return;
    }
    // ssthresh halves once per loss episode: an RTO inside recovery keeps the reduced value
    // (Linux tcp_enter_loss), or repeated timeouts would ratchet it to nothing.
    c.cc.onRetransmitTimeout(Math.min(snd.inFlight, c.cc.cwnd), this.phase === Recovery.None);
    c.rtt.backoff();
    // A peer may renege on SACKed data (RFC 2018 §8); after repeated timeouts trust only the ACK.
    if (timers.rtoRetries >= 2) this.scoreboard.clear();
    this.phase = Recovery.Loss;
    this.recover = snd.nxt;
    this.lostEnd = snd.nxt;
    this.rxtNxt = snd.una;
    this.rxtFrontier = snd.nxt;
    this.rxtForce = true;
    this.dupAcks = 0;
    c.rtt.cancelTiming();
    timers.rtoAt = nowMs + c.rtt.rtoMs;
    c.out.output(nowMs);
  }
}
