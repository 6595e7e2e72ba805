// Forwards one HTTP request to a device and streams the response back, in both directions with
// backpressure: bodies are piped, never buffered, so a 1 GB transfer costs a few
// socket buffers; SSE headers are flushed at once; a connection that fails mid-request is destroyed,
// never returned to the keep-alive pool.
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { DeviceRoute } from './contracts.js';
import { type DeviceAgent, type DeviceRequestArgs, DialFailedError, DialTimeoutError, poolPartition, singleUseExchange } from './device-agent.js';
import { type ClientInfo, requestHeadersForDevice, responseHeadersForVisitor } from './forward-headers.js';
import { type StatusPage, sendStatusPage } from './status-page.js';
import type { ForwardCredentials } from './visitor-gate.js';

/** A visitor's request routed to a device: what a plain forward and a WebSocket upgrade both carry. */
export interface RoutedRequest {
  req: IncomingMessage;
  device: DeviceRoute;
  /** Origin-form path and query for the device. */
  target: string;
  /** Host as routed (normalised), sent to the device as Host and X-Forwarded-Host. */
  host: string;
  client: ClientInfo;
  userId: string | null;
  requestId: string;
  /** Which of the visitor's credentials go on (the gate's decision). */
  credentials: ForwardCredentials;
}

export interface ForwardRequest extends RoutedRequest {
  res: ServerResponse;
  /** The visitor sent `Expect: 100-continue` and is waiting for our go-ahead. */
  expectContinue: boolean;
}

export interface ForwardOptions {
  agent: DeviceAgent;
  devicePort: number;
  /** From request start until the device's response headers. */
  responseTimeoutMs: number;
  /** No bytes either way for this long: the exchange is abandoned. */
  idleTimeoutMs: number;
  maxResponseHeaderBytes: number;
}

export interface ForwardResult {
  status: number;
  bytesIn: number;
  bytesOut: number;
  /** Why it failed, for logs and drop metrics; undefined when the response completed. */
  failure?: 'dial_timeout' | 'dial_failed' | 'response_timeout' | 'idle_timeout' | 'device_error' | 'client_aborted';
}

export function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

export function failurePage(kind: NonNullable<ForwardResult['failure']>, f: ForwardRequest): StatusPage {
  const base = { serial: f.device.serial, lastSeenAt: f.device.lastSeenAt, requestId: f.requestId };
  switch (kind) {
    case 'dial_timeout':
      return { ...base, status: 504, title: 'Device not answering', message: 'The device did not accept a connection in time. It may have just gone offline or be overloaded; try again shortly.' };
    case 'response_timeout':
      return { ...base, status: 504, title: 'Device too slow', message: 'The device accepted the request but did not answer in time.' };
    case 'dial_failed':
      return { ...base, status: 502, title: 'Device unreachable', message: "The device's remote-access agent refused the connection or the tunnel is down. Check that the device's web interface is running." };
    default:
      return { ...base, status: 502, title: 'Bad answer from device', message: 'The connection to the device broke before it sent a complete answer.' };
  }
}

const kCoalesce = Symbol('coalesce visitor writes');

/**
 * The device's data arrives in many small reads (one per overlay datagram or burst); written to the
 * visitor one by one, each costs a syscall. Corked from the first read of an event-loop turn to the
 * next check phase, a turn's reads leave in one writev. The socket itself is corked, not the
 * response: a response that ends meanwhile detaches from its socket, and the uncork must still land.
 * Made once per visitor connection (kept on the socket), not per request.
 */
export function coalescer(socket: (Duplex & { [kCoalesce]?: () => void }) | null): () => void {
  if (!socket) return () => {};
  let coalesce = socket[kCoalesce];
  if (coalesce) return coalesce;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  coalesce = () => {
    if (corked) return;
    corked = true;
    socket.cork();
    setImmediate(uncork);
  };
  socket[kCoalesce] = coalesce;
  return coalesce;
}

/** The visitor's request headers as the device gets them, by the gate's decision (forward-headers.ts). */
export function deviceRequestHeaders(f: ForwardRequest): string[] {
  return requestHeadersForDevice(f.req, {
    host: f.host,
    client: f.client,
    dropAuthorization: f.credentials.dropAuthorization,
    dropCookies: f.credentials.dropCookies,
    cookieNamespace: f.credentials.cookieNamespace,
    publicOrigin: f.credentials.publicOrigin,
  });
}

