// Header rewriting between visitor and device (reliability-security.md §3.3, RFC 9110 §7.6.1):
// hop-by-hop headers and every header named in Connection are removed both ways, the hub's own
// cookies and credentials never reach a device, X-Forwarded-* are set from the socket (or
// appended to a trusted proxy's), and a device's Set-Cookie is made host-only.
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { isHubAuthorization } from './hub-credentials.js';

/** Removed in both directions (RFC 9110 §7.6.1 plus the de-facto ones). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Request headers a client must never choose for the device: the hub sets them itself. */
const REQUEST_DROP = new Set([
  'host',
  'expect', // answered by the hub (100-continue) before forwarding
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-real-ip',
]);

/** Internal header prefix (spoofing guard, cf. Next.js CVE-2025-29927): always stripped from client input. */
const INTERNAL_PREFIX = 'x-porthole-';

/** Cookies that belong to the hub (device session, portal session, CSRF): a device must never see them. */
export const HUB_COOKIE_RE = /^(__host-|__secure-)?porthole[_-]/i;

/** Tokens listed in all Connection header values, lowercased. */
export function connectionTokens(raw: readonly string[]): Set<string> {
  const tokens = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    for (const t of raw[i + 1]!.split(',')) {
      const tok = t.trim().toLowerCase();
      if (tok) tokens.add(tok);
    }
  }
  return tokens;
}

/** Removes the hub's cookies from Cookie header values; returns the rest joined with "; ". */
export function stripHubCookies(values: readonly string[], namespace?: string): string {
  const kept: string[] = [];
  for (const v of values) {
    for (const part of v.split(';')) {
      const pair = part.trim();
      if (!pair) continue;
      const eq = pair.indexOf('=');
      const name = (eq < 0 ? pair : pair.slice(0, eq)).trim();
      if (HUB_COOKIE_RE.test(name)) continue;
      if (namespace === undefined) {
        kept.push(pair);
        continue;
      }
      const own = ownCookieName(name, namespace);
      if (own === null) continue;
      kept.push(own === name ? pair : `${own}${eq < 0 ? '' : pair.slice(eq)}`);
    }
  }
  return kept.join('; ');
}

/**
 * On the single device host every device shares one cookie jar, so the HttpOnly cookies a device
 * sets are stored under its serial (`an12345678~sid`, after any `__Host-`/`__Secure-` prefix) and
 * go back only to that device: another device selected later never receives them. Cookies that
 * scripts can read are left as they are (a device's own scripts read them by name, and any page on
 * the host could read them anyway).
 */
export const COOKIE_NAMESPACE_SEPARATOR = '~';
const COOKIE_PREFIX_RE = /^(__host-|__secure-)/i;

/** The name a device should see for a cookie on the single host: its own, unmarked, or null (another device's). */
export function ownCookieName(name: string, namespace: string): string | null {
  const prefix = COOKIE_PREFIX_RE.exec(name)?.[0] ?? '';
  const rest = name.slice(prefix.length);
  const sep = rest.indexOf(COOKIE_NAMESPACE_SEPARATOR);
  if (sep < 0) return name;
  if (rest.slice(0, sep) !== namespace) return null;
  return prefix + rest.slice(sep + 1);
}

/** A device's Set-Cookie on the single host: an HttpOnly cookie is stored under the device's serial. */
export function namespaceSetCookie(value: string, namespace: string): string {
  const parts = value.split(';');
  if (!parts.slice(1).some((a) => /^\s*httponly\s*$/i.test(a))) return value;
  const nameValue = parts[0]!.trimStart();
  const prefix = COOKIE_PREFIX_RE.exec(nameValue)?.[0] ?? '';
  parts[0] = `${prefix}${namespace}${COOKIE_NAMESPACE_SEPARATOR}${nameValue.slice(prefix.length)}`;
  return parts.join(';');
}

export interface ClientInfo {
  /** The visitor's address: the socket's, or the one a trusted proxy reported. */
  ip: string;
  /** The scheme the visitor used. */
  proto: 'http' | 'https';
  /** X-Forwarded-For value to send on (chain kept only behind trusted proxies). */
  forwardedFor: string;
}

/**
 * Who the client is. With `trustProxyHops` = 0 client-sent X-Forwarded-* are ignored; with N the
 * N rightmost hops are our proxies and the entry before them is the client. Unparsable values
 * fall back to the socket address rather than to "no address" (authentik CVE-2024-47070).
 */
