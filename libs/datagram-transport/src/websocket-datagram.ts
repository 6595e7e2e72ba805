// The WebSocket carrier for WireGuard datagrams (Porthole's own fallback, not a standard): the agent
// opens `GET /.porthole/wg` on the hub's portal host with this subprotocol and sends one binary
// message per WireGuard datagram, unchanged, in both directions. No extra framing, no auth at this
// layer: WireGuard authenticates every datagram, exactly as over UDP.

/** The upgrade path on the portal host. */
export const WG_WEBSOCKET_PATH = '/.porthole/wg';

/** Sec-WebSocket-Protocol both sides insist on, so a stray browser or scanner is refused early. */
export const WG_WEBSOCKET_PROTOCOL = 'porthole-wireguard.v1';

/**
 * Largest datagram carried: a WireGuard transport message is 32 bytes of header and tag around at
 * most MTU (1420) bytes, i.e. 1452; handshakes are 148 / 92 / 64. Anything bigger is not WireGuard.
 */
export const MAX_DATAGRAM_BYTES = 1500;

/** WireGuard message types (whitepaper §5.4), by the first byte; 0 = not a WireGuard message. */
export function wireGuardMessageType(datagram: Uint8Array): 0 | 1 | 2 | 3 | 4 {
  if (datagram.length < 4 || datagram[1] !== 0 || datagram[2] !== 0 || datagram[3] !== 0) return 0;
  const t = datagram[0]!;
  return t >= 1 && t <= 4 ? (t as 1 | 2 | 3 | 4) : 0;
}
