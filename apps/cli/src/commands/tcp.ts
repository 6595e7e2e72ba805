// `porthole tcp <serial> <port>`: forwards TCP to a device port through the hub's WebSocket
// endpoint — a local listener (`--listen`, one tunnel per accepted connection) or stdin/stdout
// (one tunnel; the form ssh's ProxyCommand uses). Works the same for SSH, VNC and Modbus/TCP.
import net from 'node:net';
import type { Command } from '../command.js';
import type { Context } from '../context.js';
import { resolveTcpTarget, type TcpTarget } from '../device-address.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { formatBytes, parseIntOption } from '../format.js';
import { describeEnd, openTunnel, pipeTunnel } from '../tcp-tunnel.js';

/** `127.0.0.1:2222`, `2222` (loopback), `[::1]:2222`, `localhost:0` (any free port). */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value) ?? /^()()(\d{1,5})$/.exec(value);
  if (!m) throw new UsageError(`--listen ${JSON.stringify(value)} must be HOST:PORT or PORT, such as 127.0.0.1:2222`, 'tcp');
  return { host: m[1] || m[2] || '127.0.0.1', port: parseIntOption(m[3]!, '--listen port', 0, 65535) };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

export const tcp: Command = {
  path: 'tcp',
  args: '<serial> <port>',
  json: false,
  summary: 'Forward a local TCP port (or stdin/stdout) to a port on a device, over the hub.',
  description:
    'Without --listen the bytes of stdin go to the device and the device’s bytes to stdout, for\n' +
    '`ssh -o ProxyCommand="porthole tcp %h %p"`. The port must be allow-listed on the device’s agent.\n' +
    'WebSocket has no half-close: after local EOF the tunnel stays open until the device closes,\n' +
    'unless --close-on-eof.',
  options: {
    listen: { type: 'string', arg: 'HOST:PORT', help: 'accept connections here (e.g. 127.0.0.1:2222; port 0 picks one)' },
    'device-domain': { type: 'string', arg: 'DOMAIN', help: 'devices live on <serial>.DOMAIN (default: as the hub reports)' },
    'close-on-eof': { type: 'boolean', help: 'close the tunnel when the local side stops sending' },
  },
  async run(ctx, args) {
    const [serial, portText] = args.positionals as [string, string];
    const port = parseIntOption(portText, 'port', 1, 65535);
    const listen = args.values.listen !== undefined ? parseListen(args.values.listen as string) : undefined;
    const login = ctx.login(args);
    const target = await resolveTcpTarget(ctx.client(args), serial, port, args.values['device-domain'] as string | undefined);
    const closeOnEof = args.values['close-on-eof'] === true;
    if (listen) return listenMode(ctx, target, login.token, listen, closeOnEof);
    return stdioMode(ctx, target, login.token, closeOnEof);
  },
};

async function stdioMode(ctx: Context, target: TcpTarget, token: string, closeOnEof: boolean): Promise<number> {
  const label = `${target.serial}:${target.port}`;
  const tunnel = await openTunnel({ url: target.url, token, label });
  const result = await pipeTunnel(tunnel, { input: ctx.io.stdin, output: ctx.io.stdout, endOutput: false, closeOnEof, ...(ctx.io.signal ? { signal: ctx.io.signal } : {}) });
  ctx.io.stdin.pause();
  const problem = describeEnd(label, result);
  if (problem && result.endedBy === 'error') throw new CliError(problem);
  if (problem) ctx.err(problem);
  return EXIT.ok;
}

async function listenMode(ctx: Context, target: TcpTarget, token: string, at: { host: string; port: number }, closeOnEof: boolean): Promise<number> {
  const label = `${target.serial}:${target.port}`;
  if (target.device?.status === 'disabled') ctx.err(`warning: ${target.serial} is disabled; connections will be refused until it is enabled`);
  else if (target.device && !target.device.online) ctx.err(`warning: ${target.serial} is offline right now; connections will fail until it is back`);
  if (!isLoopback(at.host)) ctx.err(`warning: listening on ${at.host}: anyone who can reach it uses the tunnel with your credentials`);

  const open = new Set<Promise<unknown>>();
  let counter = 0;
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    const id = ++counter;
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.on('error', () => {}); // reported through the tunnel result
    const task = (async () => {
      try {
        const tunnel = await openTunnel({ url: target.url, token, label });
        if (socket.destroyed) {
          tunnel.ws.close(1000, 'client closed');
          return;
        }
        ctx.err(`[${id}] ${peer} → ${label} connected`);
        socket.resume();
        const r = await pipeTunnel(tunnel, { input: socket, output: socket, endOutput: true, closeOnEof, ...(ctx.io.signal ? { signal: ctx.io.signal } : {}) });
        const problem = describeEnd(`[${id}] ${label}`, r);
        ctx.err(problem ?? `[${id}] closed by ${r.endedBy === 'local' ? 'the local side' : 'the device'}: sent ${formatBytes(r.bytesUp)}, received ${formatBytes(r.bytesDown)}`);
      } catch (err) {
        ctx.err(`[${id}] ${err instanceof CliError ? err.message : `${label}: ${(err as Error).message}`}`);
        socket.destroy();
      }
    })();
    open.add(task);
    void task.finally(() => open.delete(task));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new CliError(`cannot listen on ${at.host}:${at.port}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`)),
    );
    server.listen(at.port, at.host, () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
  ctx.err(`listening on ${shown} → ${label} (Ctrl-C to stop)`);

  // Runs until the caller aborts (SIGINT/SIGTERM in main.ts); then stops accepting and closes tunnels.
  const signal = ctx.io.signal;
  await new Promise<void>((resolve) => {
    if (!signal) return; // without a signal: forever
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  // Open tunnels see the same signal and close with 1001; wait for them to finish.
  server.close();
  await Promise.allSettled([...open]);
  ctx.err('stopped');
  return EXIT.ok;
}
