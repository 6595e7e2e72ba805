// Agent configuration: flags (`--hub-url …`) over environment (`PORTHOLE_AGENT_*`) over defaults,
// validated once; every problem is reported together so an operator fixes them in one pass.
// Pure: argv, env and a file reader are passed in; only main.ts touches process.
import { isIP } from 'node:net';
import { DEVICE_CONTROL_PORT } from '@porthole/device-control';
import { loadDeviceCredential, type DeviceCredential } from './attestation.js';
import { DEFAULT_NETWORK, TRANSPORT_MODES, parseProxyUrl, redactProxyUrl, type NetworkSettings, type TransportMode } from './transport/network-settings.js';

export interface ExposedPort {
  /** Overlay port the hub connects to. */
  port: number;
  host: string;
  targetPort: number;
  /** Plain TCP (default), or Modbus/TCP with every write answered by an exception, never forwarded. */
  mode?: 'tcp' | 'modbus-read-only';
}



export interface AgentConfig {
  hubUrl: URL;
  serial: string;
  stateDir: string;
  /** Local target for overlay port 80: http(s)://host[:port] (origin only). */
  target: URL;
  expose: ExposedPort[];
  /** Local "Remote access" UI; undefined = no local UI (the device embeds it instead). */
  listen: { host: string; port: number } | undefined;
  /** Extra Host header values the local UI accepts (DNS-rebinding allowlist). */
  uiHosts: string[];
  password: string | undefined;
  enrollmentToken: string | undefined;
  logFile: string | undefined;
  logRetentionDays: number;
  logLevel: LogLevelName;
  /** Egress proxy and WireGuard transport; the Remote access page may override them. */
  network: NetworkSettings;
  /** How often UDP is probed while the tunnel runs over the WebSocket carrier. */
  udpProbeIntervalMs: number;
  /** Device certificate and key: registrations and claims are attested (hubs with a device CA require it). */
  deviceCredential: DeviceCredential | undefined;
}

export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';

export type ConfigResult =
  | { ok: true; config: AgentConfig }
  | { ok: false; problems: string[] }
  | { ok: 'help' };

/** One option: its flag, its environment variable, whether it repeats, its default. */
export interface OptionSpec {
  flag: string;
  env: string;
  repeat?: boolean;
  description: string;
  /** Shown in --help; absent = none (optional, or required when the description says so). */
  default?: string;
}

export const OPTIONS: OptionSpec[] = [
  { flag: 'hub-url', env: 'PORTHOLE_AGENT_HUB_URL', description: 'hub base URL, e.g. https://portal.example.io (required)' },
  { flag: 'serial', env: 'PORTHOLE_AGENT_SERIAL', description: 'device serial (DNS label), e.g. an12345678 (required)' },
  { flag: 'state-dir', env: 'PORTHOLE_AGENT_STATE_DIR', description: 'state directory: key, registration, access journal', default: '/var/lib/porthole-agent' },
  { flag: 'target', env: 'PORTHOLE_AGENT_TARGET', description: 'local target of overlay port 80 (the web UI)', default: 'http://127.0.0.1:80' },
  { flag: 'expose', env: 'PORTHOLE_AGENT_EXPOSE', repeat: true, description: 'extra TCP port PORT=HOST:PORT, or PORT=HOST:PORT:modbus-read-only (repeatable; env: comma-separated)' },
  { flag: 'listen', env: 'PORTHOLE_AGENT_LISTEN', description: 'local UI address HOST:PORT or "off"', default: '127.0.0.1:8088' },
  { flag: 'ui-host', env: 'PORTHOLE_AGENT_UI_HOSTS', repeat: true, description: 'extra Host names the local UI answers to (repeatable)' },
  { flag: 'password', env: 'PORTHOLE_AGENT_PASSWORD', description: 'local UI password (prefer --password-file)' },
  { flag: 'password-file', env: 'PORTHOLE_AGENT_PASSWORD_FILE', description: 'file holding the local UI password' },
  { flag: 'enrollment-token', env: 'PORTHOLE_AGENT_ENROLLMENT_TOKEN', description: 'enrollment token: register unattended at start' },
  { flag: 'enrollment-token-file', env: 'PORTHOLE_AGENT_ENROLLMENT_TOKEN_FILE', description: 'file holding the enrollment token' },
  { flag: 'log-file', env: 'PORTHOLE_AGENT_LOG_FILE', description: 'also log to this file, rotated daily' },
  { flag: 'log-retention', env: 'PORTHOLE_AGENT_LOG_RETENTION', description: 'rotated log files kept', default: '7' },
  { flag: 'log-level', env: 'PORTHOLE_AGENT_LOG_LEVEL', description: 'debug | info | warn | error', default: 'info' },
  { flag: 'proxy', env: 'PORTHOLE_AGENT_PROXY', description: 'egress proxy: socks5://[user[:pass]@]host:port, socks4a://host:port or http://host:port (CONNECT)' },
  { flag: 'proxy-password-file', env: 'PORTHOLE_AGENT_PROXY_PASSWORD_FILE', description: 'file holding the proxy password (instead of the URL)' },
  { flag: 'transport', env: 'PORTHOLE_AGENT_TRANSPORT', description: 'auto (UDP, WebSocket fallback) | udp | websocket', default: 'auto' },
  { flag: 'udp-probe-interval', env: 'PORTHOLE_AGENT_UDP_PROBE_INTERVAL', description: 'seconds between UDP probes while on the WebSocket', default: '30' },
  { flag: 'device-cert', env: 'PORTHOLE_AGENT_DEVICE_CERT', description: 'PEM device certificate naming the serial (then intermediates): attest registrations and claims' },
  { flag: 'device-key', env: 'PORTHOLE_AGENT_DEVICE_KEY', description: 'PEM private key (EC P-256 or Ed25519) of --device-cert' },
];

