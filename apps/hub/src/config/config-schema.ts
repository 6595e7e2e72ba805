// The hub's configuration: every key, its environment variable, its config-file key, its type and
// default. Validated once by load-config.ts, which reports every problem.
import { isIPv4 } from 'node:net';
import { z } from 'zod';
import { formatDeviceHost, parseDeviceHostSetting } from '../proxy/host-router.js';
import { SIGN_IN_DEFAULTS, SIGN_IN_ENV_KEYS, signInFields } from './sign-in-config.js';

/** A DNS host name (lowercase labels, no trailing dot, no port). */
const HOSTNAME_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

const hostname = z
  .string()
  .transform((s) => s.trim().toLowerCase().replace(/\.$/, ''))
  .refine((s) => HOSTNAME_RE.test(s), { message: 'must be a DNS host name such as example.io' });

const port = z.number({ message: 'must be a port number' }).int('must be an integer').min(1, 'must be 1-65535').max(65535, 'must be 1-65535');
const positiveMs = z.number({ message: 'must be a number of milliseconds' }).int('must be an integer').min(1, 'must be at least 1');

const cidr = z.string().refine(
  (s) => {
    const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(s);
    return m !== null && isIPv4(m[1]!) && Number(m[2]) >= 8 && Number(m[2]) <= 30;
  },
  { message: 'must be an IPv4 CIDR with a prefix of /8 to /30, such as 100.64.0.0/10' },
);

const hostPort = z.string().refine((s) => /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(s) && Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, {
  message: 'must be host:port, such as hub.example.io:51820',
});

/** A node's name in the cluster: a DNS-label-like word, since it is logged, shown and a primary key. */
const nodeName = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, dots, dashes or underscores, starting with a letter or digit');

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** The validated configuration. Everything else in the hub receives this, never process.env. */
export const configSchema = z.strictObject({
  /** Devices live on `<serial>.<domain>`. */
  domain: hostname,
  /** Exact host of the portal and API; defaults to `domain`. */
  portalHost: hostname.optional(),
  /** Single-host mode: every device on this one host (name or IP, optional port), by the visitor's selection. */
  deviceHost: z
    .string()
    .transform((s, ctx) => {
      const parsed = parseDeviceHostSetting(s);
      if (parsed) return formatDeviceHost(parsed);
      ctx.addIssue({ code: 'custom', message: 'must be a host name or IP address with an optional port, such as devices.example.io or 192.0.2.10:8443' });
      return z.NEVER;
    })
    .optional(),
  listenHost: z.string().min(1, 'must not be empty'),
  httpPort: port,
  httpsPort: port.optional(),
  tlsCertFile: z.string().min(1).optional(),
  tlsKeyFile: z.string().min(1).optional(),
  wgPort: port,
  /** What devices are told to dial; defaults to `<domain>:<wgPort>`. */
  wgEndpoint: hostPort.optional(),
  overlayCidr: cidr,
  dataDir: z.string().min(1, 'must not be empty'),
  databaseUrl: z
    .string()
    .refine((s) => /^postgres(ql)?:\/\/./.test(s), { message: 'must be a postgres:// or postgresql:// URL' })
    .optional(),
  /** Number of trusted reverse-proxy hops in front of the hub (0 = do not trust X-Forwarded-*). */
  trustProxy: z.number({ message: 'must be true, false or a number of proxy hops' }).int().min(0).max(10),
  adminEmail: z.email({ message: 'must be an e-mail address' }).optional(),
  adminPassword: z.string().min(1, 'must not be empty').optional(),
  adminToken: z.string().min(1, 'must not be empty').optional(),
  /** Separate listener for /metrics, /healthz, /readyz (disabled when unset). */
  opsPort: port.optional(),
  opsHost: z.string().min(1),
  logLevel: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }),
  dialTimeoutMs: positiveMs,
  responseTimeoutMs: positiveMs,
  idleTimeoutMs: positiveMs,
  headersTimeoutMs: positiveMs,
  maxHeaderBytes: z.number().int().min(1024, 'must be at least 1024').max(65536, 'must be at most 65536'),
  maxConnectionsPerIp: z.number().int().min(1, 'must be at least 1'),
  shutdownGraceMs: positiveMs,
  deviceSessionTtlMs: positiveMs,
  /** The WireGuard socket read and flood-checked on a thread of its own (dataplane/udp-ingress.ts). */
  wgIngressThread: z.enum(['on', 'off'], { message: 'must be on or off' }),
  /** WireGuard over WebSocket on the portal host (`/.porthole/wg`) for devices whose UDP is blocked. */
  wsTransport: z.enum(['on', 'off'], { message: 'must be on or off' }),
  /** Open WebSocket carrier connections per client address. */
  wsMaxConnectionsPerIp: z.number().int().min(1, 'must be at least 1'),
  /** Datagrams per second per WebSocket carrier connection; more are dropped. */
  wsMaxMessagesPerSecond: z.number().int().min(100, 'must be at least 100'),
  /** A WebSocket carrier connection with no datagram for this long is closed. */
  wsIdleTimeoutMs: positiveMs,
  /** PEM file of vendor CA certificates: registrations and claims must then carry a device attestation. */
  deviceCaFile: z.string().min(1, 'must not be empty').optional(),
  /** Fleet maximum of an owner's exposure window in hours; devices offer only shorter windows (unset: no maximum). */
  maxExposureHours: z.number().int('must be a whole number of hours').min(1, 'must be at least 1').max(8760, 'must be at most 8760 (a year)').optional(),
  /** Hub-wide webhook endpoint: every event, signed with webhookSecret. */
  webhookUrl: z.url({ protocol: /^https?$/, message: 'must be an http or https URL' }).max(2048, 'must have at most 2048 characters').optional(),
  webhookSecret: z.string().min(16, 'must be at least 16 characters').max(256, 'must be at most 256 characters').optional(),
  /** This node's name in a cluster (unique); default the host name. */
  nodeName: nodeName.optional(),
  /** host:port of this node's internal cluster listener, also what other nodes dial; set = cluster mode. */
  clusterListen: hostPort.optional(),
  /** The secret every node of the cluster shares (internal listener authentication). */
  clusterSecret: z.string().min(32, 'must be at least 32 characters (for example: openssl rand -base64 32)').max(1024, 'must be at most 1024 characters').optional(),
  /** The hub's WireGuard private key as `wg genkey` prints it (default: hub.key in the data directory). */
  wgKey: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/, 'must be a WireGuard private key as `wg genkey` prints it (44 characters of base64)')
    .optional(),
  /** Portal sign-in: local passwords, OpenID Connect, LDAP (sign-in-config.ts). */
  ...signInFields,
});

