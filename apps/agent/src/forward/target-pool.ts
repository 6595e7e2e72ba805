// Kept-alive connections from the agent's direct relay (http-relay.ts) to the device's web UI.
// Each connection carries one exchange at a time; its socket's listeners are attached once, when
// it opens, and pass events to whoever holds it, so taking a connection from the pool and putting
// it back costs no listener changes per request. An idle connection that the target closes, or
// that receives bytes nobody asked for, is dropped. For an HTTPS target the connections are opened
// verified against the pin (tofu.ts) and all of them are dropped when the pin changes.
import type { Socket } from 'node:net';

/** The side of an exchange that holds a target connection. */
export interface TargetUser {
  onTargetData(data: Buffer): void;
  /** The target finished sending (FIN). */
  onTargetEnd(): void;
  /** The connection is gone (after an error, a reset, or end); `onTargetEnd` may not have come. */
  onTargetClose(): void;
  onTargetDrain(): void;
}

export class TargetConnection {
  /** Who holds it; undefined while idle in the pool. */
  user: TargetUser | undefined;
  /** Exchanges it carried before the current one. */
  uses = 0;

  constructor(
    readonly socket: Socket,
    readonly pin: string | undefined,
    pool: TargetPool,
  ) {
    socket.on('data', (data: Buffer) => (this.user ? this.user.onTargetData(data) : socket.destroy()));
    socket.on('end', () => (this.user ? this.user.onTargetEnd() : socket.destroy()));
    socket.on('drain', () => this.user?.onTargetDrain());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      pool.forget(this);
      const user = this.user;
      this.user = undefined;
      user?.onTargetClose();
    });
  }
}

export class TargetPool {
  readonly #idle: TargetConnection[] = [];
  #closed = false;

  constructor(
    private readonly open: () => Promise<Socket>,
    /** The pin new connections are verified against (HTTPS), undefined for HTTP. */
    private readonly currentPin: () => string | undefined,
    private readonly maxIdle: number,
  ) {}

  /** An idle connection for `user`, most recently used first; undefined when none is left. */
  take(user: TargetUser): TargetConnection | undefined {
    const pin = this.currentPin();
    for (;;) {
      const conn = this.#idle.pop();
      if (conn === undefined) return undefined;
      if (conn.pin !== pin || conn.socket.destroyed) {
        conn.socket.destroy();
        continue;
      }
      conn.user = user;
      conn.uses++;
      return conn;
    }
  }

  /** A new connection for `user`. */
  async connect(user: TargetUser): Promise<TargetConnection> {
    const socket = await this.open();
    if (this.#closed) {
      socket.destroy();
      throw new Error('forwarder closed');
    }
    const conn = new TargetConnection(socket, this.currentPin(), this);
    conn.user = user;
    return conn;
  }

  /** Back into the pool after a complete exchange; closed when the pool is full or the pin moved on. */
  release(conn: TargetConnection): void {
    conn.user = undefined;
    if (this.#closed || conn.socket.destroyed || this.#idle.length >= this.maxIdle || conn.pin !== this.currentPin()) {
      conn.socket.destroy();
      return;
    }
    this.#idle.push(conn);
  }

  forget(conn: TargetConnection): void {
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
  }

  close(): void {
    this.#closed = true;
    for (const conn of this.#idle.splice(0)) conn.socket.destroy();
  }
}
