// Bookkeeping for graceful shutdown and connection limits (reliability-security.md §4.6): in-flight
// requests (drain waits for them), upgraded sockets (server.closeAllConnections() does not see them,
// nodejs/node#53536), and a per-client-address connection cap against connection floods.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export class ConnectionTracker {
  private inFlight = 0;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly tunnels = new Set<Duplex>();
  private readonly perIp = new Map<string, number>();

  /** `maxPerIp` 0 disables the cap (behind a load balancer every connection has its address). */
  constructor(private readonly maxPerIp: number) {}

  /** Counts a new connection; returns false (and the caller destroys it) when over the cap. */
  admit(socket: Socket): boolean {
    if (this.maxPerIp <= 0) return true;
    const ip = socket.remoteAddress ?? '?';
    const n = (this.perIp.get(ip) ?? 0) + 1;
    if (n > this.maxPerIp) return false;
    this.perIp.set(ip, n);
    socket.once('close', () => {
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, left);
    });
    return true;
  }

  requestStarted(): void {
    this.inFlight++;
  }

  requestEnded(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  get activeRequests(): number {
    return this.inFlight;
  }

  addTunnel(...sockets: Duplex[]): void {
    for (const s of sockets) {
      this.tunnels.add(s);
      s.once('close', () => this.tunnels.delete(s));
    }
  }

  get openTunnels(): number {
    return this.tunnels.size;
  }

  /** Resolves when no request is in flight, or after `ms`, whichever is first; true when drained. */
  waitIdle(ms: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.idleWaiters.indexOf(done);
        if (i >= 0) this.idleWaiters.splice(i, 1);
        resolve(false);
      }, ms);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(done);
    });
  }

  destroyTunnels(): void {
    for (const s of this.tunnels) s.destroy();
    this.tunnels.clear();
  }
}

/** server.close() as a promise that resolves once every connection is gone. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}