export type ConfigInput = z.input<typeof configSchema>;

/** The hub configuration after validation, with derived defaults filled in. */
export interface HubConfig extends Omit<z.output<typeof configSchema>, 'portalHost' | 'wgEndpoint' | 'nodeName'> {
  portalHost: string;
  wgEndpoint: string;
  /** This node's name (the host name unless PORTHOLE_NODE_NAME says otherwise). */
  nodeName: string;
  /** True when the hub terminates TLS itself (httpsPort + certificate files). */
  tls: boolean;
  /** The certificates of deviceCaFile, read and checked at load (undefined: no attestation). */
  deviceCaPem?: string | undefined;
  /** The certificates of ldapCaFile, read at load (undefined: the system's CAs). */
  ldapCaPem?: string | undefined;
}

export const DEFAULTS = {
  domain: 'localhost',
  listenHost: '0.0.0.0',
  httpPort: 8080,
  wgPort: 51820,
  overlayCidr: '100.64.0.0/10',
  dataDir: 'data',
  trustProxy: 0,
  opsHost: '127.0.0.1',
  logLevel: 'info',
  dialTimeoutMs: 10_000,
  responseTimeoutMs: 60_000,
  idleTimeoutMs: 120_000,
  headersTimeoutMs: 20_000,
  maxHeaderBytes: 16_384,
  maxConnectionsPerIp: 256,
  shutdownGraceMs: 10_000,
  deviceSessionTtlMs: 12 * 3600_000,
  wgIngressThread: 'off',
  wsTransport: 'on',
  wsMaxConnectionsPerIp: 64,
  wsMaxMessagesPerSecond: 20_000,
  wsIdleTimeoutMs: 60_000,
  ...SIGN_IN_DEFAULTS,
} satisfies Partial<ConfigInput>;

export type FieldKind = 'string' | 'int' | 'hops';

