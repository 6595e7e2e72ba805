// Builds the hub configuration from defaults, then an optional JSON file (path in PORTHOLE_CONFIG),
// then PORTHOLE_* environment variables; validates once and reports every problem at once.
// Pure: the environment and a file reader are passed in (main.ts alone reads process.env).
import { hostname } from 'node:os';
import { adminCredentialProblems } from '../registry/admin-bootstrap.js';
import { parseCaBundle } from '../registry/attestation.js';
import { DEFAULTS, ENV_KEYS, type ConfigInput, type HubConfig, configSchema } from './config-schema.js';
import { signInProblems } from './sign-in-config.js';
import { parseDeviceHostSetting } from '../proxy/host-router.js';

/** Every configuration problem found, one line each, naming the variable or file key at fault. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export type FileReader = (path: string) => string;
type Key = keyof ConfigInput;

const KEYS = Object.keys(ENV_KEYS) as Key[];

function coerce(kind: 'string' | 'int' | 'hops', value: string): unknown {
  const v = value.trim();
  if (kind === 'int') return /^\d+$/.test(v) ? Number(v) : value;
  if (kind === 'hops') {
    if (/^(true|yes|on)$/i.test(v)) return 1;
    if (/^(false|no|off)$/i.test(v)) return 0;
    return /^\d+$/.test(v) ? Number(v) : value;
  }
  return v;
}

/** Secret files usually end in a newline that is not part of the secret. */
function readSecret(read: FileReader, path: string): string {
  return read(path).replace(/\r?\n$/, '');
}

