// A TCP connection of the userspace stack as a Node Duplex that looks like net.Socket to
// node:http (client via createConnection, server via emit('connection')) and ws: addresses,
// 'connect'/'ready'/'timeout', setNoDelay/setKeepAlive/setTimeout, half-close with end(),
// destroy(), errors with net's codes. Back-pressure both ways: write() returns false once the TCP
// send buffer is full; a paused reader leaves data in the receive buffer, closing the window.
// Batching both ways: writes buffered by cork() (node:http corks each response) reach the send
// buffer in one call and are segmented once (_writev); data received in a burst of datagrams is
// handed to the reader once, when the burst ends (the driver's setImmediate), not per segment.
import { Duplex } from 'node:stream';
import type { TcpConnection } from '../tcp/tcp-connection.js';
import type { TcpConnectionHandler } from '../tcp/tcp-types.js';
import { TcpError } from '../tcp/tcp-error.js';

/** What a socket needs from its driver. */
export interface SocketHost {
  readonly localAddress: string;
  /** Runs a call on the stack (with time and rescheduling). */
  call<T>(conn: TcpConnection, fn: (nowMs: number) => T): T;
  /**
   * Calls socket.onBurstEnd() once the current burst of input has been processed: after the
   * datagrams the event loop reads in this turn, before it waits for more (never on a timer).
   */
  pullAtBurstEnd(socket: TcpSocket): void;
}

export interface TcpSocketOptions {
  /** Keep the writable side open after the peer's FIN (net's allowHalfOpen). Default false. */
  allowHalfOpen?: boolean;
  /** Still in SYN-SENT: 'connect' follows. */
  connecting?: boolean;
  /** Nagle off from the start (setNoDelay(true) before any data). */
  noDelay?: boolean;
}

type WriteCallback = (error?: Error | null) => void;

export class TcpSocket extends Duplex implements TcpConnectionHandler {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly remoteFamily = 'IPv4';
  readonly localAddress: string;
  readonly localPort: number;
  connecting: boolean;
  bytesRead = 0;
  /** Milliseconds of inactivity before 'timeout' (0 = off), as net.Socket.timeout. */
  timeout: number | undefined;
  private conn: TcpConnection | undefined;
  private written = 0;
  private reading = false;
  private pulling = false;
  /** Waiting for the driver's onBurstEnd(). */
  private pullQueued = false;
  private eofPushed = false;
  /**
   * The write (one chunk) or writev (several) being handed to the send buffer: the chunks it
   * could not take yet, pendingChunks[pendingHead, pendingCount), and the one callback for all of
   * them. Reused with its storage, so a write allocates no array.
   */
  private readonly pendingChunks: Array<Buffer | undefined> = [];
  private pendingHead = 0;
  private pendingCount = 0;
  private pendingCallback: WriteCallback | undefined;
  /**
   * Chunks taken from the receive buffer in one stack call, batch[0, batchCount). Reused with its
   * storage (never truncated), so a pull allocates no array.
   */
  private readonly batch: Array<Buffer | undefined> = [];
  private batchCount = 0;
  private pendingFinal: WriteCallback | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** The duration idleTimer was armed with. */
  private idleTimerMs = 0;
  private resetOnDestroy = false;

  constructor(
    private readonly host: SocketHost,
    conn: TcpConnection,
    options: TcpSocketOptions = {},
  ) {
    super({ allowHalfOpen: options.allowHalfOpen ?? false, decodeStrings: true, emitClose: true, autoDestroy: true });
    this.conn = conn;
    this.remoteAddress = conn.remoteAddress;
    this.remotePort = conn.remotePort;
    this.localAddress = host.localAddress;
    this.localPort = conn.localPort;
    this.connecting = options.connecting ?? false;
    // Nothing was sent on this connection yet, so the flag alone is enough (no stack call).
    if (options.noDelay) conn.noDelay = true;
    conn.handler = this;
  }

  // --- net.Socket surface ----------------------------------------------------------------------

  get bytesWritten(): number {
    return this.written + this.writableLength;
  }