/** Forwards the request; resolves when the exchange is over (completed or failed), never rejects. */
export function forwardHttp(f: ForwardRequest, opts: ForwardOptions, attempt = 0): Promise<ForwardResult> {
  const { req, res } = f;
  return new Promise((resolve) => {
    let bytesIn = 0;
    let bytesOut = 0;
    let settled = false;
    let responded = false;
    const body = hasBody(req);
    const finish = (failure?: ForwardResult['failure']) => {
      if (settled) return;
      settled = true;
      clearTimeout(responseTimer);
      // 499 (nginx's "client closed request") when the visitor left before any response.
      const status = failure === 'client_aborted' && !res.headersSent ? 499 : res.statusCode;
      resolve({ status, bytesIn, bytesOut, ...(failure ? { failure } : {}) });
    };

    const partition = poolPartition(f.device, f.userId, f.client.ip);
    const args: DeviceRequestArgs = {
      agent: opts.agent,
      device: f.device,
      partition,
      singleUse: singleUseExchange(partition, body, f.credentials.dropAuthorization ? undefined : req.headers.authorization),
      host: f.device.tunnelIp,
      port: opts.devicePort,
      method: req.method ?? 'GET',
      path: f.target,
      headers: deviceRequestHeaders(f) as unknown as http.OutgoingHttpHeaders,
      maxHeaderSize: opts.maxResponseHeaderBytes,
      setHost: false,
    };
    const proxyReq = http.request(args);

    const fail = (kind: NonNullable<ForwardResult['failure']>) => {
      if (settled) return;
      proxyReq.destroy();
      req.unpipe(proxyReq);
      if (!res.headersSent && !res.destroyed) {
        const page = failurePage(kind, f);
        // The visitor's unread body would otherwise be drained before the next request.
        if (body && !req.readableEnded) page.headers = { connection: 'close' };
        sendStatusPage(res, page, req.method);
      } else {
        res.destroy();
      }
      finish(kind);
    };

    const responseTimer = setTimeout(() => fail('response_timeout'), opts.responseTimeoutMs);
    proxyReq.setTimeout(opts.idleTimeoutMs, () => fail(responded ? 'idle_timeout' : 'response_timeout'));

    proxyReq.on('error', (err: NodeJS.ErrnoException) => {
      if (settled || res.writableEnded) return;
      // A pooled connection the device closed while idle: safe to retry an idempotent, body-less request.
      if (!responded && proxyReq.reusedSocket && !body && attempt < 2 && (req.method === 'GET' || req.method === 'HEAD') && err.code === 'ECONNRESET') {
        settled = true;
        clearTimeout(responseTimer);
        forwardHttp(f, opts, attempt + 1).then(resolve);
        return;
      }
      if (err instanceof DialTimeoutError) fail('dial_timeout');
      else if (err instanceof DialFailedError) fail('dial_failed');
      else fail('device_error');
    });

    proxyReq.on('response', (proxyRes) => {
      responded = true;
      clearTimeout(responseTimer);
      const status = proxyRes.statusCode ?? 502;
      try {
        res.writeHead(status, proxyRes.statusMessage, responseHeadersForVisitor(proxyRes.rawHeaders, { cookieNamespace: f.credentials.cookieNamespace }) as unknown as http.OutgoingHttpHeaders);
      } catch {
        // Invalid header bytes from the device (Node refuses to write them): treat as a bad answer.
        proxyRes.destroy();
        fail('device_error');
        return;
      }
      // Server-Sent Events and other open-ended streams: the visitor sees the headers now.
      if (/^text\/event-stream/i.test(String(proxyRes.headers['content-type'] ?? ''))) res.flushHeaders();
      const coalesce = coalescer(res.socket);
      // Before pipe's own listener, so that the chunk it writes is already corked.
      proxyRes.on('data', (chunk: Buffer) => {
        bytesOut += chunk.length;
        coalesce();
      });
      // pipe, not pipeline: pipeline costs an AbortController per call and a DOMException (a stack
      // trace) when it ends, measured at ~15% of the proxy's CPU per small request. Its two jobs
      // are done here: the visitor's response completes, or a device that breaks off mid-answer
      // takes the visitor's connection with it (a truncated body must not look complete).
      proxyRes.pipe(res);
      res.once('finish', () => finish());
      const broken = () => {
        if (settled || proxyRes.complete) return;
        proxyReq.destroy();
        res.destroy();
        finish('device_error');
      };
      proxyRes.once('error', broken);
      proxyRes.once('close', broken);
    });

    // The visitor going away aborts the device request too (no orphaned uploads to the device).
    res.once('close', () => {
      if (!res.writableFinished) {
        proxyReq.destroy();
        finish('client_aborted');
      }
    });

    if (body) {
      if (f.expectContinue && attempt === 0) res.writeContinue();
      // pipe, not pipeline: a device failure must not destroy the visitor's socket before the 502 page.
      req.pipe(proxyReq);
      req.on('data', (chunk: Buffer) => {
        bytesIn += chunk.length;
      });
      req.once('error', () => fail('client_aborted'));
    } else {
      proxyReq.end();
    }
  });
}
