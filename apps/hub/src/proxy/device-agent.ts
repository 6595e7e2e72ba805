// The pool of tunnel connections node:http uses to reach devices: a connection is a TCP handshake
// over the overlay plus the agent's own connection to the device, so it is kept and reused.
// - Sized to the load: a connection is dialled only for a request that finds none idle, and a
//   waiting request takes whichever comes first, a released connection or its dial; a dial that
//   completes late stays as a spare. Idle ones are reused newest first (the rest age out), up to
//   `maxIdlePerPool` stay, each closed after `idleTimeoutMs` (or the device's Keep-Alive hint).
// - Pools are per device, port and partition (poolPartition): one for all visitors of a public
//   device, one per user of an owners device (reliability-security.md §3.1).
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { DeviceDialer, DeviceRoute } from './contracts.js';

export class DialTimeoutError extends Error {
  readonly code = 'DIAL_TIMEOUT';
  constructor(serial: string, port: number, ms: number) {
    super(`device ${serial} did not accept a connection to port ${port} within ${ms} ms`);
    this.name = 'DialTimeoutError';
  }
}

export class DialFailedError extends Error {
  readonly code = 'DIAL_FAILED';
  constructor(serial: string, port: number, cause: unknown) {
    super(`device ${serial} refused or could not be reached on port ${port}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'DialFailedError';
  }
}

/** Per-request options the proxy passes through http.request to the agent. */
export interface DeviceRequestArgs extends http.ClientRequestArgs {
  device: DeviceRoute;
  /** Which of the device's pools (poolPartition). */
  partition: string;
  /** Close the connection after this exchange instead of returning it to the pool. */
  singleUse?: boolean;
}

/**
 * The pool a request to `device` uses. A tunnel connection carries no visitor state: the hub
 * re-serialises every request, strips its own credentials and sets X-Forwarded-* per request, so
 * all visitors of a public device share one pool (what could bind a connection to a visitor,
 * a request body or connection-bound authentication, makes it single-use: see singleUseExchange).
 * Owners devices keep one pool per user: a device parser that desyncs can then only mix up one
 * user's own responses.
 */
export function poolPartition(device: DeviceRoute, userId: string | null, clientIp: string): string {
  if (device.accessPolicy === 'public') return 'public';
  return userId !== null ? `user:${userId}` : `ip:${clientIp}`;
}

/** Authorization schemes that authenticate the connection rather than the request (RFC 4559, NTLM). */
const CONNECTION_AUTH_RE = /^\s*(ntlm|negotiate)\b/i;

/**
 * Whether a request must not leave its connection to other visitors of a shared pool: a body is
 * where a lenient device parser could read a different framing than the hub (the rest would be a
 * smuggled request answered to the next visitor); NTLM/Negotiate authenticate the connection itself.
 */
export function singleUseExchange(partition: string, hasBody: boolean, authorization: string | undefined): boolean {
  if (partition !== 'public') return false;
  return hasBody || (authorization !== undefined && CONNECTION_AUTH_RE.test(authorization));
}

/** Fills in the net.Socket methods node:http calls, for dialers that return a plain Duplex. */
export function asSocketLike(stream: Duplex): Duplex {
  const s = stream as Duplex & Record<string, unknown>;
  for (const m of ['setKeepAlive', 'setNoDelay', 'ref', 'unref']) {
    if (typeof s[m] !== 'function') s[m] = () => s;
  }
  if (typeof s.setTimeout !== 'function') {
    // Idle timer on reads and writes, like net.Socket#setTimeout.
    let timer: NodeJS.Timeout | undefined;
    let ms = 0;
    const arm = () => {
      if (timer) clearTimeout(timer);
      timer = ms > 0 ? setTimeout(() => s.emit('timeout'), ms) : undefined;
      timer?.unref();
    };
    s.on('data', arm);
    s.on('close', () => timer && clearTimeout(timer));
    const write = s.write.bind(s) as (...args: unknown[]) => boolean;
    s.write = ((...args: unknown[]) => {
      if (ms > 0) arm();
      return write(...args);
    }) as Duplex['write'];
    s.setTimeout = (msecs: number, cb?: () => void) => {
      ms = msecs;
      if (cb) s.once('timeout', cb);
      arm();
      return s;
    };
  }
  return s;
}

export interface DeviceAgentOptions {
  dialer: DeviceDialer;
  dialTimeoutMs: number;
  /** Connections open (in use, idle or being dialled) per pool. Requests beyond it wait. Default 32. */
  maxSocketsPerPool?: number;
  /** Idle connections kept per pool (the spare limit). Default: maxSocketsPerPool. */
  maxIdlePerPool?: number;
  /** Close an idle connection after this long; below a typical device keep-alive of 5 s. Default 4 s. */
  idleTimeoutMs?: number;
}

type SocketLike = Duplex & { setNoDelay?(v: boolean): unknown; ref?(): unknown; unref?(): unknown; _httpMessage?: (http.ClientRequest & { res?: http.IncomingMessage }) | null };

/**
 * What waits for a connection: node:http's ClientRequest, or the hub's own relay (http-relay.ts),
 * which takes the same calls. `onSocket(undefined, err)` fails it with the dial's error; a taker hands
 * the connection back by emitting 'free' on it (node:http's signal), optionally with the device's
 * keep-alive hint in ms, or closes it.
 */
export interface ConnectionTaker {
  readonly destroyed: boolean;
  reusedSocket: boolean;
  onSocket(socket: Duplex | undefined, err?: Error): void;
  destroy(): void;
}

interface Waiter {
  req: ConnectionTaker;
  singleUse: boolean;
}

interface Connection {
  socket: SocketLike;
  pool: Pool;
  state: 'busy' | 'idle' | 'gone';
  singleUse: boolean;
  idleTimer: NodeJS.Timeout | undefined;
  onFree(hintMs?: number): void;
  /** Bytes from the device while idle: no request is open, so nothing may frame them. */
  onStray(): void;
  onClose(): void;
  onRemove(): void;
}

interface Pool {
  key: string;
  device: DeviceRoute;
  port: number;
  /** Newest last: reuse pops from the end. */
  idle: Connection[];
  busy: number;
  dialing: number;
  /** Oldest first. */
  waiters: Waiter[];
  all: Set<Connection>;
}

export interface PoolStats {
  key: string;
  busy: number;
  idle: number;
  dialing: number;
  waiting: number;
}

/** Pool-level counters since creation (tests, diagnostics). */
export interface DeviceAgentCounters {
  dials: number;
  dialFailures: number;
  /** Requests served by an already open connection. */
  reuses: number;
  /** Dials that completed after their request was served by another connection. */
  lateDials: number;
  /** Connections closed because the spare limit was reached. */
  overSpareLimit: number;
  /** Connections closed after their idle time. */
  idleClosed: number;
  /** Idle connections closed because the device sent bytes nobody asked for. */
  strayClosed: number;
}

export class DeviceAgent extends http.Agent {
  private readonly dialer: DeviceDialer;
  private readonly dialTimeoutMs: number;
  private readonly maxPerPool: number;
  private readonly maxIdle: number;
  private readonly idleTimeoutMs: number;
  private readonly pools = new Map<string, Pool>();
  private destroyed = false;
  readonly counters: DeviceAgentCounters = { dials: 0, dialFailures: 0, reuses: 0, lateDials: 0, overSpareLimit: 0, idleClosed: 0, strayClosed: 0 };

  constructor(options: DeviceAgentOptions) {
    // node:http reads keepAlive (to send Connection: keep-alive and hand connections back on 'free').
    super({ keepAlive: true });
    this.dialer = options.dialer;
    this.dialTimeoutMs = options.dialTimeoutMs;
    this.maxPerPool = options.maxSocketsPerPool ?? 32;
    this.maxIdle = Math.min(options.maxIdlePerPool ?? this.maxPerPool, this.maxPerPool);
    this.idleTimeoutMs = options.idleTimeoutMs ?? 4_000;
  }

  /**
   * Called by node:http for every request made with this agent (undeclared in @types/node, but the
   * one method ClientRequest requires of an agent); hands the request a connection now or later.
   */
  addRequest(req: http.ClientRequest, options: http.ClientRequestArgs): void {
    this.take(req as unknown as ConnectionTaker, options as DeviceRequestArgs);
  }

  /** Hands `taker` a pooled connection to `args.device` now, or later (a release or its own dial). */
  take(taker: ConnectionTaker, args: Pick<DeviceRequestArgs, 'device' | 'port' | 'partition' | 'singleUse'>): void {
    const port = Number(args.port ?? 80);
    const key = `${args.device.id}|${port}|${args.partition}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = { key, device: args.device, port, idle: [], busy: 0, dialing: 0, waiters: [], all: new Set() };
      this.pools.set(key, pool);
    }
    // New dials use the latest route (a re-registered device may have a new tunnel address).
    pool.device = args.device;
    const singleUse = args.singleUse === true;
    const idle = this.takeIdle(pool);
    if (idle) {
      this.counters.reuses++;
      this.assign(idle, { req: taker, singleUse }, true);
      return;
    }
    pool.waiters.push({ req: taker, singleUse });
    this.dialForWaiters(pool);
  }

