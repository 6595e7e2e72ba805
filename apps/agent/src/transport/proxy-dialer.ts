// Outbound TCP for the agent, direct or through the configured proxy: SOCKS5 / SOCKS4a CONNECT (the
// `socks` package; the hub's host name is resolved by the proxy, so a site without DNS works) or HTTP
// CONNECT. `connectionFactory` adapts a dialer to node:http's / ws's `createConnection` hook, adding
// TLS (with SNI) for https: and wss: so the proxy only ever sees an opaque tunnel.
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { httpConnect } from '@porthole/datagram-transport';
import type { ProxySettings } from './network-settings.js';

export type TcpDialer = (host: string, port: number) => Promise<Socket>;

export const DIAL_TIMEOUT_MS = 15_000;

function direct(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host, port });
    const timer = setTimeout(() => s.destroy(new Error(`connect to ${host}:${port} timed out`)), timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export function createTcpDialer(proxy: ProxySettings | null | undefined, timeoutMs = DIAL_TIMEOUT_MS): TcpDialer {
  if (!proxy) return (host, port) => direct(host, port, timeoutMs);
  if (proxy.kind === 'http') {
    return (host, port) =>
      httpConnect({
        proxyHost: proxy.host,
        proxyPort: proxy.port,
        host,
        port,
        timeoutMs,
        ...(proxy.username !== undefined ? { username: proxy.username, password: proxy.password ?? '' } : {}),
      });
  }
  return async (host, port) => {
    // Loaded on first use: most agents have no SOCKS proxy, and an idle agent keeps what it loads.
    const { SocksClient } = await import('socks');
    const { socket } = await SocksClient.createConnection({
      proxy: {
        host: proxy.host,
        port: proxy.port,
        type: proxy.kind === 'socks5' ? 5 : 4,
        ...(proxy.username !== undefined ? { userId: proxy.username } : {}),
        ...(proxy.password !== undefined ? { password: proxy.password } : {}),
      },
      command: 'connect',
      destination: { host, port },
      timeout: timeoutMs,
    });
    return socket;
  };
}

type CreateConnection = (options: Record<string, unknown>, callback: (err: Error | null, socket?: Duplex) => void) => undefined;

/**
 * A `createConnection` for http(s).request and `ws`: dials through `dialer`, then speaks TLS itself
 * for secure URLs (node's default CA store plus NODE_EXTRA_CA_CERTS, or `tls.ca` when given).
 */
export function connectionFactory(dialer: TcpDialer, secure: boolean, tls: Pick<ConnectionOptions, 'ca' | 'rejectUnauthorized'> = {}): CreateConnection {
  return (options, callback) => {
    const host = String(options.hostname ?? options.host ?? '').replace(/^\[|\]$/g, '');
    const port = Number(options.port) || (secure ? 443 : 80);
    dialer(host, port).then(
      (socket) => {
        if (!secure) return callback(null, socket);
        const servername = typeof options.servername === 'string' && options.servername ? options.servername : isIP(host) ? undefined : host;
        const wrapped = tlsConnect({
          socket,
          ...(servername ? { servername } : {}),
          ALPNProtocols: ['http/1.1'],
          ...tls,
        });
        callback(null, wrapped);
      },
      (err: Error) => callback(err),
    );
    return undefined;
  };
}
