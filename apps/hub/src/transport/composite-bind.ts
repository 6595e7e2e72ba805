// One Bind over several carriers (wireguard-go's multi-socket bind, generalised): UDP plus e.g. the
// WebSocket carrier. Datagrams from every carrier reach the device; a reply goes out on the carrier
// named by the destination Endpoint's `transport` tag (undefined = UDP).
import type { Bind, Endpoint } from '@porthole/wireguard';

export class CompositeBind implements Bind {
  /** Datagrams addressed to a transport no carrier serves (should not happen; counted, not thrown). */
  unroutable = 0;

  constructor(
    private readonly udp: Bind,
    private readonly carriers: ReadonlyMap<string, Bind>,
  ) {}

  get localPort(): number | undefined {
    return this.udp.localPort;
  }

  send(datagram: Uint8Array, to: Endpoint): void {
    if (to.transport === undefined || to.transport === 'udp') return this.udp.send(datagram, to);
    const carrier = this.carriers.get(to.transport);
    if (carrier) carrier.send(datagram, to);
    else this.unroutable++;
  }

  onReceive(handler: (datagram: Uint8Array, from: Endpoint) => void): void {
    this.udp.onReceive(handler);
    for (const carrier of this.carriers.values()) carrier.onReceive(handler);
  }

  async close(): Promise<void> {
    await Promise.all([this.udp.close(), ...[...this.carriers.values()].map((c) => c.close())]);
  }
}