  /** Closes every pooled connection, idle or in use (shutdown). */
  override destroy(): void {
    this.destroyed = true;
    for (const pool of this.pools.values()) {
      for (const c of pool.all) c.socket.destroy();
      for (const w of pool.waiters) w.req.destroy();
      pool.waiters.length = 0;
    }
  }

  stats(): PoolStats[] {
    return [...this.pools.values()].map((p) => ({ key: p.key, busy: p.busy, idle: p.idle.length, dialing: p.dialing, waiting: this.liveWaiters(p) }));
  }

  private takeIdle(pool: Pool): Connection | undefined {
    while (pool.idle.length > 0) {
      const c = pool.idle.pop()!;
      clearTimeout(c.idleTimer);
      c.idleTimer = undefined;
      c.socket.removeListener('data', c.onStray);
      if (usable(c.socket)) return c;
      // Closing already (the device ended it). No dial from here: the caller is about to queue.
      this.discard(c, false);
    }
    return undefined;
  }

  private liveWaiters(pool: Pool): number {
    let n = 0;
    for (const w of pool.waiters) if (!w.req.destroyed) n++;
    return n;
  }

  private nextWaiter(pool: Pool): Waiter | undefined {
    while (pool.waiters.length > 0) {
      const w = pool.waiters.shift()!;
      if (!w.req.destroyed) return w;
    }
    return undefined;
  }

