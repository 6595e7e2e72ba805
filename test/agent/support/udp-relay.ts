// A small NAT-like UDP relay between the agent and the hub, on loopback: the agent sends to the
// relay's front port, each agent address gets its own outbound socket towards the hub (a NAT mapping),
// and the hub's replies go back to that agent address. `rebind()` replaces every outbound socket with a
// fresh one on a new source port and closes the old ones (a NAT rebinding: the old mapping is gone);
// `blackhole()` drops everything in both directions (a loss burst). It never looks inside a datagram.
import dgram from 'node:dgram';

interface Mapping {
  client: { address: string; port: number };
  socket: dgram.Socket;
}

export interface RelayCounters {
  toHub: number;
  toDevice: number;
  dropped: number;
  /** performance.now() of the last datagram forwarded either way. */
  lastForwardAt: number;
}

function openSocket(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      socket.on('error', () => {}); // ICMP unreachable from a closed peer port: the datagram is lost
      resolve(socket);
    });
  });
}

export class UdpRelay {
  readonly counters: RelayCounters = { toHub: 0, toDevice: 0, dropped: 0, lastForwardAt: 0 };
  #dropping = false;
  #target: { address: string; port: number } | undefined;
  readonly #mappings = new Map<string, Mapping>();
  readonly #opening = new Map<string, Promise<Mapping>>();

  private constructor(private readonly front: dgram.Socket) {}

  /** The relay's front port (what devices are told to dial). The hub is set later with `setTarget`. */
  static async open(): Promise<UdpRelay> {
    const relay = new UdpRelay(await openSocket());
    relay.front.on('message', (msg, rinfo) => void relay.#fromClient(msg, rinfo));
    return relay;
  }

  get port(): number {
    return this.front.address().port;
  }

  setTarget(address: string, port: number): void {
    this.#target = { address, port };
  }

  /** The source ports the hub currently sees (one per mapping). */
  outboundPorts(): number[] {
    return [...this.#mappings.values()].map((m) => m.socket.address().port);
  }

  blackhole(on: boolean): void {
    this.#dropping = on;
  }

  async #fromClient(msg: Buffer, rinfo: dgram.RemoteInfo): Promise<void> {
    if (this.#dropping || !this.#target) {
      this.counters.dropped++;
      return;
    }
    const target = this.#target;
    const key = `${rinfo.address}:${rinfo.port}`;
    let pending = this.#opening.get(key);
    if (!pending) {
      // One mapping per client even when its first datagrams arrive together; order is kept.
      pending = openSocket().then((socket) => {
        const m: Mapping = { client: { address: rinfo.address, port: rinfo.port }, socket };
        this.#mappings.set(key, m);
        this.#attach(m);
        return m;
      });
      this.#opening.set(key, pending);
    }
    const m = this.#mappings.get(key) ?? (await pending);
    this.counters.toHub++;
    this.counters.lastForwardAt = performance.now();
    m.socket.send(msg, target.port, target.address);
  }

  #attach(m: Mapping): void {
    const socket = m.socket;
    socket.on('message', (msg) => {
      // Only the current socket of a mapping forwards (an old one is closed by rebind anyway).
      if (this.#dropping || this.#mappings.get(`${m.client.address}:${m.client.port}`)?.socket !== socket) {
        this.counters.dropped++;
        return;
      }
      this.counters.toDevice++;
      this.counters.lastForwardAt = performance.now();
      this.front.send(msg, m.client.port, m.client.address);
    });
  }

  /** Every mapping moves to a new outbound port; the old sockets close. Returns old → new ports. */
  async rebind(): Promise<Array<{ from: number; to: number }>> {
    const moves: Array<{ from: number; to: number }> = [];
    for (const m of this.#mappings.values()) {
      const old = m.socket;
      m.socket = await openSocket();
      this.#attach(m);
      moves.push({ from: old.address().port, to: m.socket.address().port });
      old.close();
    }
    return moves;
  }

  close(): void {
    for (const m of this.#mappings.values()) m.socket.close();
    this.#mappings.clear();
    this.front.close();
  }
}
