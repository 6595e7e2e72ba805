// One HTTP request to a server on loopback under a name: to 127.0.0.1:<port> with `Host: <host>:<port>`
// (a device host, the portal), the whole answer collected.
import http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export interface HostRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** How long the answer may take (default 30 s). */
  timeoutMs?: number;
}

export function hostRequest(port: number, host: string, path: string, init: HostRequestInit = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: { host: `${host}:${port}`, ...init.headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode!, headers: res.headers, body, text: body.toString() });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(init.timeoutMs ?? 30_000, () => req.destroy(new Error(`no answer from ${host}${path}`)));
    req.on('error', reject);
    req.end(init.body);
  });
}
