// An HTTP CONNECT tunnel client (RFC 9110 §9.3.6): opens a TCP connection to a forward proxy, asks it
// for a tunnel to host:port (optional Basic credentials, RFC 7617) and hands back the socket once the
// proxy answered 2xx. Bytes the proxy sent after its response header belong to the tunnel.
import { connect, type Socket } from 'node:net';

export interface HttpConnectOptions {
  proxyHost: string;
  proxyPort: number;
  /** The tunnel's far end. */
  host: string;
  port: number;
  username?: string;
  password?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The proxy refused (non-2xx) or answered something that is not HTTP. */
export class HttpConnectError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'HttpConnectError';
  }
}

const MAX_RESPONSE_HEADER_BYTES = 8192;

/** `host:port` as a CONNECT authority (IPv6 in brackets). */
export function connectAuthority(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The request bytes, without a body (CONNECT has none). */
export function formatConnectRequest(options: Pick<HttpConnectOptions, 'host' | 'port' | 'username' | 'password'>): string {
  const authority = connectAuthority(options.host, options.port);
  const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
  if (options.username !== undefined) {
    const token = Buffer.from(`${options.username}:${options.password ?? ''}`, 'utf8').toString('base64');
    lines.push(`Proxy-Authorization: Basic ${token}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** The status code of a CONNECT response head (`HTTP/1.x NNN reason`), or undefined when it is not one. */
export function parseConnectStatus(head: string): number | undefined {
  const m = /^HTTP\/1\.[01] (\d{3})(?: [^\r\n]*)?\r\n/.exec(head);
  return m ? Number(m[1]) : undefined;
}

export function httpConnect(options: HttpConnectOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: options.proxyHost, port: options.proxyPort });
    let buffered = Buffer.alloc(0);
    let settled = false;
    const timer = setTimeout(() => fail(new HttpConnectError(`proxy ${options.proxyHost}:${options.proxyPort} did not answer CONNECT in time`)), options.timeoutMs ?? 15_000);
    const onAbort = () => fail(new HttpConnectError('CONNECT aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });

    function done(): void {
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.off('readable', onReadable);
      socket.off('error', fail);
      socket.off('close', onClose);
    }
    function fail(err: Error): void {
      if (settled) return;
      done();
      socket.destroy();
      reject(err);
    }
    function onClose(): void {
      fail(new HttpConnectError(`proxy ${options.proxyHost}:${options.proxyPort} closed the connection during CONNECT`));
    }
    // read() in paused mode, never a 'data' listener: the socket must reach the caller as a fresh
    // stream (flowing mode not yet chosen), or tunnel bytes arriving before its listener are lost.
    function onReadable(): void {
      let chunk: Buffer | null;
      while (!settled && (chunk = socket.read() as Buffer | null) !== null) onData(chunk);
    }
    function onData(chunk: Buffer): void {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buffered.length > MAX_RESPONSE_HEADER_BYTES) fail(new HttpConnectError('proxy response header too large'));
        return;
      }
      const head = buffered.subarray(0, end + 2).toString('latin1');
      const status = parseConnectStatus(head);
      if (status === undefined) return fail(new HttpConnectError('proxy answered CONNECT with something that is not HTTP/1.x'));
      if (status < 200 || status > 299) {
        return fail(new HttpConnectError(`proxy refused CONNECT to ${connectAuthority(options.host, options.port)}: HTTP ${status}`, status));
      }
      done();
      const rest = buffered.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    }
    socket.on('readable', onReadable);
    socket.on('error', fail);
    socket.on('close', onClose);
    socket.once('connect', () => socket.write(formatConnectRequest(options)));
  });
}
