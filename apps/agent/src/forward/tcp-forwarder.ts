// Allow-listed overlay ports (`--expose 22=127.0.0.1:22`) → their fixed TCP targets, bytes as-is.
// Ports not exposed are never listened on, so the netstack answers them with RST.
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.js';

export function forwardTcp(socket: Duplex, target: { host: string; port: number }, logger: Logger): void {
  // SSH, VNC, Modbus/TCP: interactive request/response, so no Nagle (the overlay side has none either).
  const upstream = connect({ host: target.host, port: target.port, noDelay: true });
  const teardown = (): void => {
    socket.destroy();
    upstream.destroy();
  };
  upstream.on('error', (err) => {
    logger.debug('exposed port target failed', { component: 'forward', target: `${target.host}:${target.port}`, err });
    teardown();
  });
  socket.on('error', teardown);
  // Ends propagate through pipe() (half-close); only an abnormal close tears the other side down.
  upstream.on('close', (hadError) => hadError && socket.destroy());
  socket.on('close', () => upstream.destroyed || upstream.writableEnded || upstream.destroy());
  socket.pipe(upstream);
  upstream.pipe(socket);
}
