// The agent's direct HTTP/1.1 relay: overlay connection from the hub → the device's web UI, with
// no node:http server or client objects in between. Profiles of the agent at one connection put
// node:http's request and response objects, their streams and events at ~100 µs of its ~250 µs of
// CPU on a request's path; this relay reads a request head, writes the target's head and body
// framing itself, and writes each response out in one piece where it arrived in one.
//
// It takes only what it can frame without doubt (@porthole/http-wire: a strict subset of what the
// hub writes, by its own relay or node:http's client). The first request outside that subset (a chunked body, an upgrade,
// Expect, HTTP/1.0, anything odd) hands the connection, with the bytes read so far, to the
// forwarder's node:http server for the rest of its life, so every such request is answered exactly
// as before. Requests are relayed one at a time per connection; pipelined ones wait their turn.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  ChunkedDecoder,
  LAST_CHUNK,
  chunkFrame,
  parseRequestHead,
  parseResponseHead,
  responseFraming,
  reusable,
  type BodyFraming,
  type RequestHead,
  type ResponseHead,
} from '@porthole/http-wire';
import { HOP_BY_HOP, PUBLIC_ORIGIN_HEADER, PieceReplacer, connectionTokens, requestHeaderOut, responseHeaderOut, type Replacements } from './rewrite.js';
import type { TargetConnection, TargetPool, TargetUser } from './target-pool.js';

/** What the relay needs from its forwarder: the target, the pool, the rewrite rules, the pages. */
export interface RelayContext {
  readonly target: URL;
  /** The target's origin, e.g. "http://127.0.0.1:8080". */
  readonly targetOrigin: string;
  readonly pool: TargetPool;
  readonly counters: { requests: number };
  readonly rewriteHtml: boolean;
  readonly wholeRewriteBytes: number;
  /** The public origin for a request: the hub's statement if valid, else the registration's. */
  publicOrigin(stated: string | undefined): string | undefined;
  replacementsFor(publicOrigin: string): Replacements;
  /** The 502 page for a failure to reach the target (counts and logs it). */
  failurePage(err: unknown): string;
  /** Gives the connection, and `buffered` bytes read from it, to the node:http server. */
  handOff(socket: Duplex, buffered: Buffer): void;
}

/** Methods a proxy may send again when a kept-alive connection turns out closed (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Idle overlay connections are closed after this long, as node:http's keepAliveTimeout did. */
export const RELAY_IDLE_MS = 30_000;

/** How long the hub may keep an idle connection, as node:http's server states it (RFC 9112 keep-alive). */
const KEEP_ALIVE_HINT = `keep-alive: timeout=${RELAY_IDLE_MS / 1000}\r\n`;

/** Bytes of pipelined requests buffered while one is answered before the hub's socket is paused. */
const MAX_PENDING_BYTES = 64 * 1024;

const EMPTY: Buffer = Buffer.alloc(0);

let dateSecond = -1;
let dateHeader = '';
/** `date: …\r\n` for a response that has none (as node:http's server adds), formatted once a second. */
function dateLine(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateHeader = `date: ${new Date(now).toUTCString()}\r\n`;
  }
  return dateHeader;
}

const enum Phase {
  /** No exchange: the next request head is awaited. */
  Idle,
  /** Request read; a target connection is being opened. */
  Connecting,
  /** Request sent (its body may still be streaming); the response head is awaited. */
  Head,
  /** Response body being relayed. */
  Body,
  /** Handed to node:http, or closed. */
  Gone,
}

const enum Sink {
  /** Body bytes as they come, the target's Content-Length kept. */
  Raw,
  /** Body re-framed as chunks (the target's chunked or close-delimited body). */
  Chunked,
  /** HTML of known small length, gathered and rewritten whole, sent with its new length. */
  Gather,
  /** HTML rewritten as it streams, chunked. */
  Stream,
}

