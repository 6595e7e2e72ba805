// The send sequence space of one connection (RFC 9293 §3.3.1, figure 4): SND.UNA, SND.NXT,
// SND.WND with the WL1/WL2 of its last update, the send buffer and our FIN. Offsets are unwrapped
// from ISS (the SYN is offset 0, data starts at 1), exact in a JS number up to 2^53 bytes, so no
// comparison needs modular arithmetic; they are wrapped to 32 bits only on the wire.
import { SendBuffer } from './send-buffer.js';

export class SendSequence {
  /** SND.UNA: oldest unacknowledged offset. */
  una = 0;
  /** SND.NXT: next offset to send. */
  nxt = 0;
  /** SND.WND in bytes (the peer's window field, scaled). */
  wnd = 0;
  /** Largest window the peer ever offered (RFC 5961 §5.2 bounds acceptable ACKs with it). */
  maxWnd = 0;
  /** SND.WL1 / SND.WL2: sequence and ACK of the segment that last updated the window. */
  wl1 = 0;
  wl2 = 0;
  /** Bytes the application wrote, kept from SND.UNA until acknowledged. */
  readonly buf: SendBuffer;
  /** The application closed its sending side; our FIN follows the buffered data. */
  finQueued = false;
  /** Offset of our FIN once queued. */
  finOff = Infinity;

  constructor(
    /** ISS, the initial send sequence number (32-bit wire value). */
    readonly iss: number,
    bufferBytes: number,
  ) {
    this.buf = new SendBuffer(bufferBytes);
  }

  /** Sent but not yet acknowledged (SYN and FIN count as one each). */
  get inFlight(): number {
    return this.nxt - this.una;
  }

  /** Offset just past the last byte the application wrote. */
  get dataEnd(): number {
    return 1 + this.buf.end;
  }

  /** Unwraps an acknowledgment number relative to SND.UNA. */
  unwrap(ack: number): number {
    return this.una + ((ack - ((this.iss + this.una) >>> 0)) | 0);
  }

  /** The 32-bit wire sequence number of offset `off`. */
  wire(off: number): number {
    return (this.iss + off) >>> 0;
  }
}
