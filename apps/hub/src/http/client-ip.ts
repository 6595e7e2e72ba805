// The visitor's address as the hub's HTTP server determined it (socket address, or the address a
// trusted load balancer reported when PORTHOLE_TRUST_PROXY is set). The server records it per
// request; portal code reads it here instead of parsing X-Forwarded-For itself.
import type { IncomingMessage } from 'node:http';

const addresses = new WeakMap<IncomingMessage, string>();

/** Called by the hub's server for every request it accepts. */
export function setClientIp(req: IncomingMessage, ip: string): void {
  addresses.set(req, ip);
}

/** The client's address for rate limits and audit: recorded by the server, else the socket's. */
export function clientIpOf(req: IncomingMessage | undefined): string {
  if (!req) return 'unknown';
  return addresses.get(req) ?? req.socket?.remoteAddress ?? 'unknown';
}
