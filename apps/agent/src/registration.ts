// A registration as the agent keeps it: what `POST /api/v1/devices/register` and an approved claim
// poll return (@porthole/api-contract's RegistrationSchema, validated on receipt: a hub response is
// input like any other, and a malformed one must not become the stored state), and the hub's
// WireGuard endpoint in it split into host and port.
export type { Registration } from '@porthole/api-contract';

/** Splits "host:port" / "[v6]:port". */
export function parseEndpoint(endpoint: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(endpoint);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? m[2]!, port };
}
