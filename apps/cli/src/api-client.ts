// A small client for the hub's admin REST API (/api/v1, bearer API tokens). Every non-2xx answer
// becomes a CliError carrying the API's own one-line message (`{ error: { code, message } }`) and
// the exit code its status maps to; network failures say which hub could not be reached and why.
import { ErrorSchema } from '@porthole/api-contract';
import { CliError, EXIT, exitCodeForStatus } from './errors.js';

export type Query = Record<string, string | number | boolean | undefined>;

export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message, exitCodeForStatus(status));
    this.name = 'ApiError';
  }
}

export interface ApiClientOptions {
  /** Portal base URL, e.g. https://portal.example.io (no trailing slash). */
  hub: string;
  token: string;
  /** Sent as X-Porthole-Organization: the hub narrows the caller to this organisation (id or name). */
  organization?: string | undefined;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * True for names that can only mean this machine: `localhost`, `*.localhost` (RFC 6761), 127/8 and
 * ::1. A hub there is a developer's or the demo's, which serve plain HTTP.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(h) || h === '::1';
}

/** The scheme assumed for a hub given without one: http:// on loopback, https:// anywhere else. */
function withScheme(input: string): string {
  if (input.includes('://')) return input;
  const host = /^(\[[^\]]*\]|[^:/?#]*)/.exec(input)?.[1] ?? '';
  return `${isLoopbackHost(host) ? 'http' : 'https'}://${input}`;
}

/** Validates and normalises a hub URL: http(s), no query or fragment, no trailing slash. */
export function normalizeHubUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(withScheme(input));
  } catch {
    throw new CliError(`--hub ${JSON.stringify(input)} is not a URL; give one such as https://portal.example.io`, EXIT.usage);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`--hub must be an http:// or https:// URL, not ${url.protocol}`, EXIT.usage);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new CliError('--hub must not contain credentials, a query or a fragment', EXIT.usage);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** OpenSSL and Node codes of certificates Node does not trust. */
const UNTRUSTED_CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);

/**
 * Why a connection to `url` failed, as a sentence (fetch and ws hide the socket or TLS error in
 * `cause`; OpenSSL's own text, "ssl3_get_record:wrong version number", helps nobody).
 */
export function networkReason(err: unknown, url: URL): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'no answer in time';
  const code = e.cause?.code ?? e.code;
  const message = e.cause?.message ?? e.message ?? String(err);
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host ${url.hostname} not found`;
  if (code === 'ECONNRESET') return 'the connection was closed by the other side';
  const https = url.protocol === 'https:' || url.protocol === 'wss:';
  if (https && (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || /wrong version number|packet length too long/.test(message))) {
    return `it does not answer HTTPS on port ${url.port || 443} (a plain-HTTP hub? then use --hub http://${url.host})`;
  }
  if (code && UNTRUSTED_CERT_CODES.has(code)) {
    return "its TLS certificate is not trusted here (self-signed or from a private CA); give that CA to the CLI with NODE_EXTRA_CA_CERTS=/path/to/ca.pem";
  }
  if (code === 'CERT_HAS_EXPIRED') return 'its TLS certificate has expired';
  if (code === 'CERT_NOT_YET_VALID') return 'its TLS certificate is not valid yet (check the clocks)';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `its TLS certificate is not for ${url.hostname}`;
  if (code?.startsWith('ERR_SSL_') || code?.startsWith('ERR_TLS_') || code === 'EPROTO') return `the TLS handshake failed (${code})`;
  return message;
}

export class ApiClient {
  readonly hub: string;
  private readonly token: string;
  private readonly organization: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ApiClientOptions) {
    this.hub = options.hub;
    this.token = options.token;
    this.organization = options.organization;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query });
  }
  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, { body });
  }
  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body });
  }
  delete<T = undefined>(path: string): Promise<T> {
    return this.request<T>('DELETE', path, {});
  }

  async request<T>(method: string, path: string, init: { query?: Query | undefined; body?: unknown }): Promise<T> {
    const url = new URL(`${this.hub}/api/v1${path}`);
    for (const [k, v] of Object.entries(init.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (this.organization !== undefined) headers['x-porthole-organization'] = this.organization;
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
        // Never follow: a redirect to another origin would drop (or worse, carry) the token.
        redirect: 'manual',
      });
    } catch (err) {
      throw new CliError(`cannot reach the hub at ${this.hub}: ${networkReason(err, url)}`, EXIT.failure, { cause: err });
    }
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get('location');
      const to = location ? new URL(location, url) : undefined;
      throw new CliError(
        to ? `the hub at ${this.hub} redirects to ${to.origin}; use --hub ${to.origin}` : `the hub answered ${method} ${url.pathname} with a redirect (HTTP ${res.status})`,
      );
    }
    const text = await res.text();
    let json: unknown;
    if (text.length > 0) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    if (!res.ok) {
      const body = ErrorSchema.safeParse(json);
      if (body.success) throw new ApiError(res.status, body.data.error.code, body.data.error.message);
      throw new ApiError(res.status, 'http_error', `the hub answered HTTP ${res.status} ${res.statusText} to ${method} ${url.pathname} (not an API error body: is ${this.hub} a Porthole hub?)`);
    }
    if (res.status === 204 || text.length === 0) return undefined as T;
    if (json === undefined) throw new CliError(`the hub answered ${method} ${url.pathname} with something that is not JSON`);
    return json as T;
  }
}
