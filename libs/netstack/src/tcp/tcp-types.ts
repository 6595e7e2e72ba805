// The vocabulary every part of the TCP layer shares: RFC 9293 state names, the events a connection
// reports to its owner, and the sender's loss-recovery phase. A leaf module (one type import), so
// the connection and the classes that work on it depend on it rather than on each other.
import type { TcpError } from './tcp-error.js';

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

/** Pending-event bits, collected during input and delivered once it is processed. */
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
