// The receive sequence space of one connection (RFC 9293 §3.3.1, figure 5): RCV.NXT, the window we
// offered, the reassembly buffer, the peer's FIN, and what our next ACK owes (RFC 9293 §3.8.6.3,
// RFC 5681 §4.2). Offsets are unwrapped from IRS, as in SendSequence.
import { RecvBuffer, type RecvBufferLimits } from './recv-buffer.js';
import { DEFAULT_MSS } from './tcp-config.js';

export class ReceiveSequence {
  /** IRS, the peer's initial sequence number (32-bit wire value), known once its SYN arrived. */
  irs = 0;
  /** RCV.NXT: next offset expected in order. */
  nxt = 0;
  /** Right edge of the receive budget we offered (never moved left, RFC 9293 §3.8.6.2.2). */
  advRight = 0;
  /**
   * Right edge as the peer sees it: the scaled window field is rounded up so scaling never shrinks
   * the window (RFC 7323 §2.3), so this may exceed advRight by less than 2^shift.
   */
  wireRight = 0;
  readonly buf: RecvBuffer;
  /** Largest payload the peer has sent us (Linux's rcv_mss estimate, for ACK decisions). */
  mss = DEFAULT_MSS;
  /** The peer's FIN was consumed in order. */
  finReceived = false;
  /** Offset of a FIN that arrived ahead of a hole. */
  remoteFinOff = Infinity;
  /** The application closed its reading side: data arriving now is answered with RST. */
  readClosed = false;
  /** Send an ACK at the end of the current input. */
  ackNow = false;
  /** The application's reads opened the window enough to announce it (at the burst's end). */
  windowUpdateDue = false;
  /** Bytes received since the last ACK we sent. */
  unackedBytes = 0;
  /** RCV.NXT as of the last ACK sent (RFC 7323 §4.3 Last.ACK.sent). */
  lastAckSent = 0;

  constructor(limits: RecvBufferLimits) {
    this.buf = new RecvBuffer(limits);
  }

  /** Unwraps a sequence number relative to RCV.NXT. */
  unwrap(seq: number): number {
    return this.nxt + ((seq - ((this.irs + this.nxt) >>> 0)) | 0);
  }

  /** The 32-bit wire sequence number of offset `off`. */
  wire(off: number): number {
    return (this.irs + off) >>> 0;
  }
}