export class RelayConnection implements TargetUser {
  #phase = Phase.Idle;
  /** Bytes from the hub not consumed yet (the next request heads). */
  #input: Buffer = EMPTY;
  #request: RequestHead | undefined;
  #requestHead = '';
  /** Request body bytes still to pass to the target. */
  #bodyLeft = 0;
  #conn: TargetConnection | undefined;
  #retried = false;
  #publicOrigin: string | undefined;
  /** Response bytes not parsed yet (head phase). */
  #response: Buffer = EMPTY;
  #head: ResponseHead | undefined;
  #framing: BodyFraming = { kind: 'none' };
  #left = 0;
  #decoder: ChunkedDecoder | undefined;
  #sink = Sink.Raw;
  /** The response head for the hub, until it leaves with the first body bytes. */
  #pendingHead: string | undefined;
  /** Something of this response has been written to the hub. */
  #sent = false;
  /** The target sent more than the framing allows: its connection is not reused. */
  #spoiled = false;
  #gathered: Buffer[] = [];
  #replacements: Replacements | undefined;
  /** The streaming rewrite of a page of unknown or large length. */
  #replacer: PieceReplacer | undefined;
  /** End the overlay connection once the current response is out. */
  #closeAfter = false;
  readonly #idleTimer: NodeJS.Timeout;

