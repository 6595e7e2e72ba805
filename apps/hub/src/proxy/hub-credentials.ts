// The hub's own credentials on a device host: how a hub API token is told apart from a device's own
// `Authorization`, and what a token's scopes allow there. Hub credentials authenticate the visitor
// at the hub and are removed before forwarding, whatever the device's policy.
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Every secret the hub issues starts with this (`ph_api_`, `ph_ses_`, `ph_enr_`, `ph_poll_`), so a
 * bearer value with it is the hub's even when it is unknown, revoked or expired. An operator-chosen
 * admin token without the prefix is recognised by looking it up.
 */
export const HUB_TOKEN_PREFIX = 'ph_';

/** Shorter or longer values are never hub tokens (api-tokens.ts refuses them before any lookup). */
const MIN_LOOKUP_LENGTH = 32;
const MAX_LOOKUP_LENGTH = 512;

export function hasHubTokenPrefix(token: string): boolean {
  return token.startsWith(HUB_TOKEN_PREFIX);
}

/** Whether an unprefixed bearer value could be an operator-chosen hub token at all (worth a lookup). */
export function mayBeCustomHubToken(token: string): boolean {
  return token.length >= MIN_LOOKUP_LENGTH && token.length <= MAX_LOOKUP_LENGTH;
}

/** The token of `Authorization: Bearer <token>`, or undefined for any other (or no) Authorization. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const value = headers.authorization;
  if (!value) return undefined;
  return /^\s*bearer\s+(\S+)\s*$/i.exec(value)?.[1];
}

/** A raw Authorization value that carries a hub token by its prefix (the forwarder's last line of defence). */
export function isHubAuthorization(value: string): boolean {
  const token = /^\s*bearer\s+(\S+)/i.exec(value)?.[1];
  return token !== undefined && hasHubTokenPrefix(token);
}

/** How much of a device a request uses: `read` is GET and HEAD over HTTP; everything else is `full`. */
export type DeviceAccess = 'read' | 'full';

export function accessNeeded(method: string, kind: 'http' | 'websocket' | 'tcp'): DeviceAccess {
  return kind === 'http' && (method === 'GET' || method === 'HEAD') ? 'read' : 'full';
}

/**
 * Token scopes on device hosts: `read` allows GET and HEAD; `connect` (device access only, no admin
 * API) and `write` (kept for existing tokens) allow every method, WebSockets and /.porthole/tcp.
 */
export const FULL_DEVICE_SCOPES: readonly string[] = ['connect', 'write'];
export const READ_DEVICE_SCOPES: readonly string[] = ['read', ...FULL_DEVICE_SCOPES];

export function scopesGrant(scopes: readonly string[], access: DeviceAccess): boolean {
  const granting = access === 'read' ? READ_DEVICE_SCOPES : FULL_DEVICE_SCOPES;
  return scopes.some((s) => granting.includes(s));
}
