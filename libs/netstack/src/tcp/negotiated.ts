// What the two ends agreed in the handshake (RFC 9293 §3.7.1 MSS, RFC 7323 window scaling and
// timestamps, RFC 2018 SACK-permitted), plus the timestamp state that agreement brings.
import { DEFAULT_MSS } from './tcp-config.js';

export class Negotiated {
  /** Largest payload per segment we send (peer MSS minus our per-segment option bytes). */
  segSize = DEFAULT_MSS;
  /** Window scaling in use; shifts for the peer's window field and for ours. */
  wsOk = false;
  sndShift = 0;
  rcvShift = 0;
  sackOk = false;
  tsOk = false;
  /** TS.Recent (RFC 7323 §4.3): the peer's timestamp we echo. */
  tsRecent = 0;

  constructor(
    /** Random offset of our timestamp clock (RFC 7323 §5.4), so it reveals no uptime. */
    readonly tsOffset: number,
  ) {}

  /** Our timestamp clock: milliseconds plus the per-connection offset. */
  tsNow(nowMs: number): number {
    return (Math.floor(nowMs) + this.tsOffset) >>> 0;
  }
}
