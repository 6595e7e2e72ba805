// The hub's configuration: every key, its environment variable, its config-file key, its type and
// default. Validated once by load-config.ts, which reports every problem.
import { isIPv4 } from 'node:net';
import { z } from 'zod';
import { formatDeviceHost, parseDeviceHostSetting } from '../proxy/host-router.js';
import { SIGN_IN_DEFAULTS, SIGN_IN_ENV_NAMES, SIGN_IN_SECRET_KEYS, signInFields } from './sign-in-config.js';

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
  /** A UDP socket on the WireGuard port connected to each online device (dataplane/peer-sockets.ts). */
  wgPeerSockets: z.enum(['on', 'off'], { message: 'must be on or off' }),
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
  wgIngressThread: 'on',
  wgPeerSockets: 'on',
  wsTransport: 'on',
  wsMaxConnectionsPerIp: 64,
  wsMaxMessagesPerSecond: 20_000,
  wsIdleTimeoutMs: 60_000,
  ...SIGN_IN_DEFAULTS,
} satisfies Partial<ConfigInput>;

export type FieldKind = 'string' | 'int' | 'hops';

/** How a key is given in the environment. */
export interface EnvKey {
  env: string;
  kind: FieldKind;
  /** Also `<env>_FILE`, naming a file to read; logs show only whether it is set. */
  secret?: boolean;
}

type Key = keyof ConfigInput;

/** The settings given as secrets. */
const SECRET_KEYS: readonly Key[] = ['databaseUrl', 'adminPassword', 'adminToken', 'webhookSecret', 'clusterSecret', 'wgKey', ...SIGN_IN_SECRET_KEYS];

/** Variables not named PORTHOLE_ and the key in capitals. */
const ENV_NAMES: Partial<Record<Key, string>> = { databaseUrl: 'DATABASE_URL', ...SIGN_IN_ENV_NAMES };

/** How a variable's text is read: a number where the schema takes one (trustProxy: hops, or true/false). */
function kindOf(key: Key, field: z.ZodType): FieldKind {
  if (key === 'trustProxy') return 'hops';
  const inner = field instanceof z.ZodOptional ? field.unwrap() : field;
  return inner instanceof z.ZodNumber ? 'int' : 'string';
}

/**
 * Environment variable per key, in the schema's order: PORTHOLE_ and the key in capitals
 * (`wsIdleTimeoutMs`: PORTHOLE_WS_IDLE_TIMEOUT_MS) unless ENV_NAMES says otherwise.
 */
export const ENV_KEYS = Object.fromEntries(
  (Object.entries(configSchema.shape) as [Key, z.ZodType][]).map(([key, field]) => [
    key,
    { env: ENV_NAMES[key] ?? `PORTHOLE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`, kind: kindOf(key, field), ...(SECRET_KEYS.includes(key) ? { secret: true } : {}) },
  ]),
) as Record<Key, EnvKey>;