  get pending(): boolean {
    return this.connecting;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  /** The TCP state (RFC 9293 name), for diagnostics. */
  get tcpState(): string {
    return this.conn?.state ?? 'CLOSED';
  }

  address(): { address: string; family: string; port: number } {
    return { address: this.localAddress, family: 'IPv4', port: this.localPort };
  }

  setNoDelay(noDelay = true): this {
    const conn = this.conn;
    if (conn !== undefined && !conn.isClosed) this.host.call(conn, (now) => conn.setNoDelay(noDelay, now));
    return this;
  }

  setKeepAlive(enable = false, initialDelayMs = 0): this {
    const conn = this.conn;
    if (conn !== undefined && !conn.isClosed) {
      this.host.call(conn, (now) => conn.setKeepAlive(enable, initialDelayMs > 0 ? initialDelayMs : undefined, now));
    }
    return this;
  }

  /**
   * Emits 'timeout' after `ms` without reads or writes (the socket stays open, as in net).
   * node:http switches the timeout off when a request arrives and on again (keepAliveTimeout) once
   * its response is sent: the one timer is kept and re-armed (refresh) for the same duration, not
   * replaced by a new one per response; switched off, it is left to run out and ignored.
   */
  setTimeout(ms: number, callback?: () => void): this {
    this.timeout = ms;
    if (callback) {
      if (ms === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    if (ms > 0 && !this.destroyed) {
      if (this.idleTimer !== undefined && this.idleTimerMs === ms) {
        this.idleTimer.refresh();
      } else {
        if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
        this.idleTimerMs = ms;
        this.idleTimer = setTimeout(this.onIdleTimer, ms);
        this.idleTimer.unref();
      }
    }
    return this;
  }

  private readonly onIdleTimer = (): void => {
    // Switched off since it was armed: left to run out, it reports nothing.
    if (this.timeout === this.idleTimerMs && !this.destroyed) this.emit('timeout');
  };

  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  /** Ends the writable side, then destroys once everything was written (net.Socket.destroySoon). */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** Closes with a RST instead of a FIN (net.Socket.resetAndDestroy). */
  resetAndDestroy(): this {
    this.resetOnDestroy = true;
    return this.destroy();
  }

  private touch(): void {
    // Only while a timeout is on: a timer left to run out after setTimeout(0) is not re-armed.
    if (this.timeout) this.idleTimer?.refresh();
  }

  // --- events from the TCP connection ----------------------------------------------------------

  onEstablished(): void {
    if (!this.connecting) return;
    this.connecting = false;
    this.emit('connect');
    this.emit('ready');
  }

  onReadable(): void {
    // Segments of one burst each report readable data: hand it over once, when the burst ends,
    // so the reader gets one chunk for many segments (and writes it on in one call).
    if (!this.reading || this.pullQueued) return;
    this.pullQueued = true;
    this.host.pullAtBurstEnd(this);
  }

  /** @internal The burst of input that made this socket readable was processed (driver). */
  onBurstEnd(): void {
    this.pullQueued = false;
    this.pull();
  }

  onWritable(): void {
    this.flushPendingWrite();
  }

  onClose(error: TcpError | undefined): void {
    const conn = this.conn;
    if (error !== undefined) {
      // The whole stack was closed: end quietly, as sockets do when their owner shuts down.
      if (error.code === 'ECONNABORTED' && error.syscall === 'close') {
        this.conn = undefined;
        this.takePendingCallback();
        this.destroy();
        return;
      }
      // Data that arrived before the reset (in this burst, its pull still queued) is read first,
      // as from a kernel socket, then the error.
      if (this.reading) this.pull();
      this.conn = undefined;
      const callback = this.takePendingCallback();
      this.destroy(error);
      callback?.(error);
      return;
    }
    // Graceful: both FINs done. Deliver what is still buffered, then EOF.
    const callback = this.takePendingCallback();
    callback?.(conn?.makeError('EPIPE', 'write') ?? new TcpError('EPIPE', 'write'));
    // Data and EOF now, not at the burst's end: the socket closes right after this event.
    this.pull();
  }

  // --- Duplex implementation -------------------------------------------------------------------

  override _read(): void {
    this.reading = true;
    this.pull();
  }

  private pull(): void {
    const conn = this.conn;
    if (conn === undefined || this.pulling || this.eofPushed) return;
    this.pulling = true;
    try {
      const batch = this.batch;
      while (this.reading && conn.readableBytes > 0) {
        // One stack call drains a batch; the window update (if any) goes out once.
        this.host.call(conn, this.readBatch);
        this.touch();
        const count = this.batchCount;
        this.batchCount = 0;
        for (let i = 0; i < count; i++) {
          const chunk = batch[i]!;
          batch[i] = undefined;
          this.bytesRead += chunk.length;
          // Already taken from the TCP buffer: hand it all over; back-pressure applies from here.
          this.reading = this.push(chunk);
        }
      }
      if (conn.readEnded && conn.readableBytes === 0 && !this.eofPushed && conn.error === undefined) {
        this.eofPushed = true;
        this.push(null);
      }
    } finally {
      this.pulling = false;
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: WriteCallback): void {
    if (!this.canWrite(callback)) return;
    this.pendingChunks[0] = chunk;
    this.pendingHead = 0;
    this.pendingCount = 1;
    this.pendingCallback = callback;
    this.flushPendingWrite();
  }

  /**
   * Everything the stream buffered while corked (or while a write was blocked), at once: the
   * chunks go into the send buffer as they are (it copies each once; no concatenation first) and
   * are segmented in one output pass. node:http corks a response and writes its head, chunk
   * framing and body pieces separately; one at a time, with noDelay, each became its own segment.
   */
  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, callback: WriteCallback): void {
    if (!this.canWrite(callback)) return;
    const pending = this.pendingChunks;
    for (let i = 0; i < chunks.length; i++) pending[i] = chunks[i]!.chunk;
    this.pendingHead = 0;
    this.pendingCount = chunks.length;
    this.pendingCallback = callback;
    this.flushPendingWrite();
  }

  /** False (and the callback failed) when the connection can take no more data. */
  private canWrite(callback: WriteCallback): boolean {
    const conn = this.conn;
    if (conn !== undefined && conn.canSend) return true;
    callback(conn?.makeError(conn.error?.code ?? 'EPIPE', 'write') ?? new TcpError('EPIPE', 'write'));
    return false;
  }

  /**
   * Reads whole chunks into `batch` (runs inside a stack call) until the stream's buffer would
   * reach its highWaterMark: what the reader cannot take yet stays in the TCP receive buffer,
   * where it closes the advertised window. A chunk is a run of segments received in order, so
   * one chunk after a burst usually holds all of it.
   */
  private readonly readBatch = (now: number): void => {
    const conn = this.conn!;
    const room = this.readableHighWaterMark - this.readableLength;
    let n = 0;
    do {
      const c = conn.read(now);
      if (c === undefined) break;
      this.batch[this.batchCount++] = c;
      n += c.length;
    } while (n < room);
  };

  /** Hands the pending chunks to the send buffer (runs inside a stack call). */
  private readonly sendPending = (now: number): number =>
    this.conn!.sendv(this.pendingChunks as Buffer[], this.pendingHead, this.pendingCount, now);

  private takePendingCallback(): WriteCallback | undefined {
    const callback = this.pendingCallback;
    this.pendingCallback = undefined;
    const pending = this.pendingChunks;
    for (let i = this.pendingHead; i < this.pendingCount; i++) pending[i] = undefined;
    this.pendingHead = this.pendingCount = 0;
    return callback;
  }

  private flushPendingWrite(): void {
    const conn = this.conn;
    if (conn === undefined || this.pendingCallback === undefined) return;
    let n: number;
    try {
      n = this.host.call(conn, this.sendPending);
    } catch (err) {
      this.takePendingCallback()!(err as Error);
      return;
    }
    if (n > 0) {
      this.written += n;
      this.touch();
    }
    // Skip the chunks the send buffer took; the first one it took only in part keeps its rest.
    const pending = this.pendingChunks;
    let head = this.pendingHead;
    while (head < this.pendingCount && pending[head]!.length <= n) {
      n -= pending[head]!.length;
      pending[head++] = undefined;
    }
    if (n > 0) pending[head] = pending[head]!.subarray(n);
    this.pendingHead = head;
    if (head < this.pendingCount) return; // the rest goes when onWritable reports room
    this.takePendingCallback()!();
    const final = this.pendingFinal;
    if (final !== undefined) {
      this.pendingFinal = undefined;
      this.shutdown(final);
    }
  }

  override _final(callback: WriteCallback): void {
    if (this.pendingCallback !== undefined) this.pendingFinal = callback;
    else this.shutdown(callback);
  }

  private shutdown(callback: WriteCallback): void {
    const conn = this.conn;
    if (conn !== undefined && !conn.isClosed) this.host.call(conn, (now) => conn.shutdown(now));
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const conn = this.conn;
    this.conn = undefined;
    this.connecting = false;
    if (conn !== undefined) {
      conn.handler = undefined;
      if (!conn.isClosed) {
        // Like close(2): FIN after buffered data, or RST when data is left unread (RFC 9293 §3.6).
        if (this.resetOnDestroy) this.host.call(conn, (now) => conn.abort(now));
        else this.host.call(conn, (now) => conn.close(now));
      }
    }
    callback(error);
  }
}
