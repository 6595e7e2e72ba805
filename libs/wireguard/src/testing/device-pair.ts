// Two WireGuardDevices joined by an in-memory "wire" with a fake clock (@porthole/wireguard/testing),
// so tests can hold, drop, reorder, replay or re-source datagrams and jump time.
import { WireGuardDevice } from '../device.js';
import type { Endpoint } from '../endpoint.js';
import { generatePrivateKey } from '../keys.js';
import type { PeerConfig, WireGuardDeviceOptions, WireGuardEvent } from '../types.js';

export type Side = 'a' | 'b';

export interface WireDatagram {
  from: Side;
  datagram: Uint8Array;
  to: Endpoint;
}

export const A_ENDPOINT: Endpoint = { address: '192.0.2.1', port: 51820 };
export const B_ENDPOINT: Endpoint = { address: '192.0.2.2', port: 51821 };
export const A_TUNNEL = '10.0.0.1';
export const B_TUNNEL = '10.0.0.2';

export interface PairOptions {
  a?: Partial<WireGuardDeviceOptions>;
  b?: Partial<WireGuardDeviceOptions>;
  /** Peer config overrides: how A sees B, and how B sees A. */
  aPeer?: Partial<PeerConfig>;
  bPeer?: Partial<PeerConfig>;
  startMs?: number;
}

export class TestPair {
  now: number;
  readonly wire: WireDatagram[] = [];
  readonly delivered: Record<Side, Uint8Array[]> = { a: [], b: [] };
  readonly events: Record<Side, WireGuardEvent[]> = { a: [], b: [] };
  /** Where each side's datagrams appear to come from (change it to simulate roaming/NAT). */
  readonly source: Record<Side, Endpoint> = { a: A_ENDPOINT, b: B_ENDPOINT };
  readonly a: WireGuardDevice;
  readonly b: WireGuardDevice;
  /** TAI64N per side: a counter, so every initiation is newer without a wall clock. */
  private tai: Record<Side, number> = { a: 0, b: 0 };

  constructor(options: PairOptions = {}) {
    this.now = options.startMs ?? 1_000_000;
    this.a = this.device('a', options.a);
    this.b = this.device('b', options.b);
    this.a.addPeer({ publicKey: this.b.publicKey, allowedIps: [`${B_TUNNEL}/32`], endpoint: B_ENDPOINT, ...options.aPeer });
    this.b.addPeer({ publicKey: this.a.publicKey, allowedIps: [`${A_TUNNEL}/32`], endpoint: A_ENDPOINT, ...options.bPeer });
  }

  private device(side: Side, extra: Partial<WireGuardDeviceOptions> | undefined): WireGuardDevice {
    return new WireGuardDevice({
      privateKey: generatePrivateKey(),
      onTransmit: (datagram, to) => this.wire.push({ from: side, datagram, to }),
      onPacket: (packet) => this.delivered[side].push(packet),
      onEvent: (event) => this.events[side].push(event),
      tai64n: () => {
        const t = new Uint8Array(12);
        new DataView(t.buffer).setBigUint64(0, 0x4000_0000_0000_000an + BigInt(++this.tai[side]));
        return t;
      },
      ...extra,
    });
  }

  other(side: Side): WireGuardDevice {
    return side === 'a' ? this.b : this.a;
  }

  /** Takes everything on the wire without delivering it. */
  take(filter: (d: WireDatagram) => boolean = () => true): WireDatagram[] {
    const taken: WireDatagram[] = [];
    for (let i = 0; i < this.wire.length; ) {
      if (filter(this.wire[i]!)) taken.push(...this.wire.splice(i, 1));
      else i++;
    }
    return taken;
  }

  deliver(d: WireDatagram, from: Endpoint = this.source[d.from]): void {
    this.other(d.from).receive(d.datagram, from, this.now);
  }

  /** Delivers until the wire is quiet (answers included); returns how many datagrams moved. */
  flush(drop: (d: WireDatagram) => boolean = () => false): number {
    let moved = 0;
    while (this.wire.length > 0) {
      const d = this.wire.shift()!;
      moved++;
      if (!drop(d)) this.deliver(d);
    }
    return moved;
  }

  /** Advances the clock to `now + ms`, stopping at every timer deadline on the way. */
  advance(ms: number, drop: (d: WireDatagram) => boolean = () => false): void {
    const target = this.now + ms;
    for (;;) {
      const next = Math.min(this.a.nextDeadline() ?? Infinity, this.b.nextDeadline() ?? Infinity);
      if (next > target) break;
      this.now = Math.max(this.now, next);
      this.a.tick(this.now);
      this.b.tick(this.now);
      this.flush(drop);
    }
    this.now = target;
    this.a.tick(this.now);
    this.b.tick(this.now);
    this.flush(drop);
  }

  eventsOf(side: Side, type: WireGuardEvent['type']): WireGuardEvent[] {
    return this.events[side].filter((e) => e.type === type);
  }
}

/** A minimal IPv4 packet (header + payload; checksum not filled: WireGuard does not look at it). */
export function ipv4Packet(src: string, dst: string, payloadLength = 8, fill = 0xab): Uint8Array {
  const p = new Uint8Array(20 + payloadLength).fill(fill);
  p[0] = 0x45;
  p[1] = 0;
  p[2] = (p.length >> 8) & 0xff;
  p[3] = p.length & 0xff;
  p[8] = 64;
  p[9] = 1;
  p.set(src.split('.').map(Number), 12);
  p.set(dst.split('.').map(Number), 16);
  return p;
}
