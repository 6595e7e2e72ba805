// A test application on one core TcpConnection: streams N bytes of seeded data (hashing what it
// sent), reads and hashes everything that arrives, and records how the connection ended.
import { createHash, type Hash } from 'node:crypto';
import type { NetStack } from '../stack/net-stack.js';
import type { TcpConnection } from '../tcp/tcp-connection.js';
import type { TcpConnectionHandler } from '../tcp/tcp-types.js';
import type { TcpError } from '../tcp/tcp-error.js';
import { Prng } from './prng.js';

export interface EndpointOptions {
  /** Bytes to send after the handshake (0 = none). */
  sendBytes?: number;
  /** Seed of the data stream. */
  seed?: number;
  /** Half-close (FIN) once everything was sent. Default true. */
  endAfterSend?: boolean;
  /** Full close as soon as the peer's FIN was read. Default true. */
  closeOnEnd?: boolean;
  /** Start sending only after the peer's FIN was read (request/response). */
  waitForEnd?: boolean;
  /** Do not read (to test zero windows) until resumeReading(). */
  paused?: boolean;
  chunkBytes?: number;
}

export class StreamEndpoint implements TcpConnectionHandler {
  established = false;
  closed = false;
  error: TcpError | undefined;
  /** Peer's FIN was read. */
  ended = false;
  bytesReceived = 0;
  bytesSent = 0;
  private readonly rxHash: Hash = createHash('sha256');
  private readonly txHash: Hash = createHash('sha256');
  private readonly prng: Prng;
  private pending: Uint8Array | undefined;
  private paused: boolean;
  private readonly sendBytes: number;
  private readonly chunkBytes: number;

  constructor(
    readonly stack: NetStack,
    readonly conn: TcpConnection,
    private readonly clock: () => number,
    private readonly options: EndpointOptions = {},
  ) {
    this.prng = new Prng(options.seed ?? 1);
    this.paused = options.paused ?? false;
    this.sendBytes = options.sendBytes ?? 0;
    this.chunkBytes = options.chunkBytes ?? 64 * 1024;
    conn.handler = this;
    if (conn.state === 'ESTABLISHED' || conn.state === 'CLOSE-WAIT') {
      this.established = true;
      this.call(() => this.pump());
    }
  }

  get receivedDigest(): string {
    return this.rxHash.copy().digest('hex');
  }
  get sentDigest(): string {
    return this.txHash.copy().digest('hex');
  }
  get doneSending(): boolean {
    return this.bytesSent >= this.sendBytes && this.pending === undefined;
  }

  private call<T>(fn: () => T): T {
    return this.stack.call(this.conn, this.clock(), fn);
  }

  onEstablished(): void {
    this.established = true;
    this.pump();
  }
  onReadable(): void {
    this.drain();
  }
  onWritable(): void {
    this.pump();
  }
  onClose(error: TcpError | undefined): void {
    this.closed = true;
    this.error = error;
    if (!error) this.drain();
  }

  resumeReading(): void {
    this.paused = false;
    this.call(() => this.drain());
  }

  /** Half-close now (FIN after buffered data). */
  end(): void {
    this.call(() => this.conn.shutdown(this.clock()));
  }

  private pump(): void {
    const conn = this.conn;
    if (this.options.waitForEnd && !this.ended) return;
    while (conn.canSend && (this.pending !== undefined || this.bytesSent < this.sendBytes)) {
      if (this.pending === undefined) {
        const size = Math.min(this.chunkBytes, this.sendBytes - this.bytesSent);
        const chunk = this.prng.bytes(size);
        this.txHash.update(chunk);
        this.bytesSent += size;
        this.pending = chunk;
      }
      const n = conn.send(this.pending, this.clock());
      if (n === this.pending.length) this.pending = undefined;
      else {
        this.pending = this.pending.subarray(n);
        return;
      }
    }
    if (!this.doneSending) return;
    if (this.sendBytes > 0 && (this.options.endAfterSend ?? true)) conn.shutdown(this.clock());
    if (this.ended && (this.options.closeOnEnd ?? true)) conn.close(this.clock());
  }

  private drain(): void {
    if (this.paused) return;
    for (;;) {
      const chunk = this.conn.read(this.clock());
      if (chunk === undefined) break;
      this.bytesReceived += chunk.length;
      this.rxHash.update(chunk);
    }
    if (!this.ended && this.conn.finReceived && this.conn.readableBytes === 0) {
      this.ended = true;
      this.pump();
    }
  }
}
