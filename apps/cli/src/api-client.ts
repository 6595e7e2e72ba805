// A small client for the hub's admin REST API (/api/v1, bearer API tokens). Every non-2xx answer
// becomes a CliError carrying the API's own one-line message (`{ error: { code, message } }`) and
// the exit code its status maps to; network failures say which hub could not be reached and why.
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
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Validates and normalises a hub URL: http(s), no query or fragment, no trailing slash. */
export function normalizeHubUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input.includes('://') ? input : `https://${input}`);
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

/** Why a fetch failed, in words (undici hides the socket error in `cause`). */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if ((err as Error).name === 'TimeoutError') return 'no answer in time';
  if (cause?.code === 'ECONNREFUSED') return 'connection refused';
  if (cause?.code === 'ENOTFOUND') return 'host not found';
  return cause?.message ?? (err as Error).message;
}

export class ApiClient {
  readonly hub: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ApiClientOptions) {
    this.hub = options.hub;
    this.token = options.token;
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
      throw new CliError(`cannot reach the hub at ${this.hub}: ${networkReason(err)}`, EXIT.failure, { cause: err });
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
      const error = (json as { error?: { code?: unknown; message?: unknown; field?: unknown } } | undefined)?.error;
      if (error && typeof error.message === 'string') {
        throw new ApiError(res.status, typeof error.code === 'string' ? error.code : 'error', error.message);
      }
      throw new ApiError(res.status, 'http_error', `the hub answered HTTP ${res.status} ${res.statusText} to ${method} ${url.pathname} (not an API error body: is ${this.hub} a Porthole hub?)`);
    }
    if (res.status === 204 || text.length === 0) return undefined as T;
    if (json === undefined) throw new CliError(`the hub answered ${method} ${url.pathname} with something that is not JSON`);
    return json as T;
  }
}
