// An http.Agent whose connections come from the DeviceDialer (TCP over the overlay), so node:http's
// own keep-alive pool reuses tunnel connections between requests. Pools are per device, port and
// visitor: one visitor's requests never share a device connection with another's, so a lenient
// device parser that desyncs cannot hand one visitor's response to another (§3.1 "do not pool").
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
  /** Who the connection is for (user id, or a per-client key for public devices). */
  poolKey: string;
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
  /** Connections per device+visitor pool (browsers open up to 6). */
  maxSocketsPerPool?: number;
  /** Idle device connections kept per pool. */
  maxFreeSocketsPerPool?: number;
  /** Close an idle pooled connection after this long (below typical device keep-alive of 5 s). */
  freeSocketTimeoutMs?: number;
}

export class DeviceAgent extends http.Agent {
  private readonly dialer: DeviceDialer;
  private readonly dialTimeoutMs: number;
  private readonly freeSocketTimeoutMs: number;

  constructor(options: DeviceAgentOptions) {
    super({
      keepAlive: true,
      maxSockets: options.maxSocketsPerPool ?? 16,
      maxFreeSockets: options.maxFreeSocketsPerPool ?? 4,
      scheduling: 'lifo',
    });
    this.dialer = options.dialer;
    this.dialTimeoutMs = options.dialTimeoutMs;
    this.freeSocketTimeoutMs = options.freeSocketTimeoutMs ?? 4_000;
  }

  override getName(options?: http.ClientRequestArgs): string {
    const o = options as DeviceRequestArgs | undefined;
    return `${o?.device.id ?? '?'}|${o?.port ?? 80}|${o?.poolKey ?? ''}`;
  }

  override createConnection(options: http.ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): undefined {
    const { device } = options as DeviceRequestArgs;
    const port = Number(options.port ?? 80);
    dialDevice(this.dialer, device, port, this.dialTimeoutMs).then(
      (socket) => {
        const s = asSocketLike(socket) as Duplex & { setNoDelay(v: boolean): void };
        // Request/response traffic: Nagle plus delayed ACKs would add tens of ms per exchange.
        s.setNoDelay(true);
        callback?.(null, s);
      },
      (err: Error) => callback?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }

  override keepSocketAlive(socket: Duplex): boolean {
    // Node's default: TCP keep-alive, unref, and the device's `Keep-Alive: timeout=N` hint.
    const keep = (super.keepSocketAlive(socket) as unknown as boolean | undefined) !== false;
    const s = socket as Duplex & { timeout?: number; setTimeout(ms: number): void };
    // Close idle pooled connections before a typical device (5 s keep-alive) does, to avoid reusing one it is closing.
    if (!s.timeout || s.timeout > this.freeSocketTimeoutMs) s.setTimeout(this.freeSocketTimeoutMs);
    return keep;
  }

  override reuseSocket(socket: Duplex, request: http.ClientRequest): void {
    // Node's default also removes the free-socket error listener: without it one leaks per request.
    super.reuseSocket(socket, request);
    (socket as Duplex & { setTimeout(ms: number): void }).setTimeout(0);
  }
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
