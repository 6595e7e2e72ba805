// The SSH terminal's server end (`/.porthole/ssh?port=N`, WebSocket): the hub is the SSH client
// (ssh2), over a TCP connection to the device's port through the overlay. The visitor's credentials
// arrive in the first WebSocket message, are handed to ssh2 for the authentication and dropped once
// it ends; they are never stored or logged. The host key's SHA-256 fingerprint is shown in the
// terminal. Terminal bytes are binary messages both ways; resize and status are JSON text messages.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Client, type AuthenticationType, type ClientChannel } from 'ssh2';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { z } from 'zod';
import type { Logger } from '../../ops/logger.js';
import type { DeviceDialer, DeviceRoute, TcpPortPolicy } from '../contracts.js';
import { DialTimeoutError, dialDevice } from '../device-agent.js';
import type { ForwardResult } from '../http-forwarder.js';
import { writeRawResponse } from '../status-page.js';
import { checkTunnelRequest } from '../tcp-endpoint.js';

export const SSH_PATH = '/.porthole/ssh';

const authMessage = z.object({
  type: z.literal('auth'),
  username: z.string().min(1).max(256),
  password: z.string().max(1024).optional(),
  privateKey: z.string().max(32 * 1024).optional(),
  passphrase: z.string().max(1024).optional(),
  cols: z.number().int().min(10).max(1000).optional(),
  rows: z.number().int().min(2).max(500).optional(),
});
const resizeMessage = z.object({ type: z.literal('resize'), cols: z.number().int().min(10).max(1000), rows: z.number().int().min(2).max(500) });

export interface SshBridgeOptions {
  dialer: DeviceDialer;
  dialTimeoutMs: number;
  tunnelIdleMs: number;
  portPolicy?: TcpPortPolicy;
  /** How long the page has to send its sign-in message, and ssh2 to finish the handshake. */
  loginTimeoutMs?: number;
  onTunnel?(visitor: Duplex, device: Duplex): void;
  logger?: Logger;
}

type Credentials = z.infer<typeof authMessage>;

function send(ws: WebSocket, msg: Record<string, unknown>): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
}

/** The authentication methods to try, in order, from what the visitor gave. */
function methodsFrom(c: Credentials): AuthenticationType[] {
  const out: AuthenticationType[] = [];
  if (c.privateKey?.trim()) out.push('publickey');
  if (c.password) out.push('password', 'keyboard-interactive');
  return out;
}

