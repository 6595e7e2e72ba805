// `npm run demo`: the whole product on this machine's loopback in one process: the hub (embedded
// PGlite in a fresh temporary directory, or --data-dir), the demo meter with its embedded agent.
// Prints where to click; prints the public URL once the owner enabled remote access; Ctrl-C stops
// everything cleanly (exit code 0). Logs go to <data dir>/demo.log, not to the terminal. The hub
// trusts the demo CA and the meter attests with its demo certificate, so the device shows as attested.
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createAgent, createDefaultTunnelFactory, loadDeviceCredential, StateStore } from '@porthole/agent';
import { createMeter, DEMO_CA_FILE, DEMO_DEVICE_CERT_FILE, DEMO_DEVICE_KEY_FILE, DEMO_SERIAL } from '@porthole/demo-meter';
import { createHub, loadConfig } from '@porthole/hub';
import { createLogger } from '@porthole/log';

const SERIAL = DEMO_SERIAL;
const METER_PASSWORD = 'meter-demo';

/** The demo's options: the parser and --help both read this table. */
const OPTIONS = [
  { flag: 'hub-port', env: 'PORTHOLE_DEMO_HUB_PORT', default: '8080', description: 'portal, admin API and device hosts (HTTP)' },
  { flag: 'meter-port', env: 'PORTHOLE_DEMO_METER_PORT', default: '8081', description: "the demo meter's own web UI" },
  { flag: 'wg-port', env: 'PORTHOLE_DEMO_WG_PORT', default: '51820', description: "the hub's WireGuard UDP port" },
  { flag: 'data-dir', env: 'PORTHOLE_DEMO_DATA_DIR', default: undefined, description: 'keep hub data, agent state, logs and the admin account here (default: a temporary directory removed on exit)' },
] as const;
type Flag = (typeof OPTIONS)[number]['flag'];

function usage(): string {
  const lines = ['Usage: npm run demo -- [options]', '', 'The hub, the demo meter and its agent on this machine (loopback only).', ''];
  for (const o of OPTIONS) {
    lines.push(`  --${o.flag} VALUE`, `      ${o.description}`, `      env ${o.env}${o.default !== undefined ? `, default ${o.default}` : ''}`);
  }
  lines.push('  --help, -h', '      this text');
  return lines.join('\n');
}

let parsed: ReturnType<typeof parseArgs<{ options: Record<Flag | 'help', { type: 'string' | 'boolean'; short?: string }> }>>;
try {
  parsed = parseArgs({
    options: { ...Object.fromEntries(OPTIONS.map((o) => [o.flag, { type: 'string' as const }])), help: { type: 'boolean', short: 'h' } } as Record<Flag | 'help', { type: 'string' | 'boolean'; short?: string }>,
  });
} catch (err) {
  // parseArgs names the option ("Unknown option '--x'"); no stack trace for a typo.
  console.error(`demo: ${(err as Error).message.split('. ')[0]}. Run "npm run demo -- --help" for the options.`);
  process.exit(2);
}
if (parsed.values.help) {
  console.log(usage());
  process.exit(0);
}
const option = (flag: Flag): string | undefined => {
  const spec = OPTIONS.find((o) => o.flag === flag)!;
  const given = parsed.values[flag];
  return typeof given === 'string' ? given : (process.env[spec.env] || spec.default);
};
const port = (name: 'hub-port' | 'meter-port' | 'wg-port'): number => {
  const n = Number(option(name));
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    console.error(`demo: --${name} "${option(name)}" is not a port number`);
    process.exit(2);
  }
  return n;
};
const hubPort = port('hub-port');
const meterPort = port('meter-port');
const wgPort = port('wg-port');

// A fresh directory per run unless one is given (then the admin account of its first run stays).
const givenDir = option('data-dir');
const keep = givenDir !== undefined;
const dataDir = keep ? resolve(givenDir) : mkdtempSync(join(tmpdir(), 'porthole-demo-'));
mkdirSync(dataDir, { recursive: true });
const logFile = join(dataDir, 'demo.log');
const toLog = (line: string) => appendFileSync(logFile, line.endsWith('\n') ? line : `${line}\n`);

// With --data-dir the first run's admin credentials are kept beside the data (mode 0600) and shown
// again: the hub creates the admin account once, so new ones printed by a later run would not work.
const adminFile = join(dataDir, 'demo-admin.json');
const firstRunAdmin = (): { email: string; password: string; token: string } | undefined => {
  if (!keep || !existsSync(adminFile)) return undefined;
  try {
    return JSON.parse(readFileSync(adminFile, 'utf8'));
  } catch {
    return undefined;
  }
};
const admin = firstRunAdmin() ?? { email: 'admin@example.com', password: randomBytes(9).toString('base64url'), token: `ph_api_${randomBytes(24).toString('base64url')}` };
const config = loadConfig(
  {
    PORTHOLE_DOMAIN: 'localhost',
    PORTHOLE_LISTEN_HOST: '127.0.0.1',
    PORTHOLE_HTTP_PORT: String(hubPort),
    PORTHOLE_WG_PORT: String(wgPort),
    PORTHOLE_WG_ENDPOINT: `127.0.0.1:${wgPort}`,
    PORTHOLE_DATA_DIR: join(dataDir, 'hub'),
    PORTHOLE_ADMIN_EMAIL: admin.email,
    PORTHOLE_ADMIN_PASSWORD: admin.password,
    PORTHOLE_ADMIN_TOKEN: admin.token,
    PORTHOLE_DEVICE_CA_FILE: DEMO_CA_FILE,
  },
  (path) => readFileSync(path, 'utf8'),
);
const demoDevice = loadDeviceCredential(readFileSync(DEMO_DEVICE_CERT_FILE, 'utf8'), readFileSync(DEMO_DEVICE_KEY_FILE, 'utf8'));
if (!demoDevice.ok) throw new Error(`the demo device certificate: ${demoDevice.problem}`);
const deviceCredential = demoDevice.credential;