  /** One dial per waiting request not already covered by a dial, within the pool's limit. */
  private dialForWaiters(pool: Pool): void {
    const waiting = this.liveWaiters(pool);
    while (pool.dialing < waiting && pool.idle.length + pool.busy + pool.dialing < this.maxPerPool) this.dial(pool);
    this.forgetIfEmpty(pool);
  }

  private dial(pool: Pool): void {
    pool.dialing++;
    this.counters.dials++;
    dialDevice(this.dialer, pool.device, pool.port, this.dialTimeoutMs).then(
      (stream) => {
        pool.dialing--;
        const socket = asSocketLike(stream) as SocketLike;
        // Request/response traffic: Nagle plus delayed ACKs would add tens of ms per exchange.
        socket.setNoDelay?.(true);
        if (this.destroyed) {
          socket.destroy();
          return;
        }
        const c = this.adopt(pool, socket);
        const waiter = this.nextWaiter(pool);
        if (waiter) this.assign(c, waiter, false);
        else {
          this.counters.lateDials++;
          this.park(c, undefined);
        }
      },
      (err: Error) => {
        pool.dialing--;
        this.counters.dialFailures++;
        // The failed dial was some waiting request's; the others still have theirs (or a release).
        if (this.liveWaiters(pool) > pool.dialing) {
          const waiter = this.nextWaiter(pool)!;
          // node:http's own agent fails a request this way: the request emits `err`.
          waiter.req.onSocket(undefined, err);
        }
        this.dialForWaiters(pool);
      },
    );
  }

  private adopt(pool: Pool, socket: SocketLike): Connection {
    const c: Connection = {
      socket,
      pool,
      state: 'busy',
      singleUse: false,
      idleTimer: undefined,
      // node:http emits 'free' when an exchange ended with the connection still usable (the hub's
      // relay passes the device's keep-alive hint along).
      onFree: (hintMs?: number) => this.release(c, hintMs),
      onClose: () => this.drop(c),
      onStray: () => {
        this.counters.strayClosed++;
        socket.destroy();
      },
      // node:http emits 'agentRemove' when the connection leaves HTTP (an upgrade).
      onRemove: () => {
        socket.removeListener('free', c.onFree);
        socket.removeListener('close', c.onClose);
        socket.removeListener('agentRemove', c.onRemove);
        this.drop(c);
      },
    };
    pool.busy++;
    pool.all.add(c);
    socket.on('free', c.onFree);
    socket.on('close', c.onClose);
    socket.on('agentRemove', c.onRemove);
    // An error while idle (or between an exchange's end and 'free') must not be unhandled.
    socket.on('error', () => socket.destroy());
    return c;
  }

  private assign(c: Connection, w: Waiter, reused: boolean): void {
    if (c.state === 'idle') c.pool.busy++;
    c.state = 'busy';
    c.singleUse = w.singleUse;
    if (reused) {
      // The proxy retries an idempotent request once when a reused connection turns out closed.
      w.req.reusedSocket = true;
      c.socket.ref?.();
    }
    w.req.onSocket(c.socket as never);
  }

