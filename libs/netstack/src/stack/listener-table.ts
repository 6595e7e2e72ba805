// Passive opens (RFC 9293 §3.10.1 with a passive OPEN): which local ports accept connections, and
// each listener's SYN backlog, the half-open (SYN-RECEIVED) connections it holds. A full backlog
// drops further SYNs (no SYN cookies, see README).
import type { TcpConnection } from '../tcp/tcp-connection.js';
import { TcpError } from '../tcp/tcp-error.js';

export interface TcpListener {
  readonly port: number;
  close(): void;
}

export interface ListenerEntry {
  readonly port: number;
  readonly onAccept: (conn: TcpConnection) => void;
  halfOpen: number;
  readonly backlog: number;
  closed: boolean;
}

export class ListenerTable {
  private readonly byPort = new Map<number, ListenerEntry>();

  get size(): number {
    return this.byPort.size;
  }

  get(port: number): ListenerEntry | undefined {
    return this.byPort.get(port);
  }

  has(port: number): boolean {
    return this.byPort.has(port);
  }

  /** Starts accepting on `port`; EADDRINUSE when someone already listens there. */
  listen(address: string, port: number, onAccept: (conn: TcpConnection) => void, backlog: number): TcpListener {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`netstack: port ${port} is outside 1..65535`);
    if (this.byPort.has(port)) throw new TcpError('EADDRINUSE', 'listen', address, port);
    const entry: ListenerEntry = { port, onAccept, halfOpen: 0, backlog, closed: false };
    this.byPort.set(port, entry);
    return {
      port,
      close: () => {
        if (entry.closed) return;
        entry.closed = true;
        if (this.byPort.get(port) === entry) this.byPort.delete(port);
      },
    };
  }

  /** Takes a backlog slot for a new half-open connection; false when the backlog is full. */
  admit(listener: ListenerEntry, conn: TcpConnection): boolean {
    if (listener.halfOpen >= listener.backlog) return false;
    listener.halfOpen++;
    conn.listenerTag = listener;
    return true;
  }

  /** Gives back the slot a passive connection held while half-open (established or gone). */
  leaveBacklog(conn: TcpConnection): void {
    const listener = conn.listenerTag as ListenerEntry | undefined;
    if (listener) {
      listener.halfOpen = Math.max(0, listener.halfOpen - 1);
      conn.listenerTag = undefined;
    }
  }

  closeAll(): void {
    for (const l of this.byPort.values()) l.closed = true;
    this.byPort.clear();
  }
}
