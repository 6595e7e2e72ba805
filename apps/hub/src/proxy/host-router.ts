// Host-header routing (reliability-security.md §3.2): the portal host is matched exactly, devices are
// exactly one valid serial label directly under the device domain, the single device host (when
// configured) serves every device by the visitor's selection, everything else is unknown.
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
  /** The single device host: which device is the visitor's selection (single-host.ts). */
  | { kind: 'single'; host: string; port: string | undefined }
  | { kind: 'unknown'; host: string }
  | { kind: 'invalid' };

export interface HostRouterOptions {
  domain: string;
  portalHost: string;
  /** The single device host (`PORTHOLE_DEVICE_HOST`), parsed by parseDeviceHostSetting. */
  deviceHost?: DeviceHostSetting | undefined;
}

/** `PORTHOLE_DEVICE_HOST`: one name or IP address, and optionally the port visitors use. */
export interface DeviceHostSetting {
  host: string;
  /** When set, only requests addressed to this port are the device host (the portal may share the name). */
  port?: string | undefined;
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

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const NAME_RE = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * `devices.example.io`, `devices.example.io:8443`, `192.0.2.10:8080`, `[2001:db8::1]:8443`: a DNS
 * name or an IP address, lower-cased, with an optional port; undefined when it is none of these.
 */
export function parseDeviceHostSetting(value: string): DeviceHostSetting | undefined {
  const parsed = parseHostHeader(value.trim());
  if (!parsed) return undefined;
  const { host, port } = parsed;
  const literal = host.startsWith('[') ? host.slice(1, -1) : undefined;
  if (literal !== undefined ? !/^[0-9a-f:.]+$/.test(literal) || !literal.includes(':') : !(IPV4_RE.test(host) || NAME_RE.test(host))) return undefined;
  if (port !== undefined && Number(port) < 1) return undefined;
  return port === undefined ? { host } : { host, port: String(Number(port)) };
}

/** The device host as visitors write it: `host` or `host:port`. */
export function formatDeviceHost(setting: DeviceHostSetting): string {
  return setting.port ? `${setting.host}:${setting.port}` : setting.host;
}

/** Whether a `host[:port]` value (a Host header, a portal query parameter) is the single device host. */
export function matchesDeviceHost(setting: DeviceHostSetting, value: string): boolean {
  const parsed = parseHostHeader(value);
  return parsed !== undefined && isDeviceHost(setting, parsed.host, parsed.port);
}

function isDeviceHost(setting: DeviceHostSetting | undefined, host: string, port: string | undefined): boolean {
  if (!setting || setting.host !== host) return false;
  // A port in the setting must be the one the visitor used (the portal may live on the same name).
  return setting.port === undefined || (port !== undefined && String(Number(port)) === setting.port);
}

export function routeHost(hostHeader: string | undefined, options: HostRouterOptions): HostRoute {
  const parsed = parseHostHeader(hostHeader);
  if (!parsed) return { kind: 'invalid' };
  const { host, port } = parsed;
  if (isDeviceHost(options.deviceHost, host, port)) return { kind: 'single', host, port };
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
