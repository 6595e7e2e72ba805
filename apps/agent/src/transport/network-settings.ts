// The agent's network settings: an optional egress proxy (SOCKS5 with UDP ASSOCIATE,
// SOCKS4a for TCP only, or an HTTP CONNECT proxy) and the WireGuard transport mode. Written as a
// proxy URL on the command line (`socks5://user:pass@10.0.0.1:1080`), as form fields on the page.
import { isIP } from 'node:net';
import { z } from 'zod';

export const PROXY_KINDS = ['socks5', 'socks4a', 'http'] as const;
export type ProxyKind = (typeof PROXY_KINDS)[number];

export const TRANSPORT_MODES = ['auto', 'udp', 'websocket'] as const;
/** auto: UDP first, WebSocket when no handshake gets through, back to UDP when it works again. */
export type TransportMode = (typeof TRANSPORT_MODES)[number];

const HOST_RE = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export const proxySchema = z.object({
  kind: z.enum(PROXY_KINDS),
  host: z.string().refine((h) => isIP(h) !== 0 || HOST_RE.test(h), 'a host name or IP address'),
  port: z.number().int().min(1).max(65535),
  username: z.string().max(255).optional(),
  password: z.string().max(255).optional(),
});

export type ProxySettings = z.infer<typeof proxySchema>;

export const networkSchema = z.object({
  proxy: proxySchema.nullable(),
  transport: z.enum(TRANSPORT_MODES),
});

export type NetworkSettings = z.infer<typeof networkSchema>;

export const DEFAULT_NETWORK: NetworkSettings = { proxy: null, transport: 'auto' };

/** Parses `socks5://[user[:pass]@]host:port`, `socks4a://…`, `socks4://…` (as 4a), `http://…`. */
export function parseProxyUrl(text: string): { ok: true; proxy: ProxySettings } | { ok: false; problem: string } {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return { ok: false, problem: `"${redactProxyUrl(text)}" is not a URL like socks5://10.0.0.1:1080` };
  }
  const scheme = u.protocol.slice(0, -1);
  const kind: ProxyKind | undefined = scheme === 'socks5' || scheme === 'socks5h' ? 'socks5' : scheme === 'socks4a' || scheme === 'socks4' ? 'socks4a' : scheme === 'http' ? 'http' : undefined;
  if (!kind) return { ok: false, problem: `proxy scheme "${scheme}" must be socks5, socks4a or http` };
  if ((u.pathname !== '' && u.pathname !== '/') || u.search || u.hash) return { ok: false, problem: 'the proxy URL must be scheme://host:port only' };
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port ? Number(u.port) : kind === 'http' ? 8080 : 1080;
  const candidate = {
    kind,
    host,
    port,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
  const r = proxySchema.safeParse(candidate);
  if (!r.success) return { ok: false, problem: `proxy host "${host}" must be a host name or IP address` };
  if (kind === 'socks4a' && r.data.password !== undefined) return { ok: false, problem: 'SOCKS4a has a user id but no password' };
  return { ok: true, proxy: r.data };
}

/** For display and logs: never the password. */
export function describeProxy(p: ProxySettings): string {
  const host = p.host.includes(':') ? `[${p.host}]` : p.host;
  const label = p.kind === 'socks5' ? 'SOCKS5' : p.kind === 'socks4a' ? 'SOCKS4a' : 'HTTP CONNECT';
  return `${label} proxy ${p.username ? `${p.username}@` : ''}${host}:${p.port}`;
}

/** A proxy URL with its password replaced, for error messages. */
export function redactProxyUrl(text: string): string {
  return text.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}

/**
 * The page's form → settings. A blank password keeps the current one (the page never shows it) as
 * long as the proxy's user name is unchanged. Problems name the field.
 */
export function networkFromForm(form: Record<string, string>, current: NetworkSettings): { ok: true; settings: NetworkSettings } | { ok: false; problem: string } {
  const transport = form.transport ?? 'auto';
  if (!(TRANSPORT_MODES as readonly string[]).includes(transport)) return { ok: false, problem: `Transport "${transport}" must be auto, udp or websocket.` };
  const kind = form.proxyKind ?? 'none';
  if (kind === 'none') return { ok: true, settings: { proxy: null, transport: transport as TransportMode } };
  if (!(PROXY_KINDS as readonly string[]).includes(kind)) return { ok: false, problem: `Proxy type "${kind}" must be none, socks5, socks4a or http.` };
  const host = (form.proxyHost ?? '').trim().replace(/^\[|\]$/g, '');
  const portText = (form.proxyPort ?? '').trim();
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) return { ok: false, problem: `Proxy port "${portText}" must be a number from 1 to 65535.` };
  const username = (form.proxyUsername ?? '').trim() || undefined;
  let password = form.proxyPassword ? form.proxyPassword : undefined;
  if (password === undefined && current.proxy?.password !== undefined && current.proxy.username === username) password = current.proxy.password;
  if (kind === 'socks4a') password = undefined;
  const r = proxySchema.safeParse({ kind, host, port, ...(username ? { username } : {}), ...(password !== undefined ? { password } : {}) });
  if (!r.success) {
    const field = String(r.error.issues[0]?.path[0] ?? 'proxy');
    return { ok: false, problem: field === 'host' ? `Proxy host "${host}" must be a host name or IP address.` : `Proxy ${field} is not valid.` };
  }
  if (kind === 'socks4a' && transport === 'udp') return { ok: false, problem: 'SOCKS4a cannot carry UDP: choose Automatic or WebSocket with it.' };
  return { ok: true, settings: { proxy: r.data, transport: transport as TransportMode } };
}
