// `--expose PORT=HOST:PORT:modbus-read-only`: the overlay port is forwarded to a Modbus/TCP server,
// but only requests that read reach it; every write (and any function the filter does not know)
// is answered here with exception 01 ILLEGAL FUNCTION and never forwarded. Responses pass as they
// are. Clients match answers by transaction id, so a refusal may overtake an earlier read's answer.
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.js';
import { ModbusRequestFilter } from './modbus-frames.js';

export function forwardModbusReadOnly(socket: Duplex, target: { host: string; port: number }, logger: Logger): ModbusRequestFilter {
  const log = logger.child({ component: 'modbus', target: `${target.host}:${target.port}` });
  const filter = new ModbusRequestFilter();
  const upstream = connect({ host: target.host, port: target.port, noDelay: true });
  const teardown = (): void => {
    socket.destroy();
    upstream.destroy();
  };
  upstream.on('error', (err) => {
    log.debug('modbus target failed', { err });
    teardown();
  });
  socket.on('error', teardown);
  upstream.on('close', (hadError) => hadError && socket.destroy());
  socket.on('close', () => upstream.destroyed || upstream.writableEnded || upstream.destroy());
  upstream.pipe(socket);

  socket.on('data', (chunk: Buffer) => {
    let more = true;
    for (const out of filter.push(chunk)) {
      switch (out.kind) {
        case 'forward':
          more = upstream.write(out.frame) && more;
          break;
        case 'refuse':
          log.info('modbus write refused (read-only port)', { functionCode: out.functionCode });
          socket.write(out.reply);
          break;
        case 'invalid':
          log.warn('not Modbus/TCP; connection closed', { reason: out.reason });
          teardown();
          return;
      }
    }
    if (!more) {
      socket.pause();
      upstream.once('drain', () => socket.resume());
    }
  });
  socket.on('end', () => upstream.end());
  return filter;
}
