// A Bind wrapper that counts WireGuard datagrams and bytes in each direction for /metrics,
// whatever transport is underneath (UDP today, a WebSocket carrier later).
import type { Bind, Endpoint } from '@porthole/wireguard';

export interface BindTraffic {
  rxDatagrams: number;
  rxBytes: number;
  txDatagrams: number;
  txBytes: number;
}

export class MeteredBind implements Bind {
  readonly traffic: BindTraffic = { rxDatagrams: 0, rxBytes: 0, txDatagrams: 0, txBytes: 0 };

  constructor(private readonly inner: Bind) {}

  get localPort(): number | undefined {
    return this.inner.localPort;
  }

  send(datagram: Uint8Array, to: Endpoint): void {
    this.traffic.txDatagrams++;
    this.traffic.txBytes += datagram.length;
    this.inner.send(datagram, to);
  }

  onReceive(handler: (datagram: Uint8Array, from: Endpoint) => void): void {
    this.inner.onReceive((datagram, from) => {
      this.traffic.rxDatagrams++;
      this.traffic.rxBytes += datagram.length;
      handler(datagram, from);
    });
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
