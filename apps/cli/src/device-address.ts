// Where a device's TCP endpoint lives: `ws(s)://<serial>.<device-domain>[:port]/.porthole/tcp?port=N`.
// By default the hub says so itself (GET /api/v1/devices/<serial> returns the device's URL, which
// carries the device domain, scheme and port); `--device-domain` builds it from the hub URL instead.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import type { ApiClient } from './api-client.js';
import type { Device } from '@porthole/api-contract';
import { UsageError } from './errors.js';

const HOSTNAME_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export interface TcpTarget {
  serial: string;
  port: number;
  /** The WebSocket URL of the tunnel. */
  url: string;
  /** The device as the API showed it (absent with --device-domain). */
  device?: Device;
}

export function tcpUrl(deviceUrl: string, port: number): string {
  const base = new URL(deviceUrl);
  // A hub with a single device host names the device in its URL (`/.porthole/select?serial=…`).
  const serial = base.searchParams.get('serial');
  return `${base.protocol === 'https:' ? 'wss' : 'ws'}://${base.host}/.porthole/tcp?port=${port}${serial ? `&serial=${encodeURIComponent(serial)}` : ''}`;
}

export async function resolveTcpTarget(client: ApiClient, serial: string, port: number, deviceDomain?: string): Promise<TcpTarget> {
  if (deviceDomain !== undefined) {
    const domain = deviceDomain.trim().toLowerCase().replace(/\.$/, '');
    if (!HOSTNAME_RE.test(domain)) throw new UsageError(`--device-domain ${JSON.stringify(deviceDomain)} is not a DNS name such as devices.example.io`);
    if (!HOSTNAME_RE.test(serial.toLowerCase()) || serial.includes('.')) throw new UsageError(`${JSON.stringify(serial)} is not a serial (one DNS label)`);
    const hub = new URL(client.hub);
    return { serial, port, url: tcpUrl(`${hub.protocol}//${serial.toLowerCase()}.${domain}${hub.port ? `:${hub.port}` : ''}/`, port) };
  }
  const device = await client.get<Device>(`/devices/${encodeURIComponent(serial)}`);
  return { serial: device.serial, port, url: tcpUrl(device.url, port), device };
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * DNS lookup that answers `localhost` and `*.localhost` with loopback itself (RFC 6761 §6.3: such
 * names always mean loopback), because glibc does not resolve `an1.localhost` — the default device
 * domain of a hub on a laptop. Everything else goes to the system resolver.
 */
export function lookupWithLocalhost(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) {
    const v6 = options.family === 6;
    const address = v6 ? '::1' : '127.0.0.1';
    if (options.all) callback(null, [{ address, family: v6 ? 6 : 4 }]);
    else callback(null, address, v6 ? 6 : 4);
    return;
  }
  dnsLookup(hostname, options, callback as never);
}
