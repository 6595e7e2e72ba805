// The pages the hub itself answers on device and unknown hosts: unknown host (404), device disabled
// (403), offline or unreachable (502/504), refused requests (400…). Small static HTML with no
// scripts, never cached, never frameable; the same page text for every unknown serial.
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { ago, formatTime } from '../portal/format.js';

export interface StatusPage {
  status: number;
  title: string;
  /** One or two sentences for the visitor: what happened and what to do. */
  message: string;
  serial?: string;
  /** Shown as "last seen"; only for visitors allowed to know the device. */
  lastSeenAt?: Date | null;
  requestId?: string;
  /** The clock "last seen … ago" is counted from (default: now). */
  now?: Date;
  /** Extra headers, e.g. Retry-After or Location. */
  headers?: Record<string, string>;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** "3 h ago, 2030-01-01 09:15 UTC" for people; the exact instant for machines and tooltips. */
function lastSeen(at: Date, now: Date): string {
  const iso = at.toISOString();
  return `<time datetime="${iso}" title="${formatTime(at, true)}">${escapeHtml(`${ago(at, now)}, ${formatTime(at)}`)}</time>`;
}

export function renderStatusPage(page: StatusPage): string {
  const rows: string[] = [];
  if (page.serial) rows.push(`<dt>Device</dt><dd>${escapeHtml(page.serial)}</dd>`);
  if (page.lastSeenAt !== undefined) {
    rows.push(`<dt>Last seen</dt><dd>${page.lastSeenAt ? lastSeen(page.lastSeenAt, page.now ?? new Date()) : 'never'}</dd>`);
  }
  if (page.requestId) rows.push(`<dt>Request</dt><dd>${escapeHtml(page.requestId)}</dd>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${page.status} ${escapeHtml(page.title)} · Porthole</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}dl{display:grid;grid-template-columns:max-content auto;gap:.25rem 1rem;color:#555}dd{margin:0}</style>
</head><body><h1>${escapeHtml(page.title)}</h1><p>${escapeHtml(page.message)}</p>
${rows.length ? `<dl>${rows.join('')}</dl>` : ''}<p><small>Porthole · HTTP ${page.status}</small></p></body></html>
`;
}

/** Answers a normal request with the page (HEAD gets headers only). */
export function sendStatusPage(res: ServerResponse, page: StatusPage, method = 'GET'): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = renderStatusPage(page);
  res.writeHead(page.status, { ...PAGE_HEADERS, 'content-length': Buffer.byteLength(body), ...page.headers });
  res.end(method === 'HEAD' ? undefined : body);
}

/** Writes a complete response on a raw socket (refused upgrades, parser errors) and closes it. */
export function writeRawResponse(socket: Duplex, status: number, body: string, headers: Record<string, string> = {}): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const all: Record<string, string | number> = {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  };
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`, ...Object.entries(all).map(([k, v]) => `${k}: ${v}`)];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  closeAfterResponse(socket);
}

/**
 * After a final response on a raw socket: read and discard whatever the client still sends so its
 * FIN is seen (server sockets are half-open capable), and destroy it if the client never closes.
 */
export function closeAfterResponse(socket: Duplex, lingerMs = 5_000): void {
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), lingerMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', () => socket.destroy());
}

/** A raw-socket version of the status page, for upgrade requests. */
export function writeRawStatusPage(socket: Duplex, page: StatusPage): void {
  writeRawResponse(socket, page.status, renderStatusPage(page), { ...PAGE_HEADERS, ...page.headers });
}
