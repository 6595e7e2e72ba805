// Connection errors with the `code`, `errno` and `syscall` fields a net.Socket error carries, so code
// written for node:net (and node:http, ws) reacts to them unchanged.
import { constants } from 'node:os';

export type TcpErrorCode = 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT' | 'EPIPE' | 'ECONNABORTED' | 'EADDRINUSE';

const DESCRIPTIONS: Record<TcpErrorCode, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'broken pipe',
  ECONNABORTED: 'connection aborted',
  EADDRINUSE: 'address in use',
};

export class TcpError extends Error {
  readonly errno: number;
  constructor(
    readonly code: TcpErrorCode,
    readonly syscall: string,
    readonly address?: string,
    readonly port?: number,
  ) {
    super(`${syscall} ${code}${address !== undefined ? ` ${address}${port !== undefined ? `:${port}` : ''}` : ''} (${DESCRIPTIONS[code]})`);
    this.name = 'Error';
    // libuv reports errno negated; net.Socket errors carry the same.
    this.errno = -(constants.errno[code] ?? 0);
  }
}