const say = (text = '') => process.stdout.write(`${text}\n`);
let stopping = false;

async function main(): Promise<void> {
  const hub = await createHub({ config, logger: createLogger({ sinks: [toLog] }).child({ component: 'hub' }), version: 'demo' });
  await hub.listen();
  // Did this run's admin variables create the account? (Not on a data directory from an older demo.)
  const adminWorks = (await hub.registry.authenticateApiToken(admin.token)) !== null;
  if (adminWorks && keep && !existsSync(adminFile)) writeFileSync(adminFile, `${JSON.stringify(admin)}\n`, { mode: 0o600 });

  const logger = createLogger({ sinks: [toLog], fields: { component: 'demo-meter' } });
  const agent = createAgent({
    hubUrl: new URL(hub.portalUrl),
    serial: SERIAL,
    target: new URL(`http://127.0.0.1:${meterPort}`),
    store: StateStore.open(join(dataDir, 'agent')),
    tunnelFactory: createDefaultTunnelFactory(),
    deviceCredential,
    logger,
  });
  await agent.start();
  const meter = createMeter({ agent, password: METER_PASSWORD });
  const running = await meter.listen({ port: meterPort, host: '127.0.0.1' });

  say('Porthole demo: hub, demo meter and its agent, all on this machine (loopback only).');
  say();
  say(`  Demo meter (its local web UI)   ${running.url}/`);
  say(`    meter password               ${METER_PASSWORD}`);
  say(`  Portal and admin API           ${hub.portalUrl}/`);
  if (adminWorks) {
    say(`    admin account                ${admin.email} / ${admin.password}`);
    say(`    admin API token              ${admin.token}`);
  } else {
    say(`    admin account                kept from the first run on ${dataDir} (its password and token are not stored there)`);
  }
  say(`  Device certificate             ${deviceCredential.subject}`);
  say(`    trusted by this demo hub     ${DEMO_CA_FILE} (demo only: its key is public)`);
  say(`  Data and logs                  ${dataDir}${keep ? '' : ' (removed on exit)'}`);
  say();
  say(`Open ${running.url}/remote-access/ , log in with the meter password and click "Enable remote access".`);
  say('The portal asks you to sign up (or log in) and approve the device; then the meter shows its public URL.');

  let announced: string | undefined;
  const announce = (s: ReturnType<typeof agent.status>) => {
    if (s.phase === 'online' && s.publicUrl && announced !== s.publicUrl) {
      announced = s.publicUrl;
      say();
      say(`Remote access is on: ${s.publicUrl}  (from any browser on this machine; Ctrl-C stops the demo)`);
      say('The portal shows the meter as attested: its certificate from the demo CA proved the serial.');
    }
    if (s.phase === 'off' && announced) {
      announced = undefined;
      say('Remote access is off again.');
    }
  };
  agent.onChange(announce);
  announce(agent.status());

  // Ctrl-C in a terminal signals the whole process group (npm, tsx and this process) and tsx relays
  // it once more: the handlers stay installed so a repeated signal cannot kill us mid-shutdown.
  await new Promise<void>((done) => {
    process.on('SIGINT', () => done());
    process.on('SIGTERM', () => done());
  });
  stopping = true;
  say();
  say('Stopping…');
  // A ref'd timer keeps the event loop alive while the parts close (otherwise a close that waits on
  // unref'd work lets Node exit mid-shutdown), and bounds a shutdown that hangs.
  let step = 'the agent';
  const watchdog = setTimeout(() => {
    console.error(`demo: stopping ${step} takes too long; exiting`);
    process.exit(1);
  }, 20_000);
  await agent.close();
  step = 'the meter';
  await running.close();
  meter.close();
  step = 'the hub';
  await hub.close();
  clearTimeout(watchdog);
  if (!keep) rmSync(dataDir, { recursive: true, force: true });
  say('Stopped.');
}

main().then(
  () => {
    process.exitCode = 0;
  },
  (err: unknown) => {
    const e = err as NodeJS.ErrnoException;
    console.error(`demo: ${stopping ? 'failed while stopping' : 'could not start'}: ${e.code === 'EADDRINUSE' ? `${e.message} (another program uses the port; pick others with --hub-port, --meter-port, --wg-port)` : e.message}`);
    if (keep) console.error(`demo: details in ${logFile}`);
    else {
      // A temporary directory is not left behind: show the log's end, then remove it.
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-10) : [];
      if (tail.length > 0) console.error(`demo: the last lines of its log:\n${tail.join('\n')}`);
      rmSync(dataDir, { recursive: true, force: true });
    }
    process.exit(1);
  },
);
