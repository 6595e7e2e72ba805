// The hub's device side of a visitor's request as a direct HTTP/1.1 relay: the request head is
// written onto a pooled tunnel connection as bytes, the device's response head is parsed
// (@porthole/http-wire) and its body passed to the visitor's response as it arrives, with no
// node:http client objects in between. Profiles of the hub at 16 connections put node:http's
// client, its streams, events and tick queue at about a fifth of the hub's busy time per request.
//
// It takes only the requests it can frame without doubt: GET and HEAD with no body, an origin-form
// target of visible ASCII, token header names and values without control characters, on a pool
// connection that may be shared (no connection-bound authentication). Anything else goes through
// node:http's client as before (forwardHttp), which is also what every check below falls back to.
// The response parser is the agent's: lenient where node:http's client is and framing is still
// certain, refusing (502) what would be ambiguous; bytes a device sends beyond its framing make the
// connection single-use, so one response can never be read as the next visitor's.
import type { Duplex } from 'node:stream';
import { ChunkedDecoder, isFieldValue, isOriginForm, isToken, parseResponseHead, responseFraming, reusable, type BodyFraming, type ResponseHead } from '@porthole/http-wire';
import { type ConnectionTaker, DialFailedError, DialTimeoutError, keepAliveHintMs, poolPartition, singleUseExchange } from './device-agent.js';
import { responseHeadersForVisitor } from './forward-headers.js';
import { type ForwardOptions, type ForwardRequest, type ForwardResult, coalescer, deviceRequestHeaders, failurePage, forwardHttp, hasBody } from './http-forwarder.js';
import { sendStatusPage } from './status-page.js';

const EVENT_STREAM = /^text\/event-stream/i;
const EMPTY: Buffer = Buffer.alloc(0);

/**
 * Forwards the request to the device and streams the answer back; resolves when the exchange is
 * over (completed or failed), never rejects. The relay where it applies, node:http otherwise.
 */
export function forwardToDevice(f: ForwardRequest, opts: ForwardOptions, attempt = 0): Promise<ForwardResult> {
  const head = relayedRequestHead(f);
  if (head === undefined) return forwardHttp(f, opts, attempt);
  return new Promise((resolve) => new DeviceExchange(f, opts, head, attempt, resolve).start());
}

