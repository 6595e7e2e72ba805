// Where a peer's datagrams go: an address/port pair plus an optional transport tag, so that a later
// WebSocket (or other) carrier can deliver the same datagrams and roaming still follows the sender.
import { parseIp } from './ip-address.js';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
  /** Which carrier delivered/should deliver the datagram; undefined means plain UDP. */
  readonly transport?: string;
}

/** True when two endpoints name the same place (same transport, address and port). */
export function sameEndpoint(a: Endpoint | undefined, b: Endpoint | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.port === b.port && a.address === b.address && (a.transport ?? 'udp') === (b.transport ?? 'udp');
}

/** `1.2.3.4:51820`, `[fd00::1]:51820`, or `ws:…` for other transports; for logs and `wg`-style output. */
export function formatEndpoint(e: Endpoint): string {
  const host = e.address.includes(':') ? `[${e.address}]` : e.address;
  const prefix = e.transport && e.transport !== 'udp' ? `${e.transport}:` : '';
  return `${prefix}${host}:${e.port}`;
}

/**
 * The bytes a responder's cookie is bound to (only the responder ever computes them, so the
 * encoding is local): IP bytes ‖ port big-endian for UDP, like Linux; a tagged string otherwise.
 */
export function endpointCookieBytes(e: Endpoint): Uint8Array {
  const transport = e.transport ?? 'udp';
  const ip = transport === 'udp' ? parseIp(e.address) : undefined;
  if (ip) {
    const out = new Uint8Array(ip.length + 2);
    out.set(ip, 0);
    out[ip.length] = (e.port >>> 8) & 0xff;
    out[ip.length + 1] = e.port & 0xff;
    return out;
  }
  return new Uint8Array(Buffer.from(`${transport}|${e.address}|${e.port}`, 'utf8'));
}

/** The key the handshake rate limiters count by: the source address (not the port), per transport. */
export function endpointRateKey(e: Endpoint): string {
  // UDP, the case a flood takes, allocates nothing; other carriers keep a tagged key of their own.
  return e.transport === undefined || e.transport === 'udp' ? e.address : `${e.transport}|${e.address}`;
}
