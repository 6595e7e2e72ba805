// Loopback servers for tests: a hono app or a node handler on 127.0.0.1 with a random port, and a
// plain "device web UI" that echoes what it received (to check Host rewriting and forwarding).
import { serve } from '@hono/node-server';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Hono } from 'hono';

export interface Running {
  url: string;
  port: number;
  close(): Promise<void>;
}

export function serveApp(app: Hono): Promise<Running> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        port: info.port,
        close: () =>
          new Promise((r) => {
            (server as Server).closeAllConnections?.();
            server.close(() => r());
          }),
      });
    });
  });
}

export function serveHandler(handler: (req: IncomingMessage, res: ServerResponse) => void, server: Server = createServer()): Promise<Running> {
  server.on('request', handler);
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

/** Sends one HTTP/1.1 request over an existing socket and returns the raw response text. */
export function rawHttp(socket: import('node:net').Socket, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => (data += d));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.write(request);
  });
}

/** Resolves when `pred()` holds, checking after each turn of the event loop; rejects after `ms`. */
export async function until(pred: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** One HTTP request over an existing socket with node's client (decodes chunked bodies). */
export function httpOver(
  socket: import('node:net').Socket,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: import('node:http').IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    import('node:http').then(({ request }) => {
      const req = request({ createConnection: () => socket, path, headers: { host: 'an12345678.example.io', ...headers } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    }, reject);
  });
}
