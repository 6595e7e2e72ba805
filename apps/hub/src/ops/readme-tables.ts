// The tables of apps/hub/README.md that describe code: configuration (from the config schema),
// metrics (from the registry a hub builds) and API routes (from the route table). readme.test.ts
// fails when the README differs from what these render, so the README cannot drift.
import type { RouteDef } from '../api/route-table.js';
import { DEFAULTS, ENV_KEYS, type ConfigInput } from '../config/config-schema.js';
import type { Registry } from './metrics.js';

type Key = keyof ConfigInput;

/** What each setting does. Keyed by the schema, so a new setting without a line does not compile. */
const CONFIG_DOCS: Record<Key, string> = {
  domain: 'Devices are served on `<serial>.<domain>`.',
  portalHost: 'Exact host of the portal and the admin API.',
  listenHost: 'Address the HTTP(S) listeners and the WireGuard socket bind.',
  httpPort: 'Plain HTTP; redirects to HTTPS when HTTPS is configured.',
  httpsPort: 'HTTPS; set with the two TLS files (all three or none).',
  tlsCertFile: 'PEM certificate chain (wildcard for the device domain, plus the portal host); reloaded on SIGHUP.',
  tlsKeyFile: 'PEM private key of that certificate.',
  wgPort: 'UDP port of the WireGuard endpoint.',
  wgEndpoint: '`host:port` agents are told to dial.',
  overlayCidr: 'Tunnel addresses; the hub takes the first, each device a /32.',
  dataDir: 'The hub key (`hub.key`, 0600) and the embedded PGlite database.',
  databaseUrl: '`postgres://…` switches from PGlite to PostgreSQL.',
  trustProxy: 'Reverse-proxy hops in front of the hub whose `X-Forwarded-*` are believed (`true` = 1).',
  adminEmail: 'First admin account, created at start when missing.',
  adminPassword: 'Its password.',
  adminToken: 'An API token (`ph_api_…`) for that admin.',
  opsPort: 'Separate listener for `/metrics`, `/healthz`, `/readyz`; unset: no `/metrics`.',
  opsHost: 'Address the ops listener binds.',
  logLevel: '`debug`, `info`, `warn` or `error`.',
  dialTimeoutMs: 'Connecting to a device over the overlay (then 504).',
  responseTimeoutMs: "Until the device's response headers (then 504).",
  idleTimeoutMs: 'No bytes either way on a connection (then it is closed).',
  headersTimeoutMs: 'The whole request header must arrive within this (slowloris; then 408).',
  maxHeaderBytes: 'Request and response header block (431 above).',
  maxConnectionsPerIp: 'Open connections per client address.',
  shutdownGraceMs: 'Drain time on SIGTERM before open connections are cut.',
  deviceSessionTtlMs: "Lifetime of a visitor's device cookie.",
  wsTransport: 'WireGuard over WebSocket (`/.porthole/wg` on the portal host) for devices whose UDP is blocked: `on` or `off`.',
  wsMaxConnectionsPerIp: 'Open WebSocket carrier connections per client address (429 above).',
  wsMaxMessagesPerSecond: 'Datagrams per second per carrier connection; more are dropped.',
  wsIdleTimeoutMs: 'A carrier connection with no datagram for this long is closed.',
  deviceCaFile: 'PEM vendor CA certificates: registrations and claims must then carry a device attestation.',
  maxExposureHours: "Fleet maximum of an owner's exposure window, in hours; devices offer only shorter windows (unset: no maximum).",
};

/** Defaults computed from other settings at load time. */
const DERIVED_DEFAULTS: Partial<Record<Key, string>> = { portalHost: 'the domain', wgEndpoint: '`<domain>:<wgPort>`' };

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function configTable(): string {
  const rows = (Object.keys(ENV_KEYS) as Key[]).map((key) => {
    const { env, secret } = ENV_KEYS[key];
    const fallback = (DEFAULTS as Partial<Record<Key, unknown>>)[key];
    const def = fallback !== undefined ? `\`${String(fallback)}\`` : (DERIVED_DEFAULTS[key] ?? 'unset');
    const variable = secret ? `\`${env}\` or \`${env}_FILE\` (secret)` : `\`${env}\``;
    return `| \`${key}\` | ${variable} | ${def} | ${cell(CONFIG_DOCS[key])} |`;
  });
  return ['| setting (config file key) | environment variable | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

export function metricsTable(registry: Registry): string {
  const rows = registry
    .getMetricsAsArray()
    .map((m) => m as unknown as { name: string; help: string; type: string; labelNames: string[] })
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((m) => `| \`${m.name}\` | ${m.type} | ${m.labelNames.map((l) => `\`${l}\``).join(', ') || '—'} | ${cell(m.help)} |`);
  return ['| metric | type | labels | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

export function apiTable(routes: readonly RouteDef<never, never, never>[]): string {
  const auth = { none: 'none', read: 'token (read)', write: 'token (write)' } as const;
  const rows = routes.map((r) => `| ${r.method.toUpperCase()} | \`/api/v1${r.path}\` | ${auth[r.auth]} | ${cell(r.summary)} |`);
  return ['| method | path | auth | what it does |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