export function loadConfig(env: Record<string, string | undefined>, readFile: FileReader): HubConfig {
  const problems: string[] = [];
  const raw: Record<string, unknown> = { ...DEFAULTS };
  const source: Partial<Record<Key, string>> = {};
  const isSet = (name: string) => env[name] !== undefined && env[name] !== '';

  // 1. Config file: camelCase keys as in HubConfig; secrets may be given as `<key>File`.
  const filePath = env.PORTHOLE_CONFIG;
  if (filePath) {
    let doc: unknown;
    try {
      doc = JSON.parse(readFile(filePath));
    } catch (err) {
      problems.push(`PORTHOLE_CONFIG: cannot read ${filePath} as JSON (${(err as Error).message})`);
    }
    if (doc !== undefined && (typeof doc !== 'object' || doc === null || Array.isArray(doc))) {
      problems.push(`${filePath}: must contain a JSON object`);
    } else if (doc !== undefined) {
      for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
        const base = key.endsWith('File') ? (key.slice(0, -4) as Key) : undefined;
        if (KEYS.includes(key as Key)) {
          raw[key] = value;
          source[key as Key] = `${filePath}: ${key}`;
        } else if (base && ENV_KEYS[base]?.secret) {
          try {
            raw[base] = readSecret(readFile, String(value));
            source[base] = `${filePath}: ${key}`;
          } catch (err) {
            problems.push(`${filePath}: ${key}: cannot read ${String(value)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
          }
        } else {
          problems.push(`${filePath}: unknown key "${key}"`);
        }
      }
    }
  }

  // 2. Environment: overrides the file. Empty values count as unset (common in compose files).
  for (const key of KEYS) {
    const { env: name, kind, secret } = ENV_KEYS[key];
    const fileVar = `${name}_FILE`;
    if (secret && isSet(fileVar)) {
      if (isSet(name)) {
        problems.push(`${name} and ${fileVar}: set only one of them`);
        continue;
      }
      try {
        raw[key] = readSecret(readFile, env[fileVar]!);
        source[key] = fileVar;
      } catch (err) {
        problems.push(`${fileVar}: cannot read ${env[fileVar]} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    } else if (isSet(name)) {
      raw[key] = coerce(kind, env[name]!);
      source[key] = name;
    }
  }

  const where = (key: Key) => source[key] ?? ENV_KEYS[key].env;
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = issue.path[0] as Key | undefined;
      if (key === undefined || !(key in ENV_KEYS)) {
        problems.push(issue.message);
        continue;
      }
      const got = ENV_KEYS[key].secret ? '' : ` (got ${JSON.stringify(raw[key])})`;
      problems.push(`${where(key)}: ${issue.message}${got}`);
    }
  }

  // 3. Rules that involve several keys.
  const c = result.success ? result.data : undefined;
  if (c) {
    const tlsParts = [c.httpsPort, c.tlsCertFile, c.tlsKeyFile].filter((v) => v !== undefined).length;
    if (tlsParts > 0 && tlsParts < 3) {
      problems.push(
        'PORTHOLE_HTTPS_PORT, PORTHOLE_TLS_CERT_FILE and PORTHOLE_TLS_KEY_FILE: set all three to serve HTTPS, or none',
      );
    }
    if (c.httpsPort !== undefined && c.httpsPort === c.httpPort) {
      problems.push(`${where('httpsPort')}: must differ from the HTTP port ${c.httpPort}`);
    }
    if (c.opsPort !== undefined && (c.opsPort === c.httpPort || c.opsPort === c.httpsPort)) {
      problems.push(`${where('opsPort')}: must differ from the HTTP(S) ports`);
    }
    if (c.deviceHost !== undefined) {
      const single = parseDeviceHostSetting(c.deviceHost)!;
      // The same name as the portal works only on a port of its own: routing goes by host and port.
      if (single.host === (c.portalHost ?? c.domain) && single.port === undefined) {
        problems.push(`${where('deviceHost')}: must differ from the portal host ${c.portalHost ?? c.domain}, or name the port visitors use for devices`);
      }
    }
    if (c.headersTimeoutMs >= c.idleTimeoutMs) {
      problems.push(`${where('headersTimeoutMs')}: must be shorter than the idle timeout (${c.idleTimeoutMs} ms)`);
    }
    // A cluster shares its state through PostgreSQL; PGlite is one process's database.
    const clusterKeys = (['clusterListen', 'clusterSecret'] as const).filter((k) => c[k] !== undefined);
    if (clusterKeys.length > 0 && c.databaseUrl === undefined) {
      problems.push(`${clusterKeys.map(where).join(' and ')}: a cluster needs DATABASE_URL (the nodes share one PostgreSQL database; the embedded PGlite serves one node)`);
    }
    if (c.clusterListen !== undefined && c.clusterSecret === undefined) {
      problems.push(`${where('clusterListen')}: needs the cluster secret (PORTHOLE_CLUSTER_SECRET_FILE), the same on every node`);
    }
    // Agents move between nodes by their endpoints: a shared default (<domain>:<wgPort>) names none.
    if (c.clusterListen !== undefined && c.wgEndpoint === undefined) {
      problems.push(`${where('clusterListen')}: needs this node's own WireGuard endpoint in PORTHOLE_WG_ENDPOINT (host:port agents reach this node at; UDP does not pass an HTTP load balancer)`);
    }
    if (c.clusterListen !== undefined && /^(0\.0\.0\.0|\[::\]):/.test(c.clusterListen)) {
      problems.push(`${where('clusterListen')}: must be an address the other nodes can dial, not ${c.clusterListen.slice(0, c.clusterListen.lastIndexOf(':'))}`);
    }
    if ((c.webhookUrl === undefined) !== (c.webhookSecret === undefined)) {
      problems.push(`${where(c.webhookUrl === undefined ? 'webhookSecret' : 'webhookUrl')}: the hub-wide webhook needs both PORTHOLE_WEBHOOK_URL and its secret (PORTHOLE_WEBHOOK_SECRET_FILE)`);
    }
    // The admin values are checked here, before the hub writes anything: a start that fails on them
    // must not leave an account behind.
    for (const p of adminCredentialProblems(c)) problems.push(`${where(p.field)}: ${p.message}`);
    for (const p of signInProblems(c, (key) => ENV_KEYS[key].env)) problems.push(`${where(p.key)}: ${p.message}`);
  }

  // 4. Files the hub needs at run time, read now (with the other problems) so that a bad one stops
  // the start rather than every device's registration.
  let deviceCaPem: string | undefined;
  const caFile = raw.deviceCaFile;
  if (typeof caFile === 'string' && caFile !== '') {
    try {
      deviceCaPem = readFile(caFile);
      for (const p of parseCaBundle(deviceCaPem).problems) problems.push(`${where('deviceCaFile')}: ${caFile} ${p}`);
    } catch (err) {
      problems.push(`${where('deviceCaFile')}: cannot read ${caFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }

  let ldapCaPem: string | undefined;
  const ldapCaFile = raw.ldapCaFile;
  if (typeof ldapCaFile === 'string' && ldapCaFile !== '') {
    try {
      ldapCaPem = readFile(ldapCaFile);
      if (!ldapCaPem.includes('-----BEGIN CERTIFICATE-----')) problems.push(`${where('ldapCaFile')}: ${ldapCaFile} holds no PEM certificate`);
    } catch (err) {
      problems.push(`${where('ldapCaFile')}: cannot read ${ldapCaFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }

  if (problems.length > 0 || !c) throw new ConfigError(problems);
  return {
    ...c,
    portalHost: c.portalHost ?? c.domain,
    wgEndpoint: c.wgEndpoint ?? `${c.domain}:${c.wgPort}`,
    nodeName: c.nodeName ?? defaultNodeName(),
    tls: c.httpsPort !== undefined,
    ...(deviceCaPem !== undefined ? { deviceCaPem } : {}),
    ...(ldapCaPem !== undefined ? { ldapCaPem } : {}),
  };
}

/** The host name, cut to what a node name may be. */
function defaultNodeName(): string {
  const name = hostname().replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 63);
  return name || 'hub';
}

/** The configuration as safe to log: secrets replaced by whether they are set. */
export function describeConfig(config: HubConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const key of KEYS) if (ENV_KEYS[key].secret && out[key] !== undefined) out[key] = '(set)';
  // Not secret, but long: the file name says where the certificates come from.
  if (config.deviceCaPem !== undefined) out.deviceCaPem = `(${parseCaBundle(config.deviceCaPem).certificates.length} certificates)`;
  if (config.ldapCaPem !== undefined) out.ldapCaPem = '(read from ldapCaFile)';
  return out;
}
