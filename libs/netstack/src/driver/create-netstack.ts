// The driver: a NetStack run by real timers, with connections as TcpSocket Duplex streams. It is
// the only place in the library that reads a clock or arms a timer; one timer follows the stack's
// nextDeadline(), and work due at the end of a burst of input (handing received data to readers,
// then delayed ACKs) runs on one setImmediate: after the datagrams the event loop reads in a turn.
import { performance } from 'node:perf_hooks';
import { NetStack, type NetStackOptions } from '../stack/net-stack.js';
import type { NetStackStats } from '../stack/stats.js';
import type { TcpConnection } from '../tcp/tcp-connection.js';
import { TcpSocket, type SocketHost } from './tcp-socket.js';

export interface NetstackDriverOptions extends NetStackOptions {
  /** Monotonic clock in milliseconds. Default performance.now(). */
  clock?: () => number;
}

export interface ConnectRequest {
  /** IPv4 address of the peer (no DNS inside the overlay). */
  host: string;
  port: number;
  /** Fail with ETIMEDOUT if the handshake has not completed in time. */
  timeoutMs?: number;
  localPort?: number;
  allowHalfOpen?: boolean;
  /** Turn Nagle off from the start (as net.connect's noDelay). */
  noDelay?: boolean;
}

export interface ListenOptions {
  allowHalfOpen?: boolean;
  /**
   * Turn Nagle off on every accepted socket (net.createServer's noDelay). For request/response
   * protocols: a reply written in pieces (HTTP head, then body) leaves at once instead of waiting
   * for the peer's delayed ACK of the first piece.
   */
  noDelay?: boolean;
  /** SYN backlog of this listener (half-open connections). */
  backlog?: number;
}

export interface Netstack {
  readonly stack: NetStack;
  readonly address: string;
  readonly stats: NetStackStats;
  /** Feed one received IPv4 packet (e.g. decrypted from WireGuard). */
  receive(packet: Uint8Array): void;
  /**
   * Optional: the packets received so far form a burst that is over. Hands their data to readers
   * and sends due ACKs now, instead of on setImmediate once the event loop has read this turn's
   * datagrams. For links that know where their batches end (the in-memory link); a UDP socket
   * need not call it.
   */
  endBurst(): void;
  listen(port: number, onConnection: (socket: TcpSocket) => void, options?: ListenOptions): { close(): void };
  connect(request: ConnectRequest): TcpSocket;
  /** Aborts every connection (sockets see ECONNABORTED), closes listeners, stops the timer. */
  close(): void;
}

class Driver implements Netstack, SocketHost {
  readonly stack: NetStack;
  readonly address: string;
  readonly localAddress: string;
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private timerAt: number | undefined;
  private closed = false;
  /**
   * Sockets with received data to hand over at the burst's end, readers[0, readerCount). Kept at
   * its size, slots overwritten, so a burst allocates nothing.
   */
  private readonly readers: Array<TcpSocket | undefined> = [];
  private readerCount = 0;

  constructor(options: NetstackDriverOptions) {
    this.stack = new NetStack(options);
    this.address = this.localAddress = options.address;
    this.clock = options.clock ?? (() => performance.now());
  }

  get stats(): NetStackStats {
    return this.stack.stats;
  }

  receive(packet: Uint8Array): void {
    if (this.closed) return;
    const now = this.clock();
    this.stack.receive(packet, now);
    this.schedule(now);
  }

  call<T>(conn: TcpConnection, fn: (nowMs: number) => T): T {
    // From an event handler (a reply written in 'data'), the stack is inside an entry point
    // whose time it keeps: no clock read needed.
    const now = this.stack.entryTimeMs ?? this.clock();
    try {
      return this.stack.call(conn, now, fn);
    } finally {
      this.schedule(now);
    }
  }

  endBurst(): void {
    if (this.immediate === undefined) return;
    clearImmediate(this.immediate);
    this.runBurstEnd();
  }

  pullAtBurstEnd(socket: TcpSocket): void {
    if (this.closed) return;
    this.readers[this.readerCount++] = socket;
    this.immediate ??= setImmediate(this.fireImmediate);
  }

  listen(port: number, onConnection: (socket: TcpSocket) => void, options: ListenOptions = {}): { close(): void } {
    const listener = this.stack.listen(
      port,
      (conn) => {
        const socket = new TcpSocket(this, conn, { allowHalfOpen: options.allowHalfOpen, noDelay: options.noDelay });
        onConnection(socket);
      },
      options.backlog === undefined ? {} : { backlog: options.backlog },
    );
    return { close: () => listener.close() };
  }

  connect(request: ConnectRequest): TcpSocket {
    const now = this.clock();
    const conn = this.stack.connect(request.host, request.port, now, {
      ...(request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs }),
      ...(request.localPort === undefined ? {} : { localPort: request.localPort }),
    });
    const socket = new TcpSocket(this, conn, { allowHalfOpen: request.allowHalfOpen, connecting: true, noDelay: request.noDelay });
    this.schedule(now);
    return socket;
  }

  close(): void {
    if (this.closed) return;
    this.stack.close(this.clock());
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = this.immediate = this.timerAt = undefined;
    this.readers.fill(undefined, 0, this.readerCount);
    this.readerCount = 0;
  }

  /**
   * Keeps a wake-up armed for the stack's next deadline: setImmediate for work due now (an ACK at
   * the end of a burst of input), one timeout for the earliest future deadline. Work due now
   * leaves the timeout alone, so a burst costs no clearTimeout/setTimeout pair; a timeout that
   * fires for a deadline which moved later just ticks and re-arms.
   */
  private schedule(now: number): void {
    if (this.closed) return;
    const at = this.stack.nextDeadline();
    if (at === undefined) return;
    if (at <= now) {
      this.immediate ??= setImmediate(this.fireImmediate);
      return;
    }
    if (this.timerAt !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.fireTimer, Math.ceil(at - now));
    // The stack alone keeps no process alive; its users' sockets and binds do.
    this.timer.unref();
  }

  private readonly fireImmediate = (): void => this.runBurstEnd();

  /**
   * The burst of input is over: readers get their data first, so replies they write at once carry
   * the ACK and window update; then the stack's due work (ACKs nothing carried). `immediate` stays
   * set meanwhile, so calls made by the readers arm no second one: the tick below covers them.
   */
  private runBurstEnd(): void {
    const readers = this.readers;
    let thrown: unknown;
    // A reader's handler may make more sockets readable (a packet fed back synchronously): the
    // loop reads the count each time.
    for (let i = 0; i < this.readerCount; i++) {
      const socket = readers[i]!;
      readers[i] = undefined;
      try {
        socket.onBurstEnd();
      } catch (err) {
        // A 'data' handler threw: the other readers and the ACKs still go, then it surfaces as
        // from any event listener.
        thrown ??= err;
      }
    }
    this.readerCount = 0;
    this.immediate = undefined;
    this.tick();
    if (thrown !== undefined) throw thrown;
  }

  private readonly fireTimer = (): void => {
    this.timer = this.timerAt = undefined;
    this.tick();
  };

  private tick(): void {
    if (this.closed) return;
    const now = this.clock();
    this.stack.tick(now);
    this.schedule(now);
  }
}

/** Creates a userspace IPv4/TCP stack driven by real timers. */
export function createNetstack(options: NetstackDriverOptions): Netstack {
  return new Driver(options);
}
