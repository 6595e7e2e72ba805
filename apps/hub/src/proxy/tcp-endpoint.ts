// `/.porthole/tcp?port=N` on a device host: a WebSocket whose
// binary messages are the bytes of one TCP connection to port N on the device. The device is dialled
// before the handshake completes, so a refused port (agent RST: not allow-listed) is an HTTP 502 the
// CLI can show, not a WebSocket that opens and dies. Backpressure both ways via createWebSocketStream.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { DeviceDialer, DeviceRoute, TcpPortPolicy } from './contracts.js';
import { DialTimeoutError, dialDevice } from './device-agent.js';
import type { ForwardResult } from './http-forwarder.js';
import { spliceCounting, whenIdle } from './splice.js';
import { writeRawResponse } from './status-page.js';

export const TCP_PATH = '/.porthole/tcp';

export interface TcpEndpointOptions {
  dialer: DeviceDialer;
  dialTimeoutMs: number;
  tunnelIdleMs: number;
  /** Which ports may be asked for at all; the agent enforces its own allow-list as well. */
  portPolicy?: TcpPortPolicy;
  /** Largest WebSocket message accepted from the visitor. */
  maxMessageBytes?: number;
  onTunnel?(visitor: Duplex, device: Duplex): void;
}

/** The port from `?port=N`, or undefined when missing or malformed. */
export function parseTcpPort(target: string): number | undefined {
  const q = target.indexOf('?');
  if (q < 0) return undefined;
  const value = new URLSearchParams(target.slice(q + 1)).get('port');
  if (value === null || !/^\d{1,5}$/.test(value)) return undefined;
  const port = Number(value);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/**
 * What every tunnel WebSocket (this endpoint, the SSH console) checks before the handshake: a port
 * from `?port=N`, a well-formed WebSocket handshake, and the port policy.
 */
export async function checkTunnelRequest(
  req: IncomingMessage,
  device: DeviceRoute,
  target: string,
  policy: TcpPortPolicy = () => true,
): Promise<{ port: number } | { status: 400 | 403; message: string; port?: number }> {
  const port = parseTcpPort(target);
  if (port === undefined) return { status: 400, message: 'port: give ?port=N with N from 1 to 65535' };
  const key = req.headers['sec-websocket-key'];
  if (req.headers['sec-websocket-version'] !== '13' || typeof key !== 'string' || !/^[A-Za-z0-9+/]{22}==$/.test(key)) {
    return { status: 400, message: 'invalid WebSocket handshake (version 13 and a Sec-WebSocket-Key are required)' };
  }
  let allowed = false;
  try {
    allowed = await policy(device, port);
  } catch {
    allowed = false;
  }
  return allowed ? { port } : { status: 403, message: `port ${port} is not open for forwarding on ${device.serial}`, port };
}

export function createTcpEndpoint(options: TcpEndpointOptions) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes ?? 1 << 20, perMessageDeflate: false, clientTracking: true });
  const policy: TcpPortPolicy = options.portPolicy ?? (() => true);

  /** Handles an authorised upgrade; resolves when the tunnel closes (status 101) or was refused. */
  async function handle(req: IncomingMessage, socket: Duplex, head: Buffer, device: DeviceRoute, target: string): Promise<ForwardResult & { port?: number }> {
    const refuse = (status: number, message: string, failure?: ForwardResult['failure']): ForwardResult => {
      writeRawResponse(socket, status, `${message}\n`);
      return { status, bytesIn: 0, bytesOut: 0, ...(failure ? { failure } : {}) };
    };
    const admitted = await checkTunnelRequest(req, device, target, policy);
    if ('status' in admitted) return { ...refuse(admitted.status, admitted.message), ...(admitted.port ? { port: admitted.port } : {}) };
    const { port } = admitted;

    let tcp: Duplex;
    try {
      tcp = await dialDevice(options.dialer, device, port, options.dialTimeoutMs);
    } catch (err) {
      if (err instanceof DialTimeoutError) return { ...refuse(504, `device ${device.serial} did not answer on port ${port}`, 'dial_timeout'), port };
      return { ...refuse(502, `device ${device.serial} refused the connection to port ${port} (not allow-listed or nothing listening)`, 'dial_failed'), port };
    }
    if (socket.destroyed) {
      tcp.destroy();
      return { status: 499, bytesIn: 0, bytesOut: 0, failure: 'client_aborted', port };
    }

    return new Promise((resolve) => {
      const bytes = { bytesIn: 0, bytesOut: 0 };
      let opened = false;
      // ws destroys the socket without calling back when the handshake cannot complete.
      socket.once('close', () => {
        if (opened) return;
        tcp.destroy();
        resolve({ status: 499, bytesIn: 0, bytesOut: 0, failure: 'client_aborted', port });
      });
      wss.handleUpgrade(req, socket, head, (ws) => {
        opened = true;
        const stream = createWebSocketStream(ws);
        const closeBoth = () => {
          stream.destroy();
          tcp.destroy();
        };
        stream.on('error', closeBoth);
        tcp.on('error', closeBoth);
        stream.on('close', closeBoth);
        tcp.on('close', () => {
          // Half-close semantics do not exist in WebSocket: end the stream (close frame 1000).
          if (ws.readyState === ws.OPEN) ws.close(1000, 'device closed the connection');
          stream.destroy();
        });
        whenIdle(tcp, options.tunnelIdleMs, () => {
          ws.close(1001, 'idle');
          tcp.destroy();
        });
        spliceCounting(stream, tcp, bytes);
        options.onTunnel?.(socket, tcp);
        ws.once('close', () => {
          tcp.destroy();
          resolve({ status: 101, ...bytes, port });
        });
      });
    });
  }

  return {
    handle,
    /** Closes open tunnels with 1001 (going away), for shutdown. */
    closeAll(): void {
      for (const ws of wss.clients) ws.close(1001, 'hub shutting down');
    },
    get openCount(): number {
      return wss.clients.size;
    },
  };
}

export type TcpEndpoint = ReturnType<typeof createTcpEndpoint>;
