// The registry contract (shared with apps/hub): the registration body returned by
// `POST /api/v1/devices/register` and by an approved claim poll. Validated on receipt: a hub
// response is input like any other, and a malformed one must not become the stored state.
import { z } from 'zod';

const base64Key = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'a base64 WireGuard key (44 characters)');
const ipv4 = z.string().regex(/^(?:\d{1,3}\.){3}\d{1,3}$/, 'an IPv4 address');

export const registrationSchema = z.object({
  serial: z.string().min(1).max(63),
  tunnelIp: ipv4,
  overlayCidr: z.string().regex(/^(?:\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/),
  hub: z.object({
    publicKey: base64Key,
    /** host:port of the hub's WireGuard UDP endpoint (a name is re-resolved on reconnect). */
    endpoint: z.string().min(3).max(300),
    tunnelIp: ipv4,
  }),
  url: z.string().url(),
  persistentKeepalive: z.number().int().min(0).max(65535),
});

export type Registration = z.infer<typeof registrationSchema>;

export const claimStartSchema = z.object({
  userCode: z.string().min(1).max(32),
  verificationUri: z.string().url(),
  verificationUriComplete: z.string().url(),
  pollToken: z.string().min(1).max(512),
  expiresIn: z.number().positive(),
  interval: z.number().positive(),
});

export type ClaimStart = z.infer<typeof claimStartSchema>;

export const claimPollSchema = z.union([
  z.object({ status: z.literal('pending') }),
  z.object({ status: z.literal('approved'), registration: registrationSchema }),
]);

export const errorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string().optional(), field: z.string().optional() }),
});

/** Splits "host:port" / "[v6]:port". */
export function parseEndpoint(endpoint: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(endpoint);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? m[2]!, port };
}
