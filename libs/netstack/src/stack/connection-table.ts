// The TCP connection table: 4-tuple lookup (the local address is the stack's one address, so a
// tuple is remote address, remote port, local port), a one-entry cache for the common case of a
// burst on one connection, and ephemeral port selection (RFC 6056 §3.3.1, random start).
import type { TcpConnection } from '../tcp/tcp-connection.js';

const EPHEMERAL_FIRST = 49152;
const EPHEMERAL_COUNT = 65536 - EPHEMERAL_FIRST;

export class ConnectionTable {
  /** remote address * 65536 + remote port (exact below 2^48) → local port → connection. */
  private readonly byRemote = new Map<number, Map<number, TcpConnection>>();
  private lastHit: TcpConnection | undefined;
  size = 0;

  *[Symbol.iterator](): IterableIterator<TcpConnection> {
    for (const inner of this.byRemote.values()) yield* inner.values();
  }

  lookup(remoteAddr: number, remotePort: number, localPort: number): TcpConnection | undefined {
    const last = this.lastHit;
    if (last !== undefined && last.remotePort === remotePort && last.localPort === localPort && last.remoteAddr === remoteAddr) {
      return last;
    }
    const conn = this.byRemote.get(remoteAddr * 65536 + remotePort)?.get(localPort);
    if (conn !== undefined) this.lastHit = conn;
    return conn;
  }

  add(conn: TcpConnection): void {
    const key = conn.remoteAddr * 65536 + conn.remotePort;
    let inner = this.byRemote.get(key);
    if (inner === undefined) {
      inner = new Map();
      this.byRemote.set(key, inner);
    }
    inner.set(conn.localPort, conn);
    this.size++;
  }

  remove(conn: TcpConnection): void {
    const key = conn.remoteAddr * 65536 + conn.remotePort;
    const inner = this.byRemote.get(key);
    if (inner?.get(conn.localPort) === conn) {
      inner.delete(conn.localPort);
      if (inner.size === 0) this.byRemote.delete(key);
      this.size--;
    }
    if (this.lastHit === conn) this.lastHit = undefined;
  }

  /** A free local port in 49152-65535 towards this remote, or undefined when all are taken. */
  pickEphemeralPort(remoteAddr: number, remotePort: number, random: number): number | undefined {
    const inner = this.byRemote.get(remoteAddr * 65536 + remotePort);
    const start = random % EPHEMERAL_COUNT;
    for (let i = 0; i < EPHEMERAL_COUNT; i++) {
      const port = EPHEMERAL_FIRST + ((start + i) % EPHEMERAL_COUNT);
      if (inner === undefined || !inner.has(port)) return port;
    }
    return undefined;
  }

  /** The TIME-WAIT connection nearest to expiry (what a full table gives up first). */
  oldestTimeWait(): TcpConnection | undefined {
    let victim: TcpConnection | undefined;
    for (const conn of this) {
      if (conn.state === 'TIME-WAIT' && (victim === undefined || (conn.timers.closeAt ?? 0) < (victim.timers.closeAt ?? 0))) victim = conn;
    }
    return victim;
  }
}
