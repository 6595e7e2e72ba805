// In-memory binds for tests: a MemoryNetwork delivers datagrams between binds by endpoint,
// asynchronously (like a network), optionally through a filter that can drop or rewrite them.
import type { Bind } from '../bind.js';
import { formatEndpoint, type Endpoint } from '../endpoint.js';

export type MemoryFilter = (datagram: Uint8Array, from: Endpoint, to: Endpoint) => 'deliver' | 'drop';

export class MemoryNetwork {
  private readonly binds = new Map<string, MemoryBind>();
  filter: MemoryFilter | undefined;
  delivered = 0;

  /** A bind reachable at `endpoint` (which also becomes the source of what it sends). */
  bind(endpoint: Endpoint): MemoryBind {
    const key = formatEndpoint(endpoint);
    if (this.binds.has(key)) throw new Error(`memory network: ${key} is already bound`);
    const b = new MemoryBind(this, endpoint);
    this.binds.set(key, b);
    return b;
  }

  /** @internal */
  route(datagram: Uint8Array, from: Endpoint, to: Endpoint): void {
    if (this.filter?.(datagram, from, to) === 'drop') return;
    const target = this.binds.get(formatEndpoint(to));
    if (!target) return;
    const copy = Uint8Array.from(datagram); // the sender may reuse its buffer
    setImmediate(() => {
      this.delivered++;
      target.deliver(copy, from);
    });
  }

  /** @internal */
  unbind(b: MemoryBind): void {
    if (this.binds.get(formatEndpoint(b.endpoint)) === b) this.binds.delete(formatEndpoint(b.endpoint));
  }
}

export class MemoryBind implements Bind {
  private handler: ((datagram: Uint8Array, from: Endpoint) => void) | undefined;
  private closed = false;

  constructor(
    private readonly network: MemoryNetwork,
    readonly endpoint: Endpoint,
  ) {}

  get localPort(): number {
    return this.endpoint.port;
  }

  onReceive(handler: (datagram: Uint8Array, from: Endpoint) => void): void {
    this.handler = handler;
  }

  send(datagram: Uint8Array, to: Endpoint): void {
    if (!this.closed) this.network.route(datagram, this.endpoint, to);
  }

  /** @internal */
  deliver(datagram: Uint8Array, from: Endpoint): void {
    if (!this.closed) this.handler?.(datagram, { ...from });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.network.unbind(this);
  }
}

/** Two binds on one fresh network, at the given endpoints. */
export function createMemoryBindPair(
  a: Endpoint = { address: '192.0.2.1', port: 51820 },
  b: Endpoint = { address: '192.0.2.2', port: 51820 },
): [MemoryBind, MemoryBind, MemoryNetwork] {
  const network = new MemoryNetwork();
  return [network.bind(a), network.bind(b), network];
}