export function createSshBridge(options: SshBridgeOptions) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, perMessageDeflate: false, clientTracking: true });
  const loginTimeoutMs = options.loginTimeoutMs ?? 120_000;
  const log = options.logger?.child({ component: 'ssh-console' });

  async function handle(req: IncomingMessage, socket: Duplex, head: Buffer, device: DeviceRoute, target: string): Promise<ForwardResult & { port?: number }> {
    const refuse = (status: number, message: string): ForwardResult => {
      writeRawResponse(socket, status, `${message}\n`);
      return { status, bytesIn: 0, bytesOut: 0 };
    };
    const admitted = await checkTunnelRequest(req, device, target, options.portPolicy);
    if ('status' in admitted) return { ...refuse(admitted.status, admitted.message), ...(admitted.port ? { port: admitted.port } : {}) };
    const { port } = admitted;

    return new Promise((resolve) => {
      let opened = false;
      socket.once('close', () => {
        if (!opened) resolve({ status: 499, bytesIn: 0, bytesOut: 0, failure: 'client_aborted', port });
      });
      wss.handleUpgrade(req, socket, head, (ws) => {
        opened = true;
        let bytesIn = 0;
        let bytesOut = 0;
        let tcp: Duplex | undefined;
        let shell: ClientChannel | undefined;
        const client = new Client();
        let finished = false;
        const finish = (failure?: ForwardResult['failure']) => {
          if (finished) return;
          finished = true;
          clearTimeout(loginTimer);
          client.end();
          tcp?.destroy();
          if (ws.readyState === ws.OPEN) ws.close(1000, 'ssh session ended');
          resolve({ status: 101, bytesIn, bytesOut, port, ...(failure ? { failure } : {}) });
        };
        const fail = (message: string, failure?: ForwardResult['failure']) => {
          log?.debug('ssh console failed', { device: device.serial, port, message });
          send(ws, { type: 'error', message });
          finish(failure);
        };
        const loginTimer = setTimeout(() => fail('Signing in took too long.'), loginTimeoutMs);
        ws.on('close', () => finish());
        ws.on('error', () => finish());

        ws.once('message', async (first: RawData, isBinary: boolean) => {
          const parsed = isBinary ? undefined : authMessage.safeParse(safeJson(first.toString()));
          if (!parsed?.success) return fail('The first message must be the sign-in (user and password or key).');
          // Held in this closure only until ssh2 has authenticated (or given up), then dropped.
          let credentials: Credentials | undefined = parsed.data;
          const methods = methodsFrom(credentials);
          if (methods.length === 0) return fail('Give a password or a private key.');
          try {
            tcp = await dialDevice(options.dialer, device, port, options.dialTimeoutMs);
          } catch (err) {
            if (err instanceof DialTimeoutError) return fail(`Device ${device.serial} did not answer on port ${port}.`, 'dial_timeout');
            return fail(`Device ${device.serial} refused port ${port}: it is not exposed by the agent, or nothing listens on it.`, 'dial_failed');
          }
          if (finished) return void tcp.destroy();
          options.onTunnel?.(socket, tcp);
          tcp.on('error', () => finish('device_error'));
          tcp.on('data', (c: Buffer) => {
            bytesOut += c.length;
          });
          const size = { cols: credentials.cols ?? 80, rows: credentials.rows ?? 24 };
          client.on('error', (err: Error & { level?: string }) => {
            credentials = undefined;
            const message = err.level === 'client-authentication' ? 'The SSH server refused the sign-in.' : `SSH failed: ${err.message}`;
            fail(message, err.level === 'client-authentication' ? undefined : 'device_error');
          });
          client.on('close', () => finish());
          client.on('ready', () => {
            credentials = undefined;
            clearTimeout(loginTimer);
            client.shell({ term: 'xterm-256color', ...size }, (err, stream) => {
              if (err) return fail(`The SSH server opened no shell: ${err.message}`);
              shell = stream;
              send(ws, { type: 'ready' });
              stream.on('data', (c: Buffer) => ws.readyState === ws.OPEN && ws.send(c, { binary: true }));
              stream.stderr.on('data', (c: Buffer) => ws.readyState === ws.OPEN && ws.send(c, { binary: true }));
              stream.on('close', () => finish());
            });
          });
          ws.on('message', (data: RawData, binary: boolean) => {
            const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
            bytesIn += bytes.length;
            if (binary) return void shell?.write(bytes);
            const resize = resizeMessage.safeParse(safeJson(bytes.toString()));
            if (resize.success) shell?.setWindow(resize.data.rows, resize.data.cols, 0, 0);
          });
          const tries = [...methods];
          client.connect({
            sock: tcp as never,
            username: credentials.username,
            readyTimeout: loginTimeoutMs,
            keepaliveInterval: 30_000,
            hostVerifier: (hostKey: Buffer) => {
              // The key is shown, not pinned: the hub keeps nothing about the device's SSH server.
              const algorithm = hostKey.subarray(4, 4 + hostKey.readUInt32BE(0)).toString();
              send(ws, { type: 'hostkey', algorithm, fingerprint: `SHA256:${createHash('sha256').update(hostKey).digest('base64').replace(/=+$/, '')}` });
              return true;
            },
            authHandler: (_left, _partial, next) => {
              const c = credentials;
              const method = tries.shift();
              if (!c || !method) return next(false as never);
              if (method === 'publickey') return next({ type: 'publickey', username: c.username, key: c.privateKey!, ...(c.passphrase ? { passphrase: c.passphrase } : {}) } as never);
              if (method === 'password') return next({ type: 'password', username: c.username, password: c.password! });
              return next({
                type: 'keyboard-interactive',
                username: c.username,
                prompt: (_name, _instructions, _lang, prompts, answer) => answer(prompts.map(() => credentials?.password ?? '')),
              });
            },
          });
        });
      });
    });
  }

  return {
    handle,
    closeAll(): void {
      for (const ws of wss.clients) ws.close(1001, 'hub shutting down');
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export type SshBridge = ReturnType<typeof createSshBridge>;
