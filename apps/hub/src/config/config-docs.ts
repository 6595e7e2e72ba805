// What each hub setting means, and the two renderings of the whole list: the configuration table of
// apps/hub/README.md and the hub's --help. Both come from here and from config-schema.ts, so the
// README, --help and what the loader accepts cannot disagree.
import { DEFAULTS, ENV_KEYS, type ConfigInput } from './config-schema.js';
import { SIGN_IN_DERIVED_DEFAULTS, SIGN_IN_DOCS } from './sign-in-config.js';

type Key = keyof ConfigInput;

/** What each setting does. Keyed by the schema, so a new setting without a line does not compile. */
const CONFIG_DOCS: Record<Key, string> = {
  domain: 'Devices are served on `<serial>.<domain>`.',
  portalHost: 'Exact host of the portal and the admin API.',
  deviceHost:
    'Single-host mode, for sites without wildcard DNS: every device is also served on this one host (a name or an IP address, with a port only when visitors use a non-default one), the device chosen on the portal or with `/.porthole/select?serial=`; device links then point here. Unset: serial hosts only.',
  listenHost: 'Address the HTTP(S) listeners and the WireGuard socket bind.',
  httpPort: 'Plain HTTP; redirects to HTTPS when HTTPS is configured.',
  httpsPort: 'HTTPS; set with the two TLS files (all three or none).',
  tlsCertFile: 'PEM certificate chain (wildcard for the device domain, plus the portal host); reloaded on SIGHUP.',
  tlsKeyFile: 'PEM private key of that certificate.',
  wgPort: 'UDP port of the WireGuard endpoint.',
  wgEndpoint: '`host:port` agents are told to dial.',
  overlayCidr: 'Tunnel addresses; the hub takes the first, each device a /32.',
  dataDir: 'The hub key (`hub.key`, 0600) and the embedded PGlite database (one hub at a time: the directory is locked).',
  databaseUrl: '`postgres://…` switches from PGlite to PostgreSQL.',
  trustProxy: 'Reverse-proxy hops in front of the hub whose `X-Forwarded-*` are believed (`true` = 1).',
  adminEmail: 'First admin account, created at start on a database without accounts (later: `npm start -- set-admin`).',
  adminPassword: 'Its password (at least 10 characters).',
  adminToken: 'An API token for that admin: 32 to 512 characters without spaces, best `ph_api_` and 32 random letters and digits (the prefix marks it as the hub\'s).',
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
  wgIngressThread:
    'Read the WireGuard socket and drop handshake floods (mac1, cookie replies under load, per-source limits) on a thread of its own (`on`; where worker threads are unavailable the hub reads on the main thread and logs why) or on the main thread (`off`: one thread fewer, but a flood that saturates a core keeps new devices from coming online for longer).',
  wgPeerSockets:
    "A UDP socket on the WireGuard port connected to each online device (`on`): the kernel queues that device's datagrams apart from everyone else's, so a handshake flood that outruns the socket's reader drops only flood datagrams. Needs SO_REUSEADDR on the port (any local process could then bind it too); `off`: one socket.",
  wsTransport: 'WireGuard over WebSocket (`/.porthole/wg` on the portal host) for devices whose UDP is blocked: `on` or `off`.',
  wsMaxConnectionsPerIp: 'Open WebSocket carrier connections per client address (429 above).',
  wsMaxMessagesPerSecond: 'Datagrams per second per carrier connection; more are dropped.',
  wsIdleTimeoutMs: 'A carrier connection with no datagram for this long is closed.',
  deviceCaFile: 'PEM vendor CA certificates: registrations and claims must then carry a device attestation.',
  maxExposureHours: "Fleet maximum of an owner's exposure window, in hours; devices offer only shorter windows (unset: no maximum).",
  webhookUrl: 'A hub-wide webhook endpoint: every event (`device.online`, `device.offline`, `access.started`, `window.ended`) is POSTed there as signed JSON, with retries (README: Webhooks). Needs the webhook secret.',
  webhookSecret: 'The HMAC-SHA256 key of the hub-wide webhook (16 to 256 characters), in `X-Porthole-Signature`. Give it as a file.',
  nodeName: "This node's name in a cluster, unique among the nodes (shown in the API's `node` fields and `/api/v1/cluster/nodes`).",
  clusterListen:
    "Cluster mode: `host:port` of this node's internal listener, which the other nodes dial to reach the devices this node holds (an address they can reach, not 0.0.0.0). Needs `DATABASE_URL`, the cluster secret, the same WireGuard key on every node and this node's own `PORTHOLE_WG_ENDPOINT`.",
  clusterSecret: 'The secret all nodes of a cluster share (at least 32 characters); a request to the internal listener without it is refused. Give it as a file.',
  wgKey:
    "The hub's WireGuard private key as `wg genkey` prints it; the same file on every node of a cluster. The database records its public key and a node with another key refuses to start.",
  ...SIGN_IN_DOCS,
};

/** Defaults computed from other settings at load time. */
const DERIVED_DEFAULTS: Partial<Record<Key, string>> = {
  portalHost: 'the domain',
  wgEndpoint: '`<domain>:<wgPort>`',
  nodeName: 'the host name',
  clusterListen: 'unset: a single node',
  wgKey: '`hub.key` in the data directory',
  ...SIGN_IN_DERIVED_DEFAULTS,
};

export interface SettingDoc {
  /** Key of the PORTHOLE_CONFIG file. */
  key: Key;
  /** Environment variable (secrets also accept `<env>_FILE`). */
  env: string;
  secret: boolean;
  /** Markdown: a value in backticks, or words such as "unset". */
  defaultText: string;
  /** Markdown. */
  meaning: string;
}

/** Every setting in schema order. */
export function settingDocs(): SettingDoc[] {
  return (Object.keys(ENV_KEYS) as Key[]).map((key) => {
    const { env, secret } = ENV_KEYS[key];
    const fallback = (DEFAULTS as Partial<Record<Key, unknown>>)[key];
    const defaultText = fallback !== undefined ? `\`${String(fallback)}\`` : (DERIVED_DEFAULTS[key] ?? 'unset');
    return { key, env, secret: secret === true, defaultText, meaning: CONFIG_DOCS[key] };
  });
}

/** Text fit for one cell of a markdown table. */
export const markdownCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The README's table (markdown). */
export function configTable(): string {
  const rows = settingDocs().map((s) => {
    const variable = s.secret ? `\`${s.env}\` or \`${s.env}_FILE\` (secret)` : `\`${s.env}\``;
    return `| \`${s.key}\` | ${variable} | ${s.defaultText} | ${markdownCell(s.meaning)} |`;
  });
  return ['| setting (config file key) | environment variable | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

const plain = (markdown: string) => markdown.replace(/`/g, '');

/** The settings part of `--help` (plain text, 100 columns at most per line of meaning). */
export function configHelp(): string {
  const lines: string[] = [];
  for (const s of settingDocs()) {
    const variable = s.secret ? `${s.env} or ${s.env}_FILE` : s.env;
    lines.push(`  ${variable}`, `      ${plain(s.meaning)}`, `      default: ${plain(s.defaultText)}; config file key: ${s.key}${s.secret ? '; secret' : ''}`);
  }
  return lines.join('\n');
}
