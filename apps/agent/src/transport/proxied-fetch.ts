// A fetch for the hub client that goes through a TcpDialer (the configured proxy): node:http(s) with
// a createConnection hook, answering with a standard Response. Covers what HubClient uses: method,
// headers, a string body, AbortSignal, and `redirect: 'error' | 'manual'` (redirects are never followed).
import http from 'node:http';
import https from 'node:https';
import type { FetchLike } from '../hub/hub-client.js';
import { connectionFactory, type TcpDialer } from './proxy-dialer.js';

export function createProxiedFetch(dialer: TcpDialer, tls: { ca?: string | Buffer } = {}): FetchLike {
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(String(input));
      const secure = url.protocol === 'https:';
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, key) => (headers[key] = value));
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
        res.once('end', () => {
          const out = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (v === undefined) continue;
            for (const one of Array.isArray(v) ? v : [v]) out.append(k, one);
          }
          const noBody = status === 204 || status === 304 || init.method === 'HEAD';
          resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers: out }));
        });
      });
      request.end(body);
    });
}
