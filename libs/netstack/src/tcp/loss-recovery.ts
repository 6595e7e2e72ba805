// The sender's side of ACK processing: new data acknowledged (RFC 9293 §3.10.7.4 fifth check),
// RTT samples (RFC 6298, RFC 7323 §4), SACK scoreboard updates (RFC 2018), duplicate ACKs and fast
// recovery (RFC 5681 §3.2, RFC 6582, RFC 6675) with Proportional Rate Reduction (RFC 6937), lost
// retransmission detection, and the retransmission timeout (RFC 6298 §5). State lives on the
// connection; this class is its loss-recovery logic.
import type { TcpRepr } from '../wire/tcp.js';
import { EV_WRITABLE, Recovery, type TcpConnection } from './tcp-connection.js';

export class LossRecovery {
  constructor(private readonly c: TcpConnection) {}

  /** RFC 2018 §3: records SACK blocks (wire numbers) relative to `ackOff`; true if any was new. */
  processSack(blocks: number[], ackOff: number): boolean {
    const c = this.c;
    const before = c.scoreboard.sackedBytes;
    const base = (c.iss + ackOff) >>> 0;
    for (let i = 0; i + 1 < blocks.length; i += 2) {
      const start = ackOff + ((blocks[i]! - base) | 0);
      const end = ackOff + ((blocks[i + 1]! - base) | 0);
      // Ignore D-SACK (RFC 2883, below the cumulative ACK) and anything never sent.
      if (start >= end || start < ackOff || end > c.nxt) continue;
      c.scoreboard.add(start, end);
    }
    if (ackOff > c.una) c.scoreboard.advance(ackOff);
    return c.scoreboard.sackedBytes > before;
  }

  onNewAck(ackOff: number, seg: TcpRepr, nowMs: number): void {
    const c = this.c;
    const acked = ackOff - c.una;
    const flightBefore = c.nxt - c.una;
    const freedBefore = c.sendBuf.free;
    c.sendBuf.consume(Math.min(ackOff - 1, c.sendBuf.end));
    c.una = ackOff;
    if (c.rxtNxt < ackOff) c.rxtNxt = ackOff;
    c.scoreboard.advance(ackOff);
    // RTT (RFC 6298 §3 with RFC 7323 §4 timestamps): one sample per flight.
    if (c.tsOk && seg.tsEcr !== 0) {
      if (ackOff >= c.rttSeq) {
        this.sampleTimestamp(seg.tsEcr, nowMs);
        c.rttSeq = c.nxt;
      }
    } else if (c.rttTiming && ackOff >= c.rttSeq) {
      c.rtt.sample(nowMs - c.rttSentAt);
      c.rttTiming = false;
    }
    c.rtt.resetBackoff();
    c.rtoRetries = 0;
    c.dupAcks = 0;
    // Congestion control and recovery exits (RFC 6582 §3.2 steps 5-6).
    if (c.recovery === Recovery.Fast) {
      if (ackOff >= c.recover) {
        c.recovery = Recovery.None;
        c.cc.exitRecovery(c.nxt - c.una);
        c.lostEnd = c.rxtNxt = c.una;
      } else if (!c.sackOk) {
        // Partial ACK: the next segment is lost too; retransmit it now.
        c.cc.partialAck(acked);
        c.lostEnd = Math.max(c.lostEnd, c.una + Math.min(c.segSize, c.nxt - c.una));
        c.rxtNxt = c.una;
        c.rxtForce = true;
      } else {
        c.lostEnd = Math.max(c.lostEnd, c.scoreboard.highest);
      }
    } else {
      if (c.recovery === Recovery.Loss && ackOff >= c.recover) c.recovery = Recovery.None;
      c.cc.onAck(acked, flightBefore * 2 >= c.cc.cwnd);
    }
    // RFC 6298 §5.2-5.3: stop the timer when all is acknowledged, else restart it.
    if (!c.persisting) c.rtoAt = c.una >= c.nxt ? undefined : nowMs + c.rtt.rtoMs;
    if (c.sendBuf.free > freedBefore && c.canSend) c.emit(EV_WRITABLE);
  }

