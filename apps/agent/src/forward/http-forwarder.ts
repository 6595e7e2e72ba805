// Overlay port 80 → the device's local web UI. Requests arrive from the hub over the tunnel as a
// plain HTTP/1.1 byte stream. The direct relay (http-relay.ts) reads and forwards them with no
// node:http objects in between; the first request it does not take (an upgrade, a chunked body,
// anything outside its strict subset) hands the connection to a node:http server (no listening
// socket: connections are handed in). Either way each request goes to the one configured target,
// HTTP or HTTPS with a pinned certificate (tofu.ts), on kept-alive connections. Host and absolute
// self-URLs are rewritten both ways; WebSocket upgrades are relayed as raw bytes after the request
// head. The target is fixed: request-controlled hosts (absolute-form targets, Host) are never
// contacted.
import { createServer, request as httpRequest, Agent, type ClientRequestArgs, type IncomingMessage, type ServerResponse, type OutgoingHttpHeaders } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.js';
import { CertificateChangedError, connectPinned, type PinStore } from './tofu.js';
import {
  HOP_BY_HOP,
  PUBLIC_ORIGIN_HEADER,
  ReplaceStream,
  Replacements,
  connectionTokens,
  requestHeaderOut,
  responseHeaderOut,
  targetOrigins,
} from './rewrite.js';
import { certificateChangedPage, unreachablePage } from './error-pages.js';
import { RelayConnection, type RelayContext } from './http-relay.js';
import { TargetPool } from './target-pool.js';

export { PUBLIC_ORIGIN_HEADER };

export interface HttpForwarderOptions {
  target: URL;
  /** The device's public URL (from the registration), once known. */
  publicUrl: () => string | undefined;
  pins: PinStore;
  logger: Logger;
  /** Rewrite the target's origin to the public one inside text/html bodies (default true). */
  rewriteHtml?: boolean;
  /**
   * Relay requests directly (http-relay.ts) before handing a connection to node:http (default
   * true); false: node:http for every request, the path the relay is measured and tested against.
   */
  directRelay?: boolean;
}

export interface HttpForwarder {
  handle(socket: Duplex): void;
  close(): void;
  /** Requests forwarded, refused, failed: for the status page and tests. */
  readonly counters: { requests: number; upgrades: number; certificateRefusals: number; targetErrors: number };
}

function requestPath(url: string | undefined): string {
  // Absolute-form (`GET http://other/x`) must not choose the host: keep only path and query.
  if (!url) return '/';
  if (url.startsWith('/')) return url;
  try {
    const u = new URL(url);
    return `${u.pathname}${u.search}`;
  } catch {
    return '/';
  }
}

/**
 * Idle keep-alive connections kept open to an HTTP target: as many as the hub's pool opens to one
 * device at once (its maxSocketsPerPool, 32), so a steady load reuses connections instead of
 * closing the surplus after each burst and opening them again for the next.
 */
export const TARGET_IDLE_CONNECTIONS = 32;

/** HTML pages up to this length (stated by the target) are rewritten whole and sent with a length. */
export const WHOLE_REWRITE_BYTES = 256 * 1024;

