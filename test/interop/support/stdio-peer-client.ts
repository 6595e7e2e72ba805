// Driving our device from an interop test: a minimal IPv4 / ICMP echo codec (RFC 791, RFC 792) and
// a client for the stdio peer process (@porthole/wireguard/testing STDIO_PEER_SCRIPT) that runs our
// WireGuard device inside a namespace and relays its packets and events as JSON lines.
import type { ChildProcess } from 'node:child_process';
import { JsonProcess, type Line } from '../../support/json-process.js';

function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (bytes.length % 2) sum += bytes[bytes.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipBytes(address: string): number[] {
  return address.split('.').map(Number);
}

export function icmpEcho(type: 0 | 8, src: string, dst: string, id: number, seq: number, data: Uint8Array, ttl = 64): Uint8Array {
  const packet = new Uint8Array(20 + 8 + data.length);
  const view = new DataView(packet.buffer);
  packet[0] = 0x45;
  view.setUint16(2, packet.length);
  view.setUint16(4, (id + seq) & 0xffff);
  packet[8] = ttl;
  packet[9] = 1; // ICMP
  packet.set(ipBytes(src), 12);
  packet.set(ipBytes(dst), 16);
  view.setUint16(10, checksum(packet.subarray(0, 20)));
  packet[20] = type;
  view.setUint16(24, id);
  view.setUint16(26, seq);
  packet.set(data, 28);
  view.setUint16(22, checksum(packet.subarray(20)));
  return packet;
}

export interface Echo {
  type: number;
  src: string;
  dst: string;
  id: number;
  seq: number;
  data: Uint8Array;
}

export function parseEcho(packet: Uint8Array): Echo | undefined {
  if (packet.length < 28 || packet[0]! >> 4 !== 4 || packet[9] !== 1) return undefined;
  const ihl = (packet[0]! & 0x0f) * 4;
  if (checksum(packet.subarray(0, ihl)) !== 0 || checksum(packet.subarray(ihl)) !== 0) return undefined;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.length);
  return {
    type: packet[ihl]!,
    src: Array.from(packet.subarray(12, 16)).join('.'),
    dst: Array.from(packet.subarray(16, 20)).join('.'),
    id: view.getUint16(ihl + 4),
    seq: view.getUint16(ihl + 6),
    data: packet.subarray(ihl + 8),
  };
}

export type PeerMessage = { event: string; [key: string]: unknown };

/** The stdio peer process; `onMessage` sees every message as it arrives. */
export class StdioPeer extends JsonProcess {
  constructor(process: ChildProcess, onMessage: (m: PeerMessage) => void) {
    super('stdio peer', process, onMessage as (line: Line) => void);
  }

  /** The first message (already received or future) matching `match`. */
  waitFor(match: (m: PeerMessage) => boolean, what: string, timeoutMs = 20_000): Promise<PeerMessage> {
    return this.next(match as (line: Line) => boolean, what, timeoutMs, true) as Promise<PeerMessage>;
  }

  async status(): Promise<{ peers: Array<Record<string, unknown>>; drops: Record<string, number> }> {
    return (await this.ask({ cmd: 'status' }, 'status')) as never;
  }
}
