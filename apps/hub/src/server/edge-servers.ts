// The hub's public node:http servers as the edge needs them: parser limits and timeouts, the idle
// timeout, connection admission, answers to what Node's parser refuses, and refusals of CONNECT and
// of expectations other than 100-continue. hub-http.ts routes what these servers accept.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HubConfig } from '../config/config-schema.js';
import type { HubMetrics } from '../ops/hub-metrics.js';
import type { Logger } from '../ops/logger.js';
import { sendStatusPage, writeRawResponse } from '../proxy/status-page.js';
import type { ConnectionTracker } from './connection-tracker.js';

/** The parser's and timers' limits, the same on the HTTP and HTTPS servers. */
export function edgeServerOptions(config: Pick<HubConfig, 'maxHeaderBytes' | 'headersTimeoutMs'>): http.ServerOptions {
  return {
    maxHeaderSize: config.maxHeaderBytes,
    headersTimeout: config.headersTimeoutMs,
    // Uploads may legitimately take longer than any total deadline: idle timeouts guard them instead.
    requestTimeout: 0,
    keepAliveTimeout: 5_000,
    connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(config.headersTimeoutMs / 4))),
    requireHostHeader: true,
    joinDuplicateHeaders: false,
    insecureHTTPParser: false,
  };
}

/** What the edge servers need to be wired: the hub's handlers and its admission of connections. */
export interface EdgeServerDeps {
  idleTimeoutMs: number;
  tracker: ConnectionTracker;
  metrics: HubMetrics;
  logger: Logger;
  onRequest(req: http.IncomingMessage, res: http.ServerResponse, expectContinue: boolean): void;
  onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
}

/** Wires a public HTTP or HTTPS server: limits, idle timeout, connection admission, refusals of what the hub never serves. */
export function setupEdgeServer<S extends http.Server>(server: S, d: EdgeServerDeps): S {
  server.maxHeadersCount = 100;
  // A client may shut down its write side once its request is sent; Node would then abort the
  // request and end the socket before the answer (from the device, later) could be written.
  Object.assign(server, { httpAllowHalfOpen: true });
  server.setTimeout(d.idleTimeoutMs, (socket) => {
    d.metrics.drops.inc({ reason: 'idle_timeout' });
    socket.destroy();
  });
  server.on('connection', (socket) => {
    if (!d.tracker.admit(socket)) {
      d.metrics.drops.inc({ reason: 'connection_limit' });
      socket.destroy();
    }
  });
  server.on('request', (req, res) => d.onRequest(req, res, false));
  server.on('checkContinue', (req, res) => d.onRequest(req, res, true));
  server.on('checkExpectation', (req, res) => {
    // Node's default 417 keeps the connection open with the body still unread; close instead.
    d.metrics.drops.inc({ reason: 'expectation' });
    res.shouldKeepAlive = false;
    sendStatusPage(res, { status: 417, title: 'Expectation failed', message: 'Only "Expect: 100-continue" is supported.' }, req.method);
  });
  server.on('upgrade', (req, socket, head) => d.onUpgrade(req, socket, head));
  server.on('connect', (_req, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    d.metrics.drops.inc({ reason: 'connect_method' });
    writeRawResponse(socket, 405, 'CONNECT is not supported\n');
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerClientError(err, socket, d.metrics, d.logger));
  return server;
}

/** Node's parser refused the bytes: a plain answer (or none), counted by reason. */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, metrics: HubMetrics, logger: Logger): void {
  const code = err.code ?? '';
  let status = 400;
  let reason = 'bad_request';
  if (code === 'HPE_HEADER_OVERFLOW') [status, reason] = [431, 'header_overflow'];
  else if (code === 'ERR_HTTP_REQUEST_TIMEOUT') [status, reason] = [408, 'headers_timeout'];
  else if (code === 'HPE_UNEXPECTED_CONTENT_LENGTH' || code === 'HPE_INVALID_TRANSFER_ENCODING' || code === 'HPE_INVALID_CONTENT_LENGTH') reason = 'smuggling';
  else if (code === 'ECONNRESET' || code === 'EPIPE') {
    socket.destroy();
    return;
  }
  metrics.drops.inc({ reason });
  logger.debug('client error', { code, reason });
  const msg = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && (!msg || !msg.headersSent)) writeRawResponse(socket, status, `${http.STATUS_CODES[status]}\n`);
  else socket.destroy();
}

export function listenOn(server: http.Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