/** `v` when it is an http(s) origin and nothing more, else undefined. */
function validPublicOrigin(v: string): string | undefined {
  if (v.length > 300) return undefined;
  try {
    const u = new URL(v);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === v ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Public origins whose replacements a forwarder keeps (bounds memory if the hub states many). */
const MAX_PUBLIC_ORIGINS = 8;

/**
 * Keep-alive connections to an HTTPS target, each opened by connectPinned: its certificate is
 * checked against the pin before the connection is pooled, so a request never goes out on an
 * unverified one. Before, each request opened and verified a TLS connection of its own: a page of
 * 30 files cost a meter 30 handshakes, on the slowest CPU of the path.
 */
class PinnedAgent extends Agent {
  /** The pin the pooled connections were verified against (undefined: none opened yet). */
  pin: string | undefined;

  constructor(private readonly open: () => Promise<Socket>, private readonly currentPin: () => string | undefined) {
    super({ keepAlive: true, maxFreeSockets: TARGET_IDLE_CONNECTIONS });
  }

  override createConnection(_options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    this.open().then(
      (socket) => {
        this.pin = this.currentPin();
        callback?.(null, socket);
      },
      (err: Error) => callback?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

/** Methods a proxy may send again when a kept-alive connection turns out closed (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A request with no body: its message ends with the head, so it can be sent again as is. */
function hasNoBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] === undefined || req.headers['content-length'] === '0');
}

export function createHttpForwarder(o: HttpForwarderOptions): HttpForwarder {
  const target = o.target;
  const isTls = target.protocol === 'https:';
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(target.port || (isTls ? 443 : 80));
  const origin = `${target.protocol}//${target.host}`;
  const pinKey = `${target.protocol}//${target.hostname}:${port}`;
  const log = o.logger.child({ component: 'forward' });
  const plainAgent = new Agent({ keepAlive: true, maxFreeSockets: TARGET_IDLE_CONNECTIONS });
  let pinnedAgent: PinnedAgent | undefined;
  /**
   * The pool of verified HTTPS connections. When the pin changes (the owner accepted a new
   * certificate, or reset the pin), connections verified against the old one are closed and the
   * next request verifies a new one against the current pin.
   */
  const tlsAgent = (): PinnedAgent => {
    if (pinnedAgent && pinnedAgent.pin !== undefined && pinnedAgent.pin !== o.pins.pinned(pinKey)) {
      pinnedAgent.destroy();
      pinnedAgent = undefined;
    }
    pinnedAgent ??= new PinnedAgent(openTarget, () => o.pins.pinned(pinKey));
    return pinnedAgent;
  };
  const counters = { requests: 0, upgrades: 0, certificateRefusals: 0, targetErrors: 0 };
  const selfOrigins = targetOrigins(target);
  // The target's origins → a public origin, converted once per public origin (the hub states one
  // or two), not for every page.
  const replacementsByOrigin = new Map<string, Replacements>();
  const replacementsFor = (pub: string): Replacements => {
    let r = replacementsByOrigin.get(pub);
    if (r === undefined) {
      if (replacementsByOrigin.size >= MAX_PUBLIC_ORIGINS) replacementsByOrigin.clear();
      r = new Replacements(selfOrigins.map((t) => [t, pub]));
      replacementsByOrigin.set(pub, r);
    }
    return r;
  };

  // The hub states the same public origin on every request: validated once per value (a URL parse
  // was ~7% of the agent's CPU per small request), not for every request.
  let stated: { header: string; origin: string | undefined } | undefined;
  const statedOrigin = (v: string | string[] | undefined): string | undefined => {
    if (typeof v !== 'string') return undefined;
    if (stated?.header !== v) stated = { header: v, origin: validPublicOrigin(v) };
    return stated.origin;
  };

  // The public URL only changes on registration: parse it once, not for every request.
  let parsedPublic: { url: string | undefined; origin: string | undefined } = { url: undefined, origin: undefined };
  const publicOrigin = (): string | undefined => {
    const u = o.publicUrl();
    if (u === parsedPublic.url) return parsedPublic.origin;
    let origin: string | undefined;
    try {
      origin = u ? new URL(u).origin : undefined;
    } catch {
      origin = undefined;
    }
    parsedPublic = { url: u, origin };
    return origin;
  };

  /** Request headers for the target: hop-by-hop removed, Host and self-references mapped back. */
  const outgoingHeaders = (req: IncomingMessage, keepUpgrade: boolean, pub: string | undefined): OutgoingHttpHeaders => {
    const drop = connectionTokens(req.headers.connection);
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || (drop.has(name) && !(keepUpgrade && name === 'upgrade'))) continue;
      if (typeof value !== 'string') {
        if (!HOP_BY_HOP.has(name)) headers[name] = value;
        continue;
      }
      const out = requestHeaderOut(name, value, pub, origin, keepUpgrade);
      if (out !== undefined) headers[name] = out;
    }
    headers.host = target.host;
    if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;
    if (!req.headers['x-forwarded-proto'] && pub) headers['x-forwarded-proto'] = pub.startsWith('https:') ? 'https' : 'http';
    return headers;
  };

  /**
   * Opens a connection to the target: TCP, or TLS verified against the pin. Without Nagle, like
   * node:http's own client sockets: relayed WebSocket frames are small writes that must not wait
   * for the target's delayed ACK.
   */
  const openTarget = async (): Promise<Socket> =>
    isTls ? connectPinned({ host, port, origin: pinKey, pins: o.pins, logger: log }) : netConnect({ host, port, noDelay: true });

  /** The 502 page for a failure to reach the target; counted, and logged unless a refusal. */
  const failurePage = (err: unknown): string => {
    if (err instanceof CertificateChangedError) {
      counters.certificateRefusals++;
      return certificateChangedPage(err);
    }
    counters.targetErrors++;
    log.warn('target unreachable', { target: origin, err });
    return unreachablePage(origin, (err as Error).message);
  };

  const sendError = (res: ServerResponse, err: unknown): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const html = failurePage(err);
    res.writeHead(502, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    counters.requests++;
    req.on('error', () => res.destroy());
    const pub = statedOrigin(req.headers[PUBLIC_ORIGIN_HEADER]) ?? publicOrigin();
    const headers = outgoingHeaders(req, false, pub);
    const bodiless = hasNoBody(req);
    // A kept-alive connection the target closed just as we picked it fails before any response.
    // Only a request that can be replayed (idempotent, no body) is sent again, on a new connection.
    let mayRetry = bodiless && IDEMPOTENT.has(req.method ?? '');
    let upstream: ReturnType<typeof httpRequest> | undefined;
    res.on('close', () => {
      if (!res.writableFinished) upstream?.destroy();
    });
    if (bodiless) req.resume();
    const start = (): void => {
      const current = httpRequest({ host, port, method: req.method, path: requestPath(req.url), headers, agent: isTls ? tlsAgent() : plainAgent });
      upstream = current;
      current.on('error', (err: NodeJS.ErrnoException) => {
        if (mayRetry && current.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE') && !res.headersSent) {
          mayRetry = false;
          start();
          return;
        }
        sendError(res, err);
      });
      current.on('response', (up) => {
        const outHeaders: OutgoingHttpHeaders = {};
        const drop = connectionTokens(up.headers.connection);
        for (const [name, value] of Object.entries(up.headers)) {
          if (value === undefined || HOP_BY_HOP.has(name) || drop.has(name)) continue;
          outHeaders[name] = typeof value === 'string' ? responseHeaderOut(name, value, target, pub) : value.map((v) => responseHeaderOut(name, v, target, pub));
        }
        const encoding = String(up.headers['content-encoding'] ?? 'identity').toLowerCase();
        const rewriteBody =
          (o.rewriteHtml ?? true) &&
          pub !== undefined &&
          /^text\/html\b/i.test(String(up.headers['content-type'] ?? '')) &&
          encoding === 'identity';
        up.on('error', () => res.destroy());
        const status = up.statusCode ?? 502;
        if (!rewriteBody) {
          res.writeHead(status, up.statusMessage, outHeaders);
          up.pipe(res);
          return;
        }
        delete outHeaders['content-length'];
        const replacements = replacementsFor(pub!);
        const length = Number(up.headers['content-length']);
        if (req.method === 'HEAD' || status === 204 || status === 304 || !(length <= WHOLE_REWRITE_BYTES)) {
          res.writeHead(status, up.statusMessage, outHeaders);
          up.pipe(new ReplaceStream(replacements)).pipe(res);
          return;
        }
        // A page of known, small length is rewritten whole and answered with its new length: head
        // and body leave in one write, not a chunked body whose last chunk trails in a segment of
        // its own (one more datagram each way per page, and the hub waits for it to finish). The
        // page is gathered as it comes, with no stream in between.
        const chunks: Buffer[] = [];
        up.on('data', (chunk: Buffer) => chunks.push(chunk));
        up.on('end', () => {
          const whole = replacements.replaceAll(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
          outHeaders['content-length'] = String(whole.length);
          res.writeHead(status, up.statusMessage, outHeaders);
          res.end(whole);
        });
        up.on('close', () => up.complete || res.destroy());
      });
      if (bodiless) current.end();
      else req.pipe(current);
    };
    start();
  };

  const onUpgrade = (req: IncomingMessage, client: Duplex, head: Buffer): void => {
    counters.upgrades++;
    client.on('error', () => client.destroy());
    openTarget().then(
      (upstream) => {
        const headers = outgoingHeaders(req, true, statedOrigin(req.headers[PUBLIC_ORIGIN_HEADER]) ?? publicOrigin());
        const lines = [`${req.method} ${requestPath(req.url)} HTTP/1.1`];
        for (const [name, value] of Object.entries(headers)) {
          for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${String(v)}`);
        }
        upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
        if (head.length > 0) upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
        upstream.on('error', () => client.destroy());
        upstream.on('close', (hadError) => hadError && client.destroy());
        client.on('close', () => upstream.destroyed || upstream.writableEnded || upstream.destroy());
      },
      (err) => {
        if (err instanceof CertificateChangedError) counters.certificateRefusals++;
        else counters.targetErrors++;
        const body = err instanceof CertificateChangedError ? certificateChangedPage(err) : unreachablePage(origin, (err as Error).message);
        client.end(
          `HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
      },
    );
  };

  const server = createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 30_000 }, onRequest);
  server.on('upgrade', onUpgrade);
  server.on('clientError', (_err, socket) => socket.destroy());

  const relay: RelayContext = {
    target,
    targetOrigin: origin,
    pool: new TargetPool(openTarget, () => (isTls ? o.pins.pinned(pinKey) : undefined), TARGET_IDLE_CONNECTIONS),
    counters,
    rewriteHtml: o.rewriteHtml ?? true,
    wholeRewriteBytes: WHOLE_REWRITE_BYTES,
    publicOrigin: (v) => statedOrigin(v) ?? publicOrigin(),
    replacementsFor,
    failurePage,
    handOff(socket, buffered) {
      if (buffered.length > 0) socket.unshift(buffered);
      server.emit('connection', socket);
      socket.resume();
    },
  };
  const direct = o.directRelay ?? true;

  return {
    counters,
    handle(socket: Duplex) {
      socket.on('error', () => socket.destroy());
      if (direct) new RelayConnection(relay, socket);
      else server.emit('connection', socket);
    },
    close() {
      server.closeAllConnections();
      relay.pool.close();
      plainAgent.destroy();
      pinnedAgent?.destroy();
    },
  };
}
