// Entry point of the hub (`npm start`): the only module that touches process (env, signals, exit
// codes). Configuration problems are all reported at once and exit with status 2.
import { readFileSync } from 'node:fs';
import { ConfigError, describeConfig, loadConfig } from './config/load-config.js';
import { createHub } from './hub.js';
import { createJsonLogger } from './ops/logger.js';

const HUB_VERSION = '0.1.0';

async function main(): Promise<number> {
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
  logger.info('starting', { version: HUB_VERSION, config: describeConfig(config) });

  const hub = await createHub({ config, logger, version: HUB_VERSION });
  const bound = await hub.listen();
  logger.info('listening', {
    portal: hub.portalUrl,
    devices: hub.deviceUrl('<serial>'),
    http: `${bound.http.address}:${bound.http.port}`,
    ...(bound.https ? { https: `${bound.https.address}:${bound.https.port}` } : {}),
    wireguard: config.wgEndpoint,
    hubPublicKey: hub.publicKey,
    database: hub.database.driver,
  });
  if (!config.adminEmail) {
    logger.warn('no PORTHOLE_ADMIN_EMAIL/PORTHOLE_ADMIN_PASSWORD set: no admin account was created; set them (and PORTHOLE_ADMIN_TOKEN for the API) and restart');
  }

  // certbot's deploy hook (infra/README.md) sends SIGHUP after renewing the wildcard certificate.
  process.on('SIGHUP', () => {
    if (!config.tls || !config.tlsCertFile || !config.tlsKeyFile) return logger.info('SIGHUP ignored: the hub does not terminate TLS');
    try {
      hub.http.setTlsCredentials({ cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile) });
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
  await hub.close();
  logger.info('stopped');
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`porthole hub: failed to start: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
