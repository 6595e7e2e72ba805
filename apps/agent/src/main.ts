// `porthole-agent`: the only module that touches process (argv, env, signals, exit codes). Builds
// the agent from the validated config, serves the local "Remote access" page, and shuts down
// cleanly on SIGTERM/SIGINT.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { createAgent } from './agent.js';
import { loadAgentConfig, usage } from './config.js';
import { createLogger } from './log/logger.js';
import { RotatingFile } from './log/rotating-file.js';
import { StateStore, StateLoadError } from './state/state-store.js';
import { createDefaultTunnelFactory } from './tunnel/default-factory.js';
import { localUiHosts } from './ui-hosts.js';

const result = loadAgentConfig({ argv: process.argv.slice(2), env: process.env, readFile: (p) => readFileSync(p, 'utf8') });
if (result.ok === 'help') {
  console.log(usage());
  process.exit(0);
}
if (result.ok === false) {
  console.error(`porthole-agent: ${result.problems.length} configuration problem(s):`);
  for (const p of result.problems) console.error(`  - ${p}`);
  console.error('\nRun porthole-agent --help for the options.');
  process.exit(2);
}
const config = result.config;

const file = config.logFile ? new RotatingFile({ path: config.logFile, retention: config.logRetentionDays }) : undefined;
const logger = createLogger({
  level: config.logLevel,
  sinks: [(line) => process.stdout.write(line), ...(file ? [(line: string) => file.write(line)] : [])],
  fields: { component: 'porthole-agent' },
});
process.on('unhandledRejection', (err) => logger.error('unhandled rejection', { err }));
process.on('uncaughtException', (err) => {
  logger.error('uncaught exception', { err });
  process.exit(1);
});

let store: StateStore;
try {
  store = StateStore.open(config.stateDir);
} catch (err) {
  logger.error(err instanceof StateLoadError ? 'state file is damaged; not starting (the device key is in it)' : 'cannot open the state directory', {
    path: join(config.stateDir, 'state.json'),
    err,
  });
  process.exit(1);
}

const agent = createAgent({
  hubUrl: config.hubUrl,
  serial: config.serial,
  target: config.target,
  expose: config.expose,
  enrollmentToken: config.enrollmentToken,
  network: config.network,
  deviceCredential: config.deviceCredential,
  store,
  tunnelFactory: createDefaultTunnelFactory({ udpProbeIntervalMs: config.udpProbeIntervalMs }),
  logger,
});
await agent.start();

let server: Server | undefined;
if (config.listen) {
  const { host, port } = config.listen;
  const options = { password: config.password, allowedHosts: localUiHosts(host, config.uiHosts) };
  // The page's code (hono, its node adapter, the JSX pages, and the fetch Request/Response they
  // build) is loaded by the first request, not at start: an agent mostly idles with nobody on its
  // page, and keeps whatever it has loaded.
  let handler: Promise<(req: IncomingMessage, res: ServerResponse) => Promise<void>> | undefined;
  server = createServer((req, res) => {
    handler ??= import('./web/remote-access-routes.js').then((m) => m.createRemoteAccessHandler(agent, options));
    handler
      .then((handle) => handle(req, res))
      .catch((err: unknown) => {
        logger.error('local UI request failed', { err });
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Internal error');
      });
  });
  server.on('error', (err) => {
    logger.error('local UI cannot listen', { err, host, port });
    process.exit(1);
  });
  server.listen(port, host, () =>
    logger.info('local Remote access page listening', { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/` }),
  );
}

// The agent's own timers are unref'd (library use); with --listen off nothing else may hold the
// loop open while a registration retry or a reconnect is pending, so the service does it here.
const keepAlive = setInterval(() => {}, 1 << 30);

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  clearInterval(keepAlive);
  logger.info('shutting down', { signal });
  server?.close();
  void agent.close().finally(() => {
    file?.close();
    process.exit(0);
  });
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