/** The request head the relay writes, or undefined when the request is not one it takes. */
export function relayedRequestHead(f: ForwardRequest): string | undefined {
  const { req } = f;
  const method = req.method;
  if ((method !== 'GET' && method !== 'HEAD') || hasBody(req) || !isOriginForm(f.target)) return undefined;
  const partition = poolPartition(f.device, f.userId, f.client.ip);
  if (singleUseExchange(partition, false, f.credentials.dropAuthorization ? undefined : req.headers.authorization)) return undefined;
  const headers = deviceRequestHeaders(f);
  let head = `${method} ${f.target} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (!isToken(name) || !isFieldValue(value)) return undefined;
    head += `${name}: ${value}\r\n`;
  }
  // As node:http's client says it with a keep-alive agent.
  return `${head}Connection: keep-alive\r\n\r\n`;
}

type Resolve = (result: ForwardResult) => void;

/** One request's exchange: waits for a pooled connection, writes the head, relays the response. */
class DeviceExchange implements ConnectionTaker {
  /** Settled: the pool must not hand this exchange a connection any more. */
  destroyed = false;
  /** Set by the pool when the connection was open already (a closed one is worth one retry). */
  reusedSocket = false;
  #socket: Duplex | undefined;
  #settled = false;
  #timer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #lastActivity = 0;
  /** Response bytes not parsed yet (until the head is complete). */
  #buffered: Buffer = EMPTY;
  #head: ResponseHead | undefined;
  #framing: BodyFraming = { kind: 'none' };
  #left = 0;
  #decoder: ChunkedDecoder | undefined;
  /** The device sent more than its framing allows: its connection is not reused. */
  #spoiled = false;
  #paused = false;
  #bytesOut = 0;
  #coalesce: () => void = noop;
  // The listeners, bound here rather than as arrow-function fields: the hub runs under tsx, whose
  // esbuild keepNames wraps every named function in a defineProperty call, six of them a request.
  readonly #onData: (chunk: Buffer) => void;
  readonly #onVisitorDrain: () => void;
  readonly #onDeviceGone: () => void;
  readonly #onTimer: () => void;
  readonly #onVisitorClose: () => void;
  readonly #onVisitorFinish: () => void;

  constructor(
    private readonly f: ForwardRequest,
    private readonly opts: ForwardOptions,
    private readonly requestHead: string,
    private readonly attempt: number,
    private readonly resolve: Resolve,
  ) {
    this.#onData = this.#data.bind(this);
    this.#onVisitorDrain = this.#visitorDrain.bind(this);
    this.#onDeviceGone = this.#deviceGone.bind(this);
    this.#onTimer = this.#timedOut.bind(this);
    this.#onVisitorClose = this.#visitorClosed.bind(this);
    this.#onVisitorFinish = this.#visitorFinished.bind(this);
  }

  start(): void {
    const { f, opts } = this;
    // Gone while the request was being authorised: its 'close' has passed, nothing to ask the device.
    if (f.res.destroyed || f.req.socket.destroyed) return this.#finish('client_aborted');
    this.#startedAt = this.#lastActivity = Date.now();
    this.#timer = setTimeout(this.#onTimer, Math.min(opts.responseTimeoutMs, opts.idleTimeoutMs));
    f.res.once('close', this.#onVisitorClose);
    opts.agent.take(this, { device: f.device, port: opts.devicePort, partition: poolPartition(f.device, f.userId, f.client.ip) });
  }

  /** The pool's answer: a connection, or the dial's error. */
  onSocket(socket: Duplex | undefined, err?: Error): void {
    if (this.#settled) {
      // Cannot happen while `destroyed` is honoured; a connection given anyway goes back untouched.
      socket?.emit('free');
      return;
    }
    if (!socket) {
      this.#fail(err instanceof DialTimeoutError ? 'dial_timeout' : err instanceof DialFailedError ? 'dial_failed' : 'device_error');
      return;
    }
    this.#socket = socket;
    socket.on('data', this.#onData);
    socket.on('end', this.#onDeviceGone);
    socket.on('close', this.#onDeviceGone);
    this.#lastActivity = Date.now();
    socket.write(this.requestHead, 'latin1');
  }

  /** Shutdown of the pool while this exchange waited for a connection. */
  destroy(): void {
    this.#fail('device_error');
  }

  #data(chunk: Buffer): void {
    this.#lastActivity = Date.now();
    if (this.#head) return this.#body(chunk);
    let buf = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    for (;;) {
      const parsed = parseResponseHead(buf, this.opts.maxResponseHeaderBytes);
      if (parsed.kind === 'incomplete') {
        this.#buffered = buf;
        return;
      }
      if (parsed.kind === 'invalid' || parsed.status === 101) return this.#fail('device_error');
      buf = buf.subarray(parsed.length);
      // 1xx (103 Early Hints and the like) are informational: the final head follows.
      if (parsed.status < 200) continue;
      this.#buffered = EMPTY;
      this.#respond(parsed, buf);
      return;
    }
  }

  /** The final response head arrived, `rest` the bytes after it. */
  #respond(head: ResponseHead, rest: Buffer): void {
    const { f } = this;
    const framing = responseFraming(head, f.req.method!);
    if (framing.kind === 'invalid') return this.#fail('device_error');
    const res = f.res;
    try {
      res.writeHead(head.status, head.reason, responseHeadersForVisitor(head.rawHeaders, { cookieNamespace: f.credentials.cookieNamespace }));
    } catch {
      // Invalid header bytes from the device (Node refuses to write them): treat as a bad answer.
      return this.#fail('device_error');
    }
    this.#head = head;
    this.#framing = framing;
    for (const [name, value] of head.headers) {
      // Server-Sent Events and other open-ended streams: the visitor sees the headers now.
      if (name === 'content-type' && EVENT_STREAM.test(value)) res.flushHeaders();
    }
    this.#coalesce = coalescer(res.socket);
    res.on('drain', this.#onVisitorDrain);
    res.once('finish', this.#onVisitorFinish);
    if (framing.kind === 'length') this.#left = framing.length;
    else if (framing.kind === 'chunked') this.#decoder = new ChunkedDecoder();
    if (framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0)) {
      // Bytes after a response without a body: a device that cannot count.
      if (rest.length > 0) this.#spoiled = true;
      this.#complete();
    } else if (rest.length > 0) this.#body(rest);
  }

  #body(chunk: Buffer): void {
    if (!this.#head || this.#socket === undefined) return;
    switch (this.#framing.kind) {
      case 'length': {
        const n = Math.min(this.#left, chunk.length);
        if (n > 0) this.#toVisitor(n === chunk.length ? chunk : chunk.subarray(0, n));
        this.#left -= n;
        if (n < chunk.length) this.#spoiled = true;
        if (this.#left === 0) this.#complete();
        return;
      }
      case 'chunked': {
        let piece: { data: Buffer[]; used: number };
        try {
          piece = this.#decoder!.feed(chunk);
        } catch {
          return this.#broken();
        }
        for (const data of piece.data) this.#toVisitor(data);
        if (this.#decoder!.done) {
          if (piece.used < chunk.length) this.#spoiled = true;
          this.#complete();
        }
        return;
      }
      default:
        // Delimited by the connection's end.
        this.#toVisitor(chunk);
    }
  }

  #toVisitor(data: Buffer): void {
    this.#bytesOut += data.length;
    this.#coalesce();
    if (!this.f.res.write(data) && !this.#paused) {
      this.#paused = true;
      this.#socket?.pause();
    }
  }

  #visitorDrain(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#socket?.resume();
  }

  /** The response is whole: the visitor's side ends, the connection goes back to the pool or closes. */
  #complete(): void {
    const socket = this.#detach();
    this.f.res.end();
    if (!socket) return;
    const head = this.#head!;
    if (this.#spoiled || !reusable(head, this.#framing)) {
      socket.destroy();
      return;
    }
    let hint: number | undefined;
    for (const [name, value] of head.headers) if (name === 'keep-alive') hint = keepAliveHintMs(value);
    socket.emit('free', hint);
  }

  /** Stops listening to the connection (it is handed back or closed next). */
  #detach(): Duplex | undefined {
    const socket = this.#socket;
    if (!socket) return undefined;
    this.#socket = undefined;
    socket.removeListener('data', this.#onData);
    socket.removeListener('end', this.#onDeviceGone);
    socket.removeListener('close', this.#onDeviceGone);
    if (this.#paused) {
      this.#paused = false;
      socket.resume();
    }
    return socket;
  }

  /** The device ended or closed the connection before the response was complete. */
  #deviceGone(): void {
    if (this.#settled || !this.#socket) return;
    if (this.#framing.kind === 'close' && this.#head) {
      // A body delimited by the connection's end: this is its end.
      this.#complete();
      return;
    }
    if (!this.#head && this.#buffered.length === 0 && this.reusedSocket && this.attempt < 2 && !this.f.res.headersSent) {
      // A pooled connection the device closed while idle: safe to send this idempotent request again.
      this.#detach()!.destroy();
      this.#settle();
      this.f.res.removeListener('close', this.#onVisitorClose);
      forwardToDevice(this.f, this.opts, this.attempt + 1).then(this.resolve);
      return;
    }
    this.#broken();
  }

  /** The device broke off: a 502 if nothing was sent yet, else the visitor's connection goes too. */
  #broken(): void {
    if (!this.#head) return this.#fail('device_error');
    this.#detach()?.destroy();
    // A truncated body must not look complete.
    this.f.res.destroy();
    this.#finish('device_error');
  }

  #timedOut(): void {
    // Settled, or the response is whole and only the visitor's side (with its own timeouts) is left.
    if (this.#settled || (this.#head && !this.#socket)) return;
    const now = Date.now();
    const { responseTimeoutMs, idleTimeoutMs } = this.opts;
    if (!this.#head && now - this.#startedAt >= responseTimeoutMs) return this.#fail('response_timeout');
    const quiet = now - this.#lastActivity;
    // Before a connection is assigned there is nothing to be idle on: the response deadline rules.
    if (this.#socket && quiet >= idleTimeoutMs) return this.#fail(this.#head ? 'idle_timeout' : 'response_timeout');
    let next = this.#socket ? idleTimeoutMs - quiet : idleTimeoutMs;
    if (!this.#head) next = Math.min(next, responseTimeoutMs - (now - this.#startedAt));
    this.#timer = setTimeout(this.#onTimer, Math.max(1, next));
  }

  #visitorClosed(): void {
    if (this.f.res.writableFinished) return;
    // The visitor going away aborts the device request too.
    this.#detach()?.destroy();
    this.#finish('client_aborted');
  }

  #visitorFinished(): void {
    this.#finish();
  }

  #fail(kind: NonNullable<ForwardResult['failure']>): void {
    if (this.#settled) return;
    this.#detach()?.destroy();
    const { f } = this;
    if (!f.res.headersSent && !f.res.destroyed) sendStatusPage(f.res, failurePage(kind, f), f.req.method);
    else f.res.destroy();
    this.#finish(kind);
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.destroyed = true;
    clearTimeout(this.#timer);
    return true;
  }

  #finish(failure?: ForwardResult['failure']): void {
    if (!this.#settle()) return;
    const res = this.f.res;
    // 499 (nginx's "client closed request") when the visitor left before any response.
    const status = failure === 'client_aborted' && !res.headersSent ? 499 : res.statusCode;
    this.resolve({ status, bytesIn: 0, bytesOut: this.#bytesOut, ...(failure ? { failure } : {}) });
  }
}

function noop(): void {}