const DEFAULTS = new Map(OPTIONS.filter((o) => o.default !== undefined).map((o) => [o.flag, o.default!]));

/** Every option with its environment variable and default, from OPTIONS (the one list the parser uses too). */
export function usage(): string {
  const lines = ['Usage: porthole-agent [options]', '', 'Options (each also as an environment variable; a flag wins over the variable):', ''];
  for (const o of OPTIONS) {
    lines.push(`  --${o.flag} ${o.repeat ? 'VALUE (repeatable)' : 'VALUE'}`);
    lines.push(`      ${o.description}`);
    lines.push(`      env ${o.env}${o.default !== undefined ? `, default ${o.default}` : ''}`);
  }
  lines.push('  --help, -h', '      this text');
  return lines.join('\n');
}

/** Link-local / cloud-metadata addresses: never a device UI, a classic SSRF target. */
function isLinkLocal(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return /^169\.254\./.test(h) || /^fe[89ab][0-9a-f]:/.test(h);
}

const SERIAL_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Splits argv into repeated option values; unknown flags and missing values become problems. */
function parseArgv(argv: string[], problems: string[]): Map<string, string[]> | 'help' {
  const values = new Map<string, string[]>();
  const known = new Map(OPTIONS.map((o) => [o.flag, o]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    if (!arg.startsWith('--')) {
      problems.push(`unexpected argument "${arg}"`);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (!known.has(name)) {
      problems.push(`unknown option --${name}`);
      // Swallow its value too, so one typo is reported once.
      if (eq === -1 && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) i++;
      continue;
    }
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        problems.push(`--${name} needs a value`);
        continue;
      }
      value = next;
      i++;
    }
    const list = values.get(name) ?? [];
    list.push(value);
    values.set(name, list);
  }
  return values;
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** "HOST:PORT" with IPv6 in brackets. */
function parseHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d+)$/.exec(text);
  if (!m) return undefined;
  const host = m[1] ?? m[2]!;
  const port = parsePort(m[3]!);
  if (port === undefined) return undefined;
  if (m[1] !== undefined && isIP(host) !== 6) return undefined;
  return { host, port };
}

export interface ConfigSources {
  argv: string[];
  env: Record<string, string | undefined>;
  /** Reads a secret file; throws when it cannot. */
  readFile: (path: string) => string;
}