export function clientInfo(req: IncomingMessage, trustProxyHops: number, tls: boolean): ClientInfo {
  const socketIp = normaliseIp(req.socket.remoteAddress ?? '') ?? 'unknown';
  const ownProto = tls ? 'https' : 'http';
  if (trustProxyHops <= 0) return { ip: socketIp, proto: ownProto, forwardedFor: socketIp };
  const raw = req.headersDistinct['x-forwarded-for'] ?? [];
  const chain = raw
    .join(',')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  chain.push(socketIp);
  const candidate = chain[chain.length - 1 - trustProxyHops];
  const ip = (candidate && normaliseIp(candidate)) || socketIp;
  const protoValues = (req.headersDistinct['x-forwarded-proto'] ?? []).join(',').split(',');
  const last = protoValues[protoValues.length - 1]?.trim().toLowerCase();
  const proto = last === 'https' || last === 'http' ? last : ownProto;
  // Cap the chain: a client can send an arbitrarily long list.
  const forwardedFor = chain.slice(-20).join(', ');
  return { ip, proto, forwardedFor };
}

function normaliseIp(s: string): string | undefined {
  const v = s.startsWith('::ffff:') && isIP(s.slice(7)) === 4 ? s.slice(7) : s;
  return isIP(v) ? v : undefined;
}

export interface ForwardOptions {
  /** The Host value routed on (normalised), sent as Host and X-Forwarded-Host. */
  host: string;
  client: ClientInfo;
  /**
   * Remove every Authorization header (it carried the hub's API token, or the request goes on
   * anonymously). Otherwise the device's own credentials (Basic, Digest, its own bearer tokens) pass;
   * a bearer value with the hub's token prefix is removed in any case.
   */
  dropAuthorization: boolean;
  /** Remove every cookie, the device's own included (a cross-origin request forwarded anonymously). */
  dropCookies?: boolean;
  /** On the single device host: the selected device's serial, whose namespaced cookies alone pass (ownCookieName). */
  cookieNamespace?: string | undefined;
  /** Keep Upgrade/Connection for a validated WebSocket handshake. */
  websocket?: boolean;
  /**
   * The origin the visitor used (`https://devices.example.io`), stated to the agent so that it maps
   * the device's absolute self-links to the host this visitor is on (serial or single host).
   */
  publicOrigin?: string | undefined;
}

/** The request headers to send to the device, as a flat [name, value, …] list in the client's order. */
export function requestHeadersForDevice(req: IncomingMessage, opts: ForwardOptions): string[] {
  const raw = req.rawHeaders;
  const named = connectionTokens(raw);
  const out: string[] = ['Host', opts.host];
  const cookies: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    const value = raw[i + 1]!;
    if (HOP_BY_HOP.has(lower) || REQUEST_DROP.has(lower) || named.has(lower) || lower.startsWith(INTERNAL_PREFIX)) continue;
    if (lower === 'cookie') {
      if (!opts.dropCookies) cookies.push(value);
      continue;
    }
    if (lower === 'authorization' && (opts.dropAuthorization || isHubAuthorization(value))) continue;
    out.push(name, value);
  }
  const kept = stripHubCookies(cookies, opts.cookieNamespace);
  if (kept) out.push('Cookie', kept);
  // The body's framing is re-declared by the hub: Node decoded chunked input, so say chunked again.
  if (req.headers['transfer-encoding'] !== undefined) out.push('Transfer-Encoding', 'chunked');
  if (opts.websocket) out.push('Connection', 'Upgrade', 'Upgrade', 'websocket');
  out.push('X-Forwarded-For', opts.client.forwardedFor, 'X-Forwarded-Proto', opts.client.proto, 'X-Forwarded-Host', opts.host);
  if (opts.publicOrigin) out.push('X-Porthole-Public-Origin', opts.publicOrigin);
  return out;
}

/** Removes Domain (host-only cookie) from one Set-Cookie value; undefined drops the cookie. */
export function rewriteSetCookie(value: string): string | undefined {
  const parts = value.split(';');
  const nameValue = parts[0]!.trim();
  const name = nameValue.slice(0, Math.max(0, nameValue.indexOf('='))).trim();
  // A device may not plant or overwrite the hub's own cookies, even host-only.
  if (HUB_COOKIE_RE.test(name)) return undefined;
  const attrs = parts.slice(1).filter((a) => !/^\s*domain\s*(=|$)/i.test(a));
  return [parts[0], ...attrs].join(';');
}

/** The device's response headers to send to the visitor, as a flat list. */
export function responseHeadersForVisitor(raw: readonly string[], opts: { keepUpgrade?: boolean; cookieNamespace?: string | undefined } = {}): string[] {
  const named = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (opts.keepUpgrade && (lower === 'connection' || lower === 'upgrade')) {
      out.push(name, raw[i + 1]!);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || named.has(lower) || lower.startsWith(INTERNAL_PREFIX)) continue;
    if (lower === 'set-cookie') {
      const v = rewriteSetCookie(raw[i + 1]!);
      if (v !== undefined) out.push(name, opts.cookieNamespace === undefined ? v : namespaceSetCookie(v, opts.cookieNamespace));
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  // One URL on the single host is a different resource for each selected device: a browser cache
  // must not answer device B's request with A's response (the selection travels in a cookie).
  if (opts.cookieNamespace !== undefined) out.push('Vary', 'Cookie');
  return out;
}
