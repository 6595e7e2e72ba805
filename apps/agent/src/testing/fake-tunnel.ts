// In-memory stand-in for the overlay, used by tests (and usable by device developers without a
// hub): each "tunnel" hands overlay connections to the agent's listeners over real loopback
// sockets, and the test decides when handshakes happen or the tunnel fails.
import { createServer, connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Tunnel, TunnelEvent, TunnelFactory, TunnelInfo, TunnelParams } from '../tunnel/tunnel.js';

export class FakeTunnel implements Tunnel {
  readonly params: TunnelParams;
  readonly listeners = new Map<number, (socket: Duplex) => void>();
  readonly #eventListeners: Array<(e: TunnelEvent) => void> = [];
  closed = false;
  lastHandshakeAtMs: number | undefined;
  readonly #open = new Set<Socket>();

  constructor(params: TunnelParams) {
    this.params = params;
  }

  listen(port: number, onConnection: (socket: Duplex) => void): void {
    this.listeners.set(port, onConnection);
  }

  onEvent(listener: (e: TunnelEvent) => void): void {
    this.#eventListeners.push(listener);
  }

  emit(event: TunnelEvent): void {
    if (event.type === 'handshake') this.lastHandshakeAtMs = event.atMs;
    for (const l of this.#eventListeners) l(event);
  }

  info(): TunnelInfo {
    return {
      lastHandshakeAtMs: this.lastHandshakeAtMs,
      endpoint: `${this.params.endpoint.address}:${this.params.endpoint.port}`,
      rxBytes: 0,
      txBytes: 0,
    };
  }

  /** Whether the last close() asked to notify the hub (Disable does). */
  notifiedHub = false;

  async close(options: { notifyHub?: boolean } = {}): Promise<void> {
    this.notifiedHub = options.notifyHub === true;
    this.closed = true;
    for (const s of this.#open) s.destroy();
  }

  /** Connections the device opens to the hub (`dialHub`) go to the network's hub listeners. */
  dialHub(port: number): Promise<Duplex> {
    const handler = this.hubListeners.get(port);
    if (this.closed || !handler) return Promise.reject(new Error(`fake tunnel: nothing listens on hub port ${port}`));
    return new Promise((resolve, reject) => {
      const server = createServer((inner) => {
        server.close();
        Object.defineProperty(inner, 'remoteAddress', { value: this.params.registration.tunnelIp });
        this.#open.add(inner);
        inner.on('close', () => this.#open.delete(inner));
        handler(inner);
      });
      server.listen(0, '127.0.0.1', () => {
        const client = connect((server.address() as { port: number }).port, '127.0.0.1');
        this.#open.add(client);
        client.on('close', () => this.#open.delete(client));
        client.once('connect', () => resolve(client));
        client.once('error', reject);
      });
    });
  }

  /** Set by the network: the hub side's listeners for `dialHub`. */
  hubListeners = new Map<number, (socket: Socket) => void>();

  /**
   * Opens an overlay TCP connection to `port` as the hub would (from the hub's tunnel address, or
   * `from`). A port nobody listens on is reset (the client sees ECONNRESET), like the netstack's RST.
   */
  connect(port: number, from: string = this.params.registration.hub.tunnelIp): Promise<Socket> {
    if (this.closed) return Promise.reject(new Error('fake tunnel closed'));
    return new Promise((resolve, reject) => {
      const server = createServer((inner) => {
        server.close();
        const listener = this.listeners.get(port);
        if (!listener || this.closed) {
          inner.resetAndDestroy();
          return;
        }
        // The agent sees the overlay source address, as with the netstack.
        Object.defineProperty(inner, 'remoteAddress', { value: from });
        this.#open.add(inner);
        inner.on('close', () => this.#open.delete(inner));
        listener(inner);
      });
      server.listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as { port: number };
        const client = connect(p, '127.0.0.1');
        this.#open.add(client);
        client.on('close', () => this.#open.delete(client));
        client.once('connect', () => resolve(client));
        client.once('error', reject);
      });
    });
  }
}

export interface FakeTunnelNetwork {
  factory: TunnelFactory;
  tunnels: FakeTunnel[];
  /** The newest tunnel that is not closed. */
  current(): FakeTunnel | undefined;
  /** Make the next `n` factory calls fail (e.g. the network is down). */
  failNext(n: number, message?: string): void;
  /** Emit a handshake on each new tunnel right after creation (default true). */
  autoHandshake: boolean;
  now: () => number;
  /** Resolves when a tunnel is created (the next one, or the n-th overall). */
  waitForTunnel(count?: number): Promise<FakeTunnel>;
  /** The hub side of `dialHub`: a handler for connections devices open to `port` on the hub. */
  hubListen(port: number, handler: (socket: Socket) => void): void;
}

export function createFakeTunnelNetwork(now: () => number = Date.now): FakeTunnelNetwork {
  let failures = 0;
  let failMessage = 'network unreachable';
  const waiters: Array<{ count: number; resolve: (t: FakeTunnel) => void }> = [];
  const hubListeners = new Map<number, (socket: Socket) => void>();
  const net: FakeTunnelNetwork = {
    hubListen: (port, handler) => void hubListeners.set(port, handler),
    tunnels: [],
    autoHandshake: true,
    now,
    current: () => net.tunnels.filter((t) => !t.closed).at(-1),
    failNext(n, message = 'network unreachable') {
      failures = n;
      failMessage = message;
    },
    waitForTunnel(count = net.tunnels.length + 1) {
      const existing = net.tunnels[count - 1];
      if (existing) return Promise.resolve(existing);
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    factory: async (params) => {
      if (failures > 0) {
        failures--;
        throw new Error(failMessage);
      }
      const t = new FakeTunnel(params);
      t.hubListeners = hubListeners;
      net.tunnels.push(t);
      if (net.autoHandshake) setImmediate(() => !t.closed && t.emit({ type: 'handshake', atMs: net.now() }));
      for (const w of waiters.splice(0)) {
        if (w.count <= net.tunnels.length) w.resolve(net.tunnels[w.count - 1]!);
        else waiters.push(w);
      }
      // A handshake timestamp is drawn as the real tunnel would, so clock persistence is exercised.
      params.tai64n();
      return t;
    },
  };
  return net;
}