  constructor(
    private readonly ctx: RelayContext,
    private readonly hub: Duplex,
  ) {
    hub.on('data', this.#onHubData);
    hub.on('end', this.#onHubEnd);
    hub.on('drain', this.#onHubDrain);
    hub.on('close', this.#onHubClose);
    this.#idleTimer = setTimeout(this.#onIdleTimeout, RELAY_IDLE_MS);
    this.#idleTimer.unref();
  }

  readonly #onHubData = (chunk: Buffer): void => {
    if (this.#bodyLeft > 0 && this.#phase !== Phase.Connecting && this.#conn) {
      const n = Math.min(this.#bodyLeft, chunk.length);
      this.#bodyLeft -= n;
      if (!this.#conn.socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) this.hub.pause();
      if (n === chunk.length) return;
      chunk = chunk.subarray(n);
    }
    this.#input = this.#input.length === 0 ? chunk : Buffer.concat([this.#input, chunk]);
    if (this.#phase === Phase.Idle) this.#next();
    else if (this.#input.length > MAX_PENDING_BYTES) this.hub.pause();
  };

  readonly #onHubEnd = (): void => {
    if (this.#phase === Phase.Idle) this.hub.end();
    else this.#closeAfter = true;
  };

  readonly #onHubDrain = (): void => {
    this.#conn?.socket.resume();
  };

  readonly #onHubClose = (): void => {
    clearTimeout(this.#idleTimer);
    if (this.#phase !== Phase.Idle && this.#phase !== Phase.Gone) this.#dropTarget();
    this.#phase = Phase.Gone;
  };

  readonly #onIdleTimeout = (): void => {
    if (this.#phase === Phase.Idle) this.hub.destroy();
    else if (this.#phase !== Phase.Gone) this.#idleTimer.refresh();
  };

  /** Starts the next request in the input, if a whole head is there. */
  #next(): void {
    if (this.#input.length === 0) return;
    const parsed = parseRequestHead(this.#input);
    if (parsed.kind === 'incomplete') return;
    if (parsed.kind === 'unsupported') return this.#handOff();
    this.ctx.counters.requests++;
    this.#request = parsed;
    this.#input = this.#input.subarray(parsed.length);
    this.#bodyLeft = parsed.contentLength;
    this.#closeAfter ||= parsed.close;
    this.#retried = false;
    let stated: string | undefined;
    for (const [name, value] of parsed.headers) if (name === PUBLIC_ORIGIN_HEADER) stated = value;
    this.#publicOrigin = this.ctx.publicOrigin(stated);
    this.#requestHead = this.#writeRequestHead(parsed);
    this.#send();
  }

  #writeRequestHead(req: RequestHead): string {
    const pub = this.#publicOrigin;
    let head = `${req.method} ${req.target} HTTP/1.1\r\nhost: ${this.ctx.target.host}\r\n`;
    let forwardedProto = false;
    for (const [name, value] of req.headers) {
      // X-Forwarded-Host is the relay's own (below), as node:http's path sets it over the hub's.
      const out = name === 'x-forwarded-host' ? undefined : requestHeaderOut(name, value, pub, this.ctx.targetOrigin);
      if (out === undefined) continue;
      if (name === 'x-forwarded-proto') forwardedProto = true;
      head += `${name}: ${out}\r\n`;
    }
    head += `x-forwarded-host: ${req.host}\r\n`;
    if (!forwardedProto && pub) head += `x-forwarded-proto: ${pub.startsWith('https:') ? 'https' : 'http'}\r\n`;
    return `${head}connection: keep-alive\r\n\r\n`;
  }

  /** Sends the request on a pooled connection, or on a new one once it is open. */
  #send(): void {
    this.#response = EMPTY;
    this.#phase = Phase.Head;
    const conn = this.ctx.pool.take(this);
    if (conn) return this.#write(conn);
    this.#connect();
  }

  /** Opens a new target connection for the current request and sends it there. */
  #connect(): void {
    this.#phase = Phase.Connecting;
    this.ctx.pool.connect(this).then(
      (fresh) => {
        if (this.#phase !== Phase.Connecting) {
          fresh.user = undefined;
          fresh.socket.destroy();
          return;
        }
        this.#phase = Phase.Head;
        this.#write(fresh);
      },
      (err: unknown) => {
        if (this.#phase === Phase.Connecting) this.#fail(err);
      },
    );
  }

  /** The request head and as much of its body as is here, in one write. */
  #write(conn: TargetConnection): void {
    this.#conn = conn;
    const n = Math.min(this.#bodyLeft, this.#input.length);
    const head = Buffer.from(this.#requestHead, 'latin1');
    let out = head;
    if (n > 0) {
      out = Buffer.concat([head, this.#input.subarray(0, n)]);
      this.#input = this.#input.subarray(n);
      this.#bodyLeft -= n;
    }
    if (!conn.socket.write(out)) this.hub.pause();
  }

  onTargetDrain(): void {
    if (this.#bodyLeft > 0) this.hub.resume();
  }

  onTargetData(data: Buffer): void {
    if (this.#phase === Phase.Body) return this.#body(data);
    if (this.#phase !== Phase.Head) return;
    this.#response = this.#response.length === 0 ? data : Buffer.concat([this.#response, data]);
    for (;;) {
      const parsed = parseResponseHead(this.#response);
      if (parsed.kind === 'incomplete') return;
      if (parsed.kind === 'invalid') return this.#fail(new Error(parsed.reason), true);
      const rest = this.#response.subarray(parsed.length);
      if (parsed.status === 101) return this.#fail(new Error('101 Switching Protocols without an upgrade request'), true);
      if (parsed.status < 200) {
        // Interim response (100 Continue, 103 Early Hints): not passed on, as before.
        this.#response = rest;
        if (rest.length === 0) return;
        continue;
      }
      this.#response = EMPTY;
      this.#startResponse(parsed, rest);
      return;
    }
  }

  #startResponse(head: ResponseHead, rest: Buffer): void {
    const req = this.#request!;
    const framing = responseFraming(head, req.method);
    if (framing.kind === 'invalid') return this.#fail(new Error(framing.reason), true);
    this.#head = head;
    this.#framing = framing;
    this.#spoiled = false;
    this.#decoder = framing.kind === 'chunked' ? new ChunkedDecoder() : undefined;
    this.#left = framing.kind === 'length' ? framing.length : 0;

    const pub = this.#publicOrigin;
    let contentType = '';
    let encoding = 'identity';
    for (const [name, value] of head.headers) {
      if (name === 'content-type' && contentType === '') contentType = value;
      else if (name === 'content-encoding') encoding = value.toLowerCase();
    }
    const rewrite = this.ctx.rewriteHtml && pub !== undefined && /^text\/html\b/i.test(contentType) && encoding === 'identity';
    if (rewrite) {
      this.#replacements = this.ctx.replacementsFor(pub);
      this.#sink = framing.kind === 'length' && framing.length <= this.ctx.wholeRewriteBytes ? Sink.Gather : Sink.Stream;
      if (this.#sink === Sink.Stream) this.#replacer = new PieceReplacer(this.#replacements);
      this.#gathered = [];
    } else {
      this.#sink = framing.kind === 'length' ? Sink.Raw : Sink.Chunked;
    }

    let out = `HTTP/1.1 ${head.status} ${head.reason || STATUS_CODES[head.status] || ''}\r\n`;
    const connection: string[] = [];
    for (const [name, value] of head.headers) if (name === 'connection') connection.push(value);
    const drop = connectionTokens(connection.length === 0 ? undefined : connection);
    let hasDate = false;
    for (const [name, value] of head.headers) {
      if (HOP_BY_HOP.has(name) || drop.has(name)) continue;
      // Framing is the relay's own; a body-less response keeps the target's stated length
      // (HEAD's), unless the page would be rewritten and the length would be wrong.
      if (name === 'content-length' && (framing.kind !== 'none' || rewrite)) continue;
      if (name === 'date') hasDate = true;
      out += `${name}: ${responseHeaderOut(name, value, this.ctx.target, pub)}\r\n`;
    }
    if (!hasDate) out += dateLine();
    out += this.#closeAfter ? 'connection: close\r\n' : KEEP_ALIVE_HINT;
    if (framing.kind === 'none') {
      this.#phase = Phase.Body;
      this.#pendingHead = out;
      if (rest.length > 0) this.#spoiled = true;
      this.#finish();
      return;
    }
    if (this.#sink === Sink.Raw) out += `content-length: ${this.#left}\r\n`;
    else if (this.#sink !== Sink.Gather) out += 'transfer-encoding: chunked\r\n';
    this.#pendingHead = this.#sink === Sink.Gather ? out : `${out}\r\n`;
    this.#phase = Phase.Body;
    if (framing.kind === 'length' && framing.length === 0) {
      if (rest.length > 0) this.#spoiled = true;
      this.#finish();
      return;
    }
    if (rest.length > 0) this.#body(rest);
    else if (this.#sink !== Sink.Gather) this.#flush([]); // the head now: the body may be slow
  }

  /** Response body bytes from the target. */
  #body(data: Buffer): void {
    const pieces: Buffer[] = [];
    let complete = false;
    switch (this.#framing.kind) {
      case 'length': {
        const n = Math.min(this.#left, data.length);
        this.#left -= n;
        this.#emit(pieces, n === data.length ? data : data.subarray(0, n));
        if (n < data.length) this.#spoiled = true;
        complete = this.#left === 0;
        break;
      }
      case 'chunked': {
        let decoded: { data: Buffer[]; used: number };
        try {
          decoded = this.#decoder!.feed(data);
        } catch (err) {
          return this.#fail(err, true);
        }
        for (const d of decoded.data) this.#emit(pieces, d);
        if (decoded.used < data.length) this.#spoiled = true;
        complete = this.#decoder!.done;
        break;
      }
      case 'close':
        this.#emit(pieces, data);
        break;
    }
    if (complete) return this.#finish(pieces);
    if (this.#sink !== Sink.Gather) this.#flush(pieces);
  }

  #emit(pieces: Buffer[], data: Buffer): void {
    if (data.length === 0) return;
    switch (this.#sink) {
      case Sink.Raw:
        pieces.push(data);
        return;
      case Sink.Chunked:
        pieces.push(...chunkFrame(data));
        return;
      case Sink.Gather:
        this.#gathered.push(data);
        return;
      case Sink.Stream: {
        const out = this.#replacer!.push(data);
        if (out.length > 0) pieces.push(...chunkFrame(out));
      }
    }
  }

  /** Writes the pending head (once) and `pieces` to the hub in one write. */
  #flush(pieces: Buffer[]): void {
    if (this.#pendingHead !== undefined) {
      pieces.unshift(Buffer.from(this.#pendingHead, 'latin1'));
      this.#pendingHead = undefined;
    }
    if (pieces.length === 0) return;
    this.#sent = true;
    if (!this.hub.write(pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces)) && this.#phase === Phase.Body) this.#conn?.socket.pause();
  }

  /** The response is complete: its last bytes out, the target connection back, the next request. */
  #finish(pieces: Buffer[] = []): void {
    switch (this.#sink) {
      case Sink.Gather:
        if (this.#framing.kind !== 'none') {
          const page = this.#gathered.length === 1 ? this.#gathered[0]! : Buffer.concat(this.#gathered);
          const whole = this.#replacements!.replaceAll(page);
          this.#pendingHead += `content-length: ${whole.length}\r\n\r\n`;
          pieces.push(whole);
        } else this.#pendingHead += '\r\n';
        this.#gathered = [];
        break;
      case Sink.Stream:
        if (this.#framing.kind !== 'none') {
          const last = this.#replacer!.end();
          if (last.length > 0) pieces.push(...chunkFrame(last));
          pieces.push(LAST_CHUNK);
        } else this.#pendingHead += '\r\n';
        break;
      case Sink.Chunked:
        if (this.#framing.kind !== 'none') pieces.push(LAST_CHUNK);
        else this.#pendingHead += '\r\n';
        break;
      case Sink.Raw:
        if (this.#framing.kind === 'none') this.#pendingHead += '\r\n';
        break;
    }
    this.#flush(pieces);
    const conn = this.#conn!;
    this.#conn = undefined;
    conn.socket.resume();
    if (!this.#spoiled && this.#bodyLeft === 0 && reusable(this.#head!, this.#framing)) this.ctx.pool.release(conn);
    else {
      conn.user = undefined;
      conn.socket.destroy();
      // A request body the target did not wait for is still on its way from the hub: the
      // connection cannot be read as the next request's.
      if (this.#bodyLeft > 0) this.#closeAfter = true;
    }
    this.#done();
  }

  #done(): void {
    this.#request = undefined;
    this.#head = undefined;
    this.#sent = false;
    this.#replacements = undefined;
    this.#replacer = undefined;
    if (this.#closeAfter) {
      this.#phase = Phase.Gone;
      this.hub.end();
      return;
    }
    this.#phase = Phase.Idle;
    this.#idleTimer.refresh();
    this.hub.resume();
    this.#next();
  }

  onTargetEnd(): void {
    if (this.#phase === Phase.Body && this.#framing.kind === 'close') {
      this.#spoiled = true;
      this.#finish();
    }
    // Otherwise the close that follows decides.
  }

  onTargetClose(): void {
    this.#conn = undefined;
    if (this.#phase !== Phase.Head && this.#phase !== Phase.Body) return;
    // A kept-alive connection the target closed just as it was picked fails before any response.
    // Only a request that can be replayed (idempotent, no body) is sent again, on a new connection.
    const req = this.#request!;
    if (this.#phase === Phase.Head && this.#response.length === 0 && !this.#retried && req.contentLength === 0 && IDEMPOTENT.has(req.method)) {
      this.#retried = true;
      this.#connect();
      return;
    }
    this.#fail(new Error(this.#phase === Phase.Head ? 'the target closed the connection before a response' : 'the target closed the connection mid-response'));
  }

  /**
   * The exchange failed: a 502 page when nothing of the response has left yet, else the overlay
   * connection is cut (the hub sees a truncated response, not a wrong one).
   */
  #fail(err: unknown, dropTarget = false): void {
    if (dropTarget) this.#dropTarget();
    this.#conn = undefined;
    if (this.#sent) {
      this.#phase = Phase.Gone;
      this.hub.destroy();
      return;
    }
    this.#pendingHead = undefined;
    this.#gathered = [];
    const page = Buffer.from(this.ctx.failurePage(err));
    // The request's body, if any is still to come, is not read: the connection ends after the page.
    if (this.#bodyLeft > 0) this.#closeAfter = true;
    const head = `HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html; charset=utf-8\r\ncache-control: no-store\r\n${dateLine()}content-length: ${page.length}\r\n${this.#closeAfter ? 'connection: close\r\n' : ''}\r\n`;
    this.hub.write(Buffer.concat([Buffer.from(head, 'latin1'), page]));
    this.#done();
  }

  #dropTarget(): void {
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn) {
      conn.user = undefined;
      conn.socket.destroy();
    }
  }

  /** Gives the connection to node:http at a request boundary (nothing of ours is in flight). */
  #handOff(): void {
    this.#phase = Phase.Gone;
    clearTimeout(this.#idleTimer);
    this.hub.pause();
    this.hub.off('data', this.#onHubData);
    this.hub.off('end', this.#onHubEnd);
    this.hub.off('drain', this.#onHubDrain);
    this.hub.off('close', this.#onHubClose);
    const buffered = this.#input;
    this.#input = EMPTY;
    this.ctx.handOff(this.hub, buffered);
  }
}
