// Request-smuggling checks Node's parser does not make on its own (reliability-security.md §3.1,
// verified on Node 20.20): two Host headers, an absolute-form target naming another host (frp
// CVE-2026-40910 pattern), `Upgrade: h2c` (h2c smuggling), transfer codings other than chunked, and
// two Authorization headers (Node keeps the first; the proxy must judge exactly what it forwards).
// Conflicting Content-Length / Transfer-Encoding are already refused by llhttp (400) before this.
import type { IncomingMessage } from 'node:http';
import { parseHostHeader } from './host-router.js';

export type GuardResult =
  | { ok: true; /** origin-form target to forward: path and query */ target: string }
  | { ok: false; status: number; reason: string; message: string };

function refuse(status: number, reason: string, message: string): GuardResult {
  return { ok: false, status, reason, message };
}

/** Checks one request (normal or upgrade) before routing. Never throws. */
export function guardRequest(req: IncomingMessage): GuardResult {
  const raw = req.rawHeaders;
  let hosts = 0;
  let authorizations = 0;
  let contentLength = false;
  let transferEncoding: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'host') hosts++;
    else if (name === 'authorization') authorizations++;
    else if (name === 'content-length') contentLength = true;
    else if (name === 'transfer-encoding') transferEncoding = transferEncoding === undefined ? raw[i + 1]! : `${transferEncoding}, ${raw[i + 1]!}`;
    else if (name === 'http2-settings') return refuse(400, 'h2c', 'HTTP/2 cleartext upgrade is not supported');
    else if (name === 'upgrade' && /(^|,)\s*h2c\s*(,|$)/i.test(raw[i + 1]!)) {
      return refuse(400, 'h2c', 'HTTP/2 cleartext upgrade is not supported');
    }
  }
  if (hosts !== 1) return refuse(400, 'host_header', hosts === 0 ? 'missing Host header' : 'more than one Host header');
  if (authorizations > 1) return refuse(400, 'authorization_header', 'more than one Authorization header');
  if (transferEncoding !== undefined) {
    if (contentLength) return refuse(400, 'smuggling', 'both Content-Length and Transfer-Encoding');
    if (transferEncoding.trim().toLowerCase() !== 'chunked') {
      return refuse(400, 'smuggling', 'only "Transfer-Encoding: chunked" is accepted');
    }
  }

  const url = req.url ?? '';
  if (url.startsWith('/')) return { ok: true, target: url };
  if (url === '*') return refuse(400, 'request_target', 'asterisk-form request target is not forwarded');
  if (/^https?:\/\//i.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return refuse(400, 'request_target', 'malformed absolute request target');
    }
    const host = parseHostHeader(req.headers.host);
    const port = parsed.port === '' ? undefined : parsed.port;
    if (!host || parsed.username || parsed.password || parsed.hostname.toLowerCase().replace(/\.$/, '') !== host.host || port !== host.port) {
      return refuse(400, 'absolute_form', 'the request target names a different host than the Host header');
    }
    return { ok: true, target: `${parsed.pathname}${parsed.search}` };
  }
  return refuse(400, 'request_target', 'unsupported request target');
}

/** Whether an 'upgrade' request is a WebSocket handshake we may pass on (RFC 6455 §4.1). */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  if (req.method !== 'GET') return false;
  const upgrade = (req.headers.upgrade ?? '').split(',').map((s) => s.trim().toLowerCase());
  const connection = (req.headers.connection ?? '').split(',').map((s) => s.trim().toLowerCase());
  return upgrade.length === 1 && upgrade[0] === 'websocket' && connection.includes('upgrade');
}
