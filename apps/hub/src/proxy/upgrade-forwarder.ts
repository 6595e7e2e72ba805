// WebSocket passthrough (reliability-security.md §3.4, RFC 6455 §4, RFC 9931): the handshake is
// re-serialised to the device; raw byte piping starts only after the device answers 101 with
// `Upgrade: websocket`; bytes the visitor sent before that are held, and any other answer (426,
// 403…) is relayed as a plain response and the connection closed: no tunnel without a real 101.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { DialTimeoutError, asSocketLike, dialDevice } from './device-agent.js';
import type { DeviceDialer } from './contracts.js';
import { requestHeadersForDevice, responseHeadersForVisitor } from './forward-headers.js';
import { spliceCounting, whenIdle } from './splice.js';
import { closeAfterResponse, writeRawStatusPage } from './status-page.js';
import type { ForwardResult, RoutedRequest } from './http-forwarder.js';

export interface UpgradeRequest extends RoutedRequest {
  socket: Duplex;
  head: Buffer;
}

export interface UpgradeOptions {
  dialer: DeviceDialer;
  devicePort: number;
  dialTimeoutMs: number;
  responseTimeoutMs: number;
  /** An open WebSocket with no traffic either way for this long is closed. */
  tunnelIdleMs: number;
  maxResponseHeaderBytes: number;
  /** Called with both sockets once piping starts, so shutdown can close them. */
  onTunnel?(visitor: Duplex, device: Duplex): void;
}

export function serializeHead(status: number, message: string, headers: readonly string[]): string {
  const lines = [`HTTP/1.1 ${status} ${message}`];
  for (let i = 0; i < headers.length; i += 2) lines.push(`${headers[i]}: ${headers[i + 1]}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Resolves when the exchange or the tunnel is over; never rejects. */
export function forwardUpgrade(u: UpgradeRequest, opts: UpgradeOptions): Promise<ForwardResult> {
  const { socket } = u;
  return new Promise((resolve) => {
    const bytes = { bytesIn: 0, bytesOut: 0 };
    let status = 502;
    let settled = false;
    let deviceSocket: Duplex | undefined;
    const finish = (failure?: ForwardResult['failure']) => {
      if (settled) return;
      settled = true;
      clearTimeout(responseTimer);
      resolve({ status, ...bytes, ...(failure ? { failure } : {}) });
    };
    const page = (s: number, title: string, message: string) => {
      status = s;
      writeRawStatusPage(socket, { status: s, title, message, serial: u.device.serial, lastSeenAt: u.device.lastSeenAt, requestId: u.requestId });
    };
    const responseTimer = setTimeout(() => {
      deviceSocket?.destroy();
      page(504, 'Device too slow', 'The device did not answer the WebSocket handshake in time.');
      finish('response_timeout');
    }, opts.responseTimeoutMs);

    socket.pause();
    socket.once('close', () => {
      deviceSocket?.destroy();
      if (status === 101) return finish();
      if (status === 502 && !settled) status = 499;
      finish('client_aborted');
    });
    socket.on('error', () => socket.destroy());

    dialDevice(opts.dialer, u.device, opts.devicePort, opts.dialTimeoutMs).then(
      (dialed) => {
        deviceSocket = asSocketLike(dialed);
        if (settled || socket.destroyed) {
          deviceSocket.destroy();
          return;
        }
        const proxyReq = http.request({
          // No agent: with `agent: false` node:http would build one and ignore createConnection.
          createConnection: () => deviceSocket as never,
          method: 'GET',
          path: u.target,
          headers: requestHeadersForDevice(u.req, { host: u.host, client: u.client, dropAuthorization: u.credentials.dropAuthorization, dropCookies: u.credentials.dropCookies, cookieNamespace: u.credentials.cookieNamespace, publicOrigin: u.credentials.publicOrigin, websocket: true }) as unknown as http.OutgoingHttpHeaders,
          setHost: false,
          maxHeaderSize: opts.maxResponseHeaderBytes,
        });
        proxyReq.on('error', () => {
          if (settled) return;
          page(502, 'Bad answer from device', 'The device closed the connection during the WebSocket handshake.');
          finish('device_error');
        });
        proxyReq.on('response', (res) => {
          // Not switching protocols: relay the answer as plain HTTP, then close (no tunnel).
          clearTimeout(responseTimer);
          status = res.statusCode ?? 502;
          const headers = responseHeadersForVisitor(res.rawHeaders, { cookieNamespace: u.credentials.cookieNamespace });
          socket.write(serializeHead(status, res.statusMessage ?? '', [...headers, 'Connection', 'close']));
          res.on('data', (c: Buffer) => {
            bytes.bytesOut += c.length;
          });
          res.pipe(socket);
          closeAfterResponse(socket);
          // This connection was opened for the upgrade only: never reuse it after a refusal.
          res.on('end', () => {
            deviceSocket?.destroy();
            finish();
          });
          res.on('error', () => {
            socket.destroy();
            finish('device_error');
          });
        });
        proxyReq.on('upgrade', (res, devSock, devHead) => {
          clearTimeout(responseTimer);
          const upgrade = String(res.headers.upgrade ?? '').trim().toLowerCase();
          if (res.statusCode !== 101 || upgrade !== 'websocket') {
            devSock.destroy();
            page(502, 'Bad answer from device', 'The device switched to a protocol other than WebSocket.');
            finish('device_error');
            return;
          }
          status = 101;
          socket.write(serializeHead(101, 'Switching Protocols', responseHeadersForVisitor(res.rawHeaders, { keepUpgrade: true, cookieNamespace: u.credentials.cookieNamespace })));
          if (devHead.length > 0) {
            bytes.bytesOut += devHead.length;
            socket.write(devHead);
          }
          // Bytes the visitor sent with the handshake go on only now, after the 101 (RFC 9931).
          if (u.head.length > 0) {
            bytes.bytesIn += u.head.length;
            devSock.write(u.head);
          }
          const closeBoth = () => {
            socket.destroy();
            devSock.destroy();
          };
          for (const s of [socket, devSock]) {
            s.on('error', closeBoth);
            s.on('close', closeBoth);
            whenIdle(s, opts.tunnelIdleMs, closeBoth);
          }
          spliceCounting(socket, devSock, bytes);
          socket.resume();
          opts.onTunnel?.(socket, devSock);
          devSock.once('close', () => finish());
        });
        proxyReq.end();
      },
      (err: Error) => {
        if (settled) return;
        if (err instanceof DialTimeoutError) {
          page(504, 'Device not answering', 'The device did not accept a connection in time.');
          finish('dial_timeout');
        } else {
          page(502, 'Device unreachable', "The device's remote-access agent refused the connection or the tunnel is down.");
          finish('dial_failed');
        }
      },
    );
  });
}