  private release(c: Connection, hintMs: number | undefined): void {
    if (c.state !== 'busy') return;
    const hint = hintMs ?? keepAliveHintMs(c.socket._httpMessage?.res?.headers['keep-alive']);
    // As node's own agent does: an idle connection must not keep the last exchange alive.
    c.socket._httpMessage = null;
    if (c.singleUse || !usable(c.socket) || hint === 0 || this.destroyed) {
      this.discard(c);
      return;
    }
    const waiter = this.nextWaiter(c.pool);
    if (waiter) {
      this.counters.reuses++;
      this.assign(c, waiter, true);
      return;
    }
    this.park(c, hint);
  }

  /** Keeps a connection nobody waits for as a spare, or closes it beyond the spare limit. */
  private park(c: Connection, hintMs: number | undefined): void {
    const pool = c.pool;
    if (pool.idle.length >= this.maxIdle) {
      this.counters.overSpareLimit++;
      this.discard(c);
      return;
    }
    pool.busy--;
    c.state = 'idle';
    pool.idle.push(c);
    // A device that answers more than it was asked is not reused: those bytes would otherwise
    // be read as the start of the next visitor's response (or be dropped unseen).
    c.socket.on('data', c.onStray);
    c.socket.unref?.();
    const ms = hintMs !== undefined ? Math.min(hintMs, this.idleTimeoutMs) : this.idleTimeoutMs;
    c.idleTimer = setTimeout(() => {
      if (c.state !== 'idle') return;
      this.counters.idleClosed++;
      c.socket.destroy();
    }, ms);
    c.idleTimer.unref();
  }

  /** Closes a connection that is not idle (or was just taken from the idle list), and forgets it now. */
  private discard(c: Connection, dialForWaiters = true): void {
    if (c.state === 'busy') c.pool.busy--;
    c.state = 'gone';
    c.pool.all.delete(c);
    c.socket.destroy();
    // A request waiting for this pool may now be allowed a dial of its own.
    if (dialForWaiters && !this.destroyed) this.dialForWaiters(c.pool);
  }

  /** The connection closed or left HTTP: it no longer counts, and a waiting request may need a dial. */
  private drop(c: Connection): void {
    const pool = c.pool;
    if (c.state === 'gone') return;
    if (c.state === 'busy') pool.busy--;
    else {
      clearTimeout(c.idleTimer);
      const at = pool.idle.indexOf(c);
      if (at >= 0) pool.idle.splice(at, 1);
    }
    c.state = 'gone';
    pool.all.delete(c);
    if (!this.destroyed) this.dialForWaiters(pool);
  }

  private forgetIfEmpty(pool: Pool): void {
    if (pool.all.size === 0 && pool.dialing === 0 && pool.waiters.length === 0 && this.pools.get(pool.key) === pool) this.pools.delete(pool.key);
  }
}

function usable(socket: SocketLike): boolean {
  return !socket.destroyed && socket.writable && !socket.readableEnded;
}

/**
 * The device's `Keep-Alive: timeout=N` as the time we may keep the connection idle (a second
 * less, so we never reuse one the device is closing); 0 when that leaves nothing, undefined when absent.
 */
export function keepAliveHintMs(raw: string | string[] | undefined): number | undefined {
  const header = Array.isArray(raw) ? raw[0] : raw;
  if (header === undefined) return undefined;
  const m = /(?:^|[\s,])timeout=(\d+)/i.exec(header);
  if (!m) return undefined;
  return Math.max(0, Number(m[1]) * 1000 - 1000);
}

/** Dials with a deadline; the abort reaches the dialer so a half-open overlay connect is cancelled. */
export async function dialDevice(dialer: DeviceDialer, device: DeviceRoute, port: number, timeoutMs: number): Promise<Duplex> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Reject first: a dialer that rejects synchronously on abort must not win the race.
      reject(new DialTimeoutError(device.serial, port, timeoutMs));
      ac.abort();
    }, timeoutMs);
  });
  const dialing = dialer.dial(device, port, ac.signal);
  try {
    return await Promise.race([dialing, timeout]);
  } catch (err) {
    // A dial that completes after the deadline must not leak its socket.
    dialing.then((s) => s.destroy(), () => {});
    if (err instanceof DialTimeoutError) throw err;
    throw new DialFailedError(device.serial, port, err);
  } finally {
    clearTimeout(timer);
  }
}