/** Environment variable per key. Secrets also accept `<VAR>_FILE` naming a file to read. */
export const ENV_KEYS: Record<keyof ConfigInput, { env: string; kind: FieldKind; secret?: boolean }> = {
  domain: { env: 'PORTHOLE_DOMAIN', kind: 'string' },
  portalHost: { env: 'PORTHOLE_PORTAL_HOST', kind: 'string' },
  deviceHost: { env: 'PORTHOLE_DEVICE_HOST', kind: 'string' },
  listenHost: { env: 'PORTHOLE_LISTEN_HOST', kind: 'string' },
  httpPort: { env: 'PORTHOLE_HTTP_PORT', kind: 'int' },
  httpsPort: { env: 'PORTHOLE_HTTPS_PORT', kind: 'int' },
  tlsCertFile: { env: 'PORTHOLE_TLS_CERT_FILE', kind: 'string' },
  tlsKeyFile: { env: 'PORTHOLE_TLS_KEY_FILE', kind: 'string' },
  wgPort: { env: 'PORTHOLE_WG_PORT', kind: 'int' },
  wgEndpoint: { env: 'PORTHOLE_WG_ENDPOINT', kind: 'string' },
  overlayCidr: { env: 'PORTHOLE_OVERLAY_CIDR', kind: 'string' },
  dataDir: { env: 'PORTHOLE_DATA_DIR', kind: 'string' },
  databaseUrl: { env: 'DATABASE_URL', kind: 'string', secret: true },
  trustProxy: { env: 'PORTHOLE_TRUST_PROXY', kind: 'hops' },
  adminEmail: { env: 'PORTHOLE_ADMIN_EMAIL', kind: 'string' },
  adminPassword: { env: 'PORTHOLE_ADMIN_PASSWORD', kind: 'string', secret: true },
  adminToken: { env: 'PORTHOLE_ADMIN_TOKEN', kind: 'string', secret: true },
  opsPort: { env: 'PORTHOLE_OPS_PORT', kind: 'int' },
  opsHost: { env: 'PORTHOLE_OPS_HOST', kind: 'string' },
  logLevel: { env: 'PORTHOLE_LOG_LEVEL', kind: 'string' },
  dialTimeoutMs: { env: 'PORTHOLE_DIAL_TIMEOUT_MS', kind: 'int' },
  responseTimeoutMs: { env: 'PORTHOLE_RESPONSE_TIMEOUT_MS', kind: 'int' },
  idleTimeoutMs: { env: 'PORTHOLE_IDLE_TIMEOUT_MS', kind: 'int' },
  headersTimeoutMs: { env: 'PORTHOLE_HEADERS_TIMEOUT_MS', kind: 'int' },
  maxHeaderBytes: { env: 'PORTHOLE_MAX_HEADER_BYTES', kind: 'int' },
  maxConnectionsPerIp: { env: 'PORTHOLE_MAX_CONNECTIONS_PER_IP', kind: 'int' },
  shutdownGraceMs: { env: 'PORTHOLE_SHUTDOWN_GRACE_MS', kind: 'int' },
  deviceSessionTtlMs: { env: 'PORTHOLE_DEVICE_SESSION_TTL_MS', kind: 'int' },
  wgIngressThread: { env: 'PORTHOLE_WG_INGRESS_THREAD', kind: 'string' },
  wsTransport: { env: 'PORTHOLE_WS_TRANSPORT', kind: 'string' },
  wsMaxConnectionsPerIp: { env: 'PORTHOLE_WS_MAX_CONNECTIONS_PER_IP', kind: 'int' },
  wsMaxMessagesPerSecond: { env: 'PORTHOLE_WS_MAX_MESSAGES_PER_SECOND', kind: 'int' },
  wsIdleTimeoutMs: { env: 'PORTHOLE_WS_IDLE_TIMEOUT_MS', kind: 'int' },
  deviceCaFile: { env: 'PORTHOLE_DEVICE_CA_FILE', kind: 'string' },
  maxExposureHours: { env: 'PORTHOLE_MAX_EXPOSURE_HOURS', kind: 'int' },
  webhookUrl: { env: 'PORTHOLE_WEBHOOK_URL', kind: 'string' },
  webhookSecret: { env: 'PORTHOLE_WEBHOOK_SECRET', kind: 'string', secret: true },
  nodeName: { env: 'PORTHOLE_NODE_NAME', kind: 'string' },
  clusterListen: { env: 'PORTHOLE_CLUSTER_LISTEN', kind: 'string' },
  clusterSecret: { env: 'PORTHOLE_CLUSTER_SECRET', kind: 'string', secret: true },
  wgKey: { env: 'PORTHOLE_WG_KEY', kind: 'string', secret: true },
  ...SIGN_IN_ENV_KEYS,
};
