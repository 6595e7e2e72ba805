// Entry point of the hub (`npm start`): the only module that touches process (argv, env, signals,
// exit codes). Configuration problems are all reported at once and exit with status 2; a start that
// fails (a port in use, the database, a locked data directory) says why and exits with status 1
// within seconds, whatever it had opened.
import { readFileSync } from 'node:fs';
import { ValidationError } from './errors.js';
import { hubUsage, parseHubArgs } from './config/hub-command.js';
import { ConfigError, describeConfig, loadConfig } from './config/load-config.js';
import { createHub, type Hub } from './hub.js';
import { tuneHeap } from './ops/heap-tuning.js';
import { createJsonLogger } from './ops/logger.js';
import { describeSetAdmin, runSetAdmin } from './set-admin.js';
import { describeStartError } from './start-errors.js';

const HUB_VERSION = '0.1.0';
/** How long a failed start may spend closing what it opened before the process leaves anyway. */
const FAILED_START_CLOSE_MS = 5_000;

async function main(): Promise<number> {
  const args = parseHubArgs(process.argv.slice(2));
  if ('error' in args) {
    console.error(`porthole hub: ${args.error}. Run "npm start -- --help" for the commands and settings.`);
    return 2;
  }
  if (args.command === 'help') {
    process.stdout.write(hubUsage());
    return 0;
  }
  if (args.command === 'version') {
    console.log(HUB_VERSION);
    return 0;
  }

  let config;
  try {
    config = loadConfig(process.env, (path) => readFileSync(path, 'utf8'));
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`porthole hub: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const logger = createJsonLogger({ level: config.logLevel }).child({ component: 'hub' });

  if (args.command === 'set-admin') {
    try {
      console.log(`porthole hub: ${describeSetAdmin(await runSetAdmin(config, logger))}`);
      return 0;
    } catch (err) {
      console.error(`porthole hub set-admin: ${err instanceof ValidationError ? err.message : describeStartError(err, config)}`);
      return err instanceof ValidationError ? 2 : 1;
    }
  }

  tuneHeap();
  logger.info('starting', { version: HUB_VERSION, config: describeConfig(config) });
  let hub: Hub | undefined;
  let bound;
  try {
    hub = await createHub({ config, logger, version: HUB_VERSION });
    bound = await hub.listen();
  } catch (err) {
    const reason = describeStartError(err, config);
    logger.error('failed to start', { reason, err });
    console.error(`porthole hub: failed to start: ${reason}`);
    // createHub closes what it opened when it fails; after it succeeded, listen() may have failed
    // with the database, UDP socket and some listeners open, which would keep the process alive.
    if (hub) await Promise.race([hub.close().catch(() => {}), new Promise((r) => setTimeout(r, FAILED_START_CLOSE_MS).unref())]);
    return 1;
  }
  logger.info('listening', {
    portal: hub.portalUrl,
    devices: hub.deviceUrl('<serial>'),
    http: `${bound.http.address}:${bound.http.port}`,
    ...(bound.https ? { https: `${bound.https.address}:${bound.https.port}` } : {}),
    wireguard: config.wgEndpoint,
    hubPublicKey: hub.publicKey,
    database: hub.database.driver,
  });

  // certbot's deploy hook (infra/README.md) sends SIGHUP after renewing the wildcard certificate.
  const running = hub;
  process.on('SIGHUP', () => {
    if (!config.tls || !config.tlsCertFile || !config.tlsKeyFile) return logger.info('SIGHUP ignored: the hub does not terminate TLS');
    try {
      running.http.setTlsCredentials({ cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile) });
      logger.info('TLS certificate reloaded', { certFile: config.tlsCertFile });
    } catch (err) {
      logger.error('TLS certificate reload failed; keeping the current one', { err: String(err) });
    }
  });

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info('shutting down', { signal });
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await running.close();
  logger.info('stopped');
  return 0;
}

main().then(
  (code) => {
    // Leave now: a failed start may still hold sockets or timers that would keep Node running.
    if (code !== 0) process.exit(code);
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`porthole hub: failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
