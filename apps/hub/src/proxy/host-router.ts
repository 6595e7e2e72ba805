// Host-header routing (reliability-security.md §3.2): the portal host is matched exactly, devices are
// exactly one valid serial label directly under the device domain, everything else is unknown.
// Normalisation: lowercase, one trailing dot removed, a numeric port removed; nothing else.

/** A serial is a DNS label: lowercase [a-z0-9-], 1–63 characters, no leading or trailing hyphen. */
export const SERIAL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function isValidSerial(label: string): boolean {
  return SERIAL_RE.test(label);
}

/** Labels that never route to a device even if registered, so they can never shadow hub names. */
export const RESERVED_LABELS: ReadonlySet<string> = new Set(['www', 'portal', 'admin', 'api', 'hub', 'wg', 'mail', 'static']);

export type HostRoute =
  | { kind: 'portal'; host: string; port: string | undefined }
  | { kind: 'device'; serial: string; host: string; port: string | undefined }
  | { kind: 'unknown'; host: string }
  | { kind: 'invalid' };

export interface HostRouterOptions {
  domain: string;
  portalHost: string;
}

/** Splits `host[:port]` (IPv6 literals in brackets); undefined when the syntax is not a Host value. */
export function parseHostHeader(value: string | undefined): { host: string; port: string | undefined } | undefined {
  if (value === undefined || value.length === 0 || value.length > 300) return undefined;
  let host = value;
  let port: string | undefined;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end < 0) return undefined;
    const rest = host.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    port = rest === '' ? undefined : rest.slice(1);
    host = host.slice(0, end + 1);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) {
      port = host.slice(colon + 1);
      host = host.slice(0, colon);
      if (!/^\d{1,5}$/.test(port)) return undefined;
    }
    if (!/^[A-Za-z0-9.-]+$/.test(host)) return undefined;
  }
  if (port !== undefined && Number(port) > 65535) return undefined;
  host = host.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === '' || host.startsWith('.') || host.endsWith('.') || host.includes('..')) return undefined;
  return { host, port };
}

export function routeHost(hostHeader: string | undefined, options: HostRouterOptions): HostRoute {
  const parsed = parseHostHeader(hostHeader);
  if (!parsed) return { kind: 'invalid' };
  const { host, port } = parsed;
  if (host === options.portalHost) return { kind: 'portal', host, port };
  const suffix = `.${options.domain}`;
  if (host.endsWith(suffix)) {
    const label = host.slice(0, -suffix.length);
    if (isValidSerial(label) && !RESERVED_LABELS.has(label)) return { kind: 'device', serial: label, host, port };
  }
  return { kind: 'unknown', host };
}

/** The device host for a serial, e.g. `an12345678.example.io`. */
export function deviceHost(serial: string, domain: string): string {
  return `${serial}.${domain}`;
}