  sampleTimestamp(tsEcr: number, nowMs: number): void {
    const c = this.c;
    const elapsed = ((c.out.tsNow(nowMs) - tsEcr) | 0) >>> 0;
    // Ignore echoes that are not ours (elapsed huge or negative wrapped).
    if (elapsed < 60_000) c.rtt.sample(elapsed);
  }

  /** RFC 5681 §3.2 / RFC 6582 §3.2: duplicate ACK handling. */
  onDupAck(): void {
    const c = this.c;
    c.dupAcks++;
    if (c.recovery === Recovery.None) {
      if (c.dupAcks >= 3) this.enterFastRecovery();
    } else if (c.recovery === Recovery.Fast) {
      if (c.sackOk) c.lostEnd = Math.max(c.lostEnd, c.scoreboard.highest);
      else c.cc.inflate();
    }
  }

  /**
   * RFC 6937 Proportional Rate Reduction: during recovery send in proportion to what the network
   * delivered, so the window comes down to ssthresh smoothly instead of in one burst (a burst
   * right after a loss is what loses the retransmissions next).
   */
  prrUpdate(delivered: number): void {
    const c = this.c;
    c.prrDelivered += delivered;
    const pipe = c.out.pipe();
    const ssthresh = c.cc.ssthresh;
    let sndcnt: number;
    if (pipe > ssthresh) {
      sndcnt = Math.ceil((c.prrDelivered * ssthresh) / Math.max(1, c.recoverFs)) - c.prrOut;
    } else {
      // PRR-SSRB: slow start back up to ssthresh, at most one MSS beyond what was delivered.
      sndcnt = Math.min(ssthresh - pipe, Math.max(c.prrDelivered - c.prrOut, delivered) + c.segSize);
    }
    c.cc.cwnd = pipe + Math.max(0, sndcnt);
  }

  enterFastRecovery(): void {
    const c = this.c;
    c.host.tcpStats.fastRecoveries++;
    c.recovery = Recovery.Fast;
    c.recover = c.nxt;
    c.prrDelivered = 0;
    c.prrOut = 0;
    c.recoverFs = c.nxt - c.una;
    c.rxtFrontier = c.nxt;
    c.cc.enterRecovery(c.nxt - c.una, c.sackOk);
    const first = c.una + Math.min(c.segSize, c.nxt - c.una);
    c.lostEnd = c.sackOk ? Math.max(first, c.scoreboard.highest) : first;
    c.rxtNxt = c.una;
    c.rxtForce = true;
    c.rttTiming = false;
  }

  /** RFC 6298 §5.4-5.7 and RFC 5681 §3.1: retransmission timeout. */
  onRetransmitTimeout(nowMs: number): void {
    const c = this.c;
    const stats = c.host.tcpStats;
    if (c.una === 0) {
      // SYN or SYN-ACK unanswered.
      c.synRetransmits++;
      if (c.synRetransmits > c.config.synRetries) {
        if (c.passive) c.terminate(undefined);
        else c.fail('ETIMEDOUT', 'connect');
        return;
      }
      stats.retransmittedSegments++;
      c.rtt.backoff();
      c.out.sendSyn(nowMs);
      c.rtoAt = nowMs + c.rtt.rtoMs;
      return;
    }
    if (c.nxt === c.una) return;
    c.rtoRetries++;
    stats.rtoExpirations++;
    if (c.rtoRetries > c.config.maxRetransmissions) {
      c.fail('ETIMEDOUT', 'read');
      return;
    }
    // ssthresh halves once per loss episode: an RTO inside recovery keeps the reduced value
    // (Linux tcp_enter_loss), or repeated timeouts would ratchet it to nothing.
    c.cc.onRetransmitTimeout(Math.min(c.nxt - c.una, c.cc.cwnd), c.recovery === Recovery.None);
    c.rtt.backoff();
    // A peer may renege on SACKed data (RFC 2018 §8); after repeated timeouts trust only the ACK.
    if (c.rtoRetries >= 2) c.scoreboard.clear();
    c.recovery = Recovery.Loss;
    c.recover = c.nxt;
    c.lostEnd = c.nxt;
    c.rxtNxt = c.una;
    c.rxtFrontier = c.nxt;
    c.rxtForce = true;
    c.dupAcks = 0;
    c.rttTiming = false;
    c.rtoAt = nowMs + c.rtt.rtoMs;
    c.out.output(nowMs);
  }
}
