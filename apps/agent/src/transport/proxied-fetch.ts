// The agent's fetch for hub API calls: node:http(s) over a TcpDialer (direct, or the configured
// proxy), answering with a small HubResponse. Not Node's own fetch: fetch, Response and Headers load
// undici and its WebAssembly HTTP parser, ~20 MB resident for an agent that makes a few calls at
// start and then idles. Covers what HubClient uses: method, headers, a string body, AbortSignal,
// and `redirect: 'error' | 'manual'` (redirects are never followed).
import http from 'node:http';
import https from 'node:https';
import type { FetchLike, HubResponse } from '../hub/hub-client.js';
import { connectionFactory, createTcpDialer, type TcpDialer } from './proxy-dialer.js';

/** Hub API calls dialled by `dialer` (default: direct TCP). */
export function createProxiedFetch(dialer: TcpDialer = createTcpDialer(null), tls: { ca?: string | Buffer } = {}): FetchLike {
  return (input, init = {}) =>
    new Promise<HubResponse>((resolve, reject) => {
      const url = new URL(String(input));
      const secure = url.protocol === 'https:';
      const headers = plainHeaders(init.headers);
      const body = typeof init.body === 'string' ? init.body : undefined;
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
      const request = (secure ? https : http).request(url, {
        method: init.method ?? 'GET',
        headers,
        // No `agent`: node:http calls createConnection only for agent-less requests (an Agent dials by itself).
        createConnection: connectionFactory(dialer, secure, tls) as never,
        ...(init.signal ? { signal: init.signal } : {}),
      });
      request.once('error', reject);
      request.once('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && init.redirect === 'error') {
          res.resume();
          return reject(new TypeError(`redirect (HTTP ${status}) refused`));
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('error', reject);
        res.once('end', () => resolve(new NodeHubResponse(status, res.headers, Buffer.concat(chunks).toString('utf8'))));
      });
      request.end(body);
    });
}

/** RequestInit's headers (a record, pairs or a Headers object) as the record node:http takes. */
function plainHeaders(init: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!init) return out;
  if (Array.isArray(init)) for (const [k, v] of init) out[k!.toLowerCase()] = v!;
  else if (typeof (init as Headers).forEach === 'function') (init as Headers).forEach((v, k) => (out[k] = v));
  else for (const [k, v] of Object.entries(init)) out[k.toLowerCase()] = v;
  return out;
}

class NodeHubResponse implements HubResponse {
  readonly headers: { get(name: string): string | null };

  constructor(
    readonly status: number,
    raw: http.IncomingHttpHeaders,
    private readonly body: string,
  ) {
    this.headers = {
      get: (name) => {
        const v = raw[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
    };
  }

  async text(): Promise<string> {
    return this.body;
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.body);
  }
}