/** Parses and validates; returns every problem found, not just the first. */
export function loadAgentConfig({ argv, env, readFile }: ConfigSources): ConfigResult {
  const problems: string[] = [];
  const parsed = parseArgv(argv, problems);
  if (parsed === 'help') return { ok: 'help' };

  const all = (flag: string): string[] => {
    const spec = OPTIONS.find((o) => o.flag === flag)!;
    const fromFlag = parsed.get(flag);
    if (fromFlag) return fromFlag;
    const fromEnv = env[spec.env];
    if (fromEnv === undefined || fromEnv === '') return [];
    return spec.repeat ? fromEnv.split(',').map((s) => s.trim()).filter(Boolean) : [fromEnv];
  };
  const one = (flag: string): string | undefined => {
    const list = all(flag);
    if (list.length > 1) problems.push(`--${flag} given ${list.length} times; it takes one value`);
    return list.at(-1);
  };
  const secret = (flag: string): string | undefined => {
    const direct = one(flag);
    const file = one(`${flag}-file`);
    if (direct !== undefined && file !== undefined) {
      problems.push(`--${flag} and --${flag}-file are both set; use one`);
    }
    if (file === undefined) return direct;
    try {
      const text = readFile(file).trim();
      if (text === '') problems.push(`--${flag}-file ${file} is empty`);
      return text;
    } catch (err) {
      problems.push(`--${flag}-file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      return undefined;
    }
  };

  let hubUrl: URL | undefined;
  const hubText = one('hub-url');
  if (hubText === undefined) problems.push('--hub-url is required (PORTHOLE_AGENT_HUB_URL)');
  else {
    try {
      hubUrl = new URL(hubText);
      if (hubUrl.protocol !== 'http:' && hubUrl.protocol !== 'https:') {
        problems.push(`--hub-url "${hubText}" must be http:// or https://`);
      }
    } catch {
      problems.push(`--hub-url "${hubText}" is not a URL`);
    }
  }

  const serialText = one('serial');
  let serial = '';
  if (serialText === undefined) problems.push('--serial is required (PORTHOLE_AGENT_SERIAL)');
  else {
    serial = serialText.toLowerCase();
    if (!SERIAL_RE.test(serial)) {
      problems.push(`--serial "${serialText}" must be a DNS label: a-z, 0-9 and inner hyphens, 1–63 characters`);
    }
  }

  const stateDir = one('state-dir') ?? DEFAULTS.get('state-dir')!;

  let target: URL | undefined;
  const targetText = one('target') ?? DEFAULTS.get('target')!;
  try {
    const u = new URL(targetText);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      problems.push(`--target "${targetText}" must be http:// or https://`);
    } else if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash || u.username) {
      problems.push(`--target "${targetText}" must be an origin only (scheme, host, port)`);
    } else if (isLinkLocal(u.hostname)) {
      problems.push(`--target "${targetText}" is a link-local address; refused`);
    } else target = new URL(u.origin);
  } catch {
    problems.push(`--target "${targetText}" is not a URL`);
  }

  const expose: ExposedPort[] = [];
  for (const item of all('expose')) {
    const m = /^(\d+)=(.+?)(?::(modbus-read-only))?$/.exec(item);
    const port = m ? parsePort(m[1]!) : undefined;
    const hp = m ? parseHostPort(m[2]!) : undefined;
    if (!m || port === undefined || hp === undefined) {
      problems.push(`--expose "${item}" must look like 22=127.0.0.1:22 or 502=127.0.0.1:502:modbus-read-only`);
      continue;
    }
    if (port === 80) problems.push(`--expose "${item}": overlay port 80 is the --target`);
    else if (port === DEVICE_CONTROL_PORT) problems.push(`--expose "${item}": overlay port ${DEVICE_CONTROL_PORT} is reserved for the hub's control channel`);
    else if (isLinkLocal(hp.host)) problems.push(`--expose "${item}": link-local targets are refused`);
    else if (expose.some((e) => e.port === port)) problems.push(`--expose "${item}": port ${port} exposed twice`);
    else expose.push({ port, host: hp.host, targetPort: hp.port, ...(m[3] ? { mode: 'modbus-read-only' as const } : {}) });
  }

  let listen: AgentConfig['listen'];
  const listenText = one('listen') ?? DEFAULTS.get('listen')!;
  if (listenText !== 'off') {
    listen = parseHostPort(listenText);
    if (!listen) problems.push(`--listen "${listenText}" must be HOST:PORT or "off"`);
  }

  const password = secret('password');
  if (listen && password === undefined) {
    problems.push('the local UI needs --password-file (or --password), or --listen off');
  } else if (password !== undefined && password.length > 0 && password.length < 8) {
    problems.push('the local UI password must be at least 8 characters');
  }

  const enrollmentToken = secret('enrollment-token');

  const retentionText = one('log-retention') ?? DEFAULTS.get('log-retention')!;
  const logRetentionDays = Number(retentionText);
  if (!/^\d+$/.test(retentionText) || logRetentionDays < 1 || logRetentionDays > 3650) {
    problems.push(`--log-retention "${retentionText}" must be a whole number of files, 1–3650`);
  }
  const logLevelText = one('log-level') ?? DEFAULTS.get('log-level')!;
  if (!['debug', 'info', 'warn', 'error'].includes(logLevelText)) {
    problems.push(`--log-level "${logLevelText}" must be debug, info, warn or error`);
  }

  const network: NetworkSettings = { ...DEFAULT_NETWORK };
  const proxyText = one('proxy');
  if (proxyText !== undefined) {
    const r = parseProxyUrl(proxyText);
    if (!r.ok) problems.push(`--proxy ${redactProxyUrl(proxyText)}: ${r.problem}`);
    else network.proxy = r.proxy;
  }
  const proxyPasswordFile = one('proxy-password-file');
  if (proxyPasswordFile !== undefined) {
    if (!network.proxy) problems.push('--proxy-password-file needs --proxy');
    else if (network.proxy.password !== undefined) problems.push('--proxy has a password and --proxy-password-file is set; use one');
    else if (network.proxy.kind === 'socks4a') problems.push('--proxy-password-file: SOCKS4a has no password');
    else {
      try {
        network.proxy = { ...network.proxy, password: readFile(proxyPasswordFile).replace(/\r?\n$/, '') };
        network.proxy.username ??= '';
      } catch (err) {
        problems.push(`--proxy-password-file ${proxyPasswordFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
  }
  const transportText = one('transport') ?? DEFAULTS.get('transport')!;
  if (!(TRANSPORT_MODES as readonly string[]).includes(transportText)) problems.push(`--transport "${transportText}" must be auto, udp or websocket`);
  else network.transport = transportText as TransportMode;
  if (network.proxy?.kind === 'socks4a' && network.transport === 'udp') problems.push('--transport udp cannot go through a SOCKS4a proxy (TCP only)');

  const probeText = one('udp-probe-interval') ?? DEFAULTS.get('udp-probe-interval')!;
  const udpProbeIntervalMs = Number(probeText) * 1000;
  if (!/^\d+$/.test(probeText) || udpProbeIntervalMs < 1000 || udpProbeIntervalMs > 3_600_000) {
    problems.push(`--udp-probe-interval "${probeText}" must be a whole number of seconds, 1–3600`);
  }

  let deviceCredential: DeviceCredential | undefined;
  const certFile = one('device-cert');
  const keyFile = one('device-key');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    problems.push('--device-cert and --device-key go together: give both or neither');
  } else if (certFile !== undefined && keyFile !== undefined) {
    const read = (flag: string, file: string): string | undefined => {
      try {
        return readFile(file);
      } catch (err) {
        problems.push(`--${flag} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
        return undefined;
      }
    };
    const certPem = read('device-cert', certFile);
    const keyPem = read('device-key', keyFile);
    if (certPem !== undefined && keyPem !== undefined) {
      const loaded = loadDeviceCredential(certPem, keyPem);
      if (loaded.ok) deviceCredential = loaded.credential;
      else problems.push(loaded.problem);
    }
  }

  const uiHosts = all('ui-host').map((h) => h.toLowerCase());
  const logFile = one('log-file');

  if (problems.length > 0 || !hubUrl || !target) return { ok: false, problems };
  return {
    ok: true,
    config: {
      hubUrl,
      serial,
      stateDir,
      target,
      expose,
      listen,
      uiHosts,
      password,
      enrollmentToken,
      logFile,
      logRetentionDays,
      logLevel: logLevelText as LogLevelName,
      network,
      udpProbeIntervalMs,
      deviceCredential,
    },
  };
}
