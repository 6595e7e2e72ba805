// `npm start -w @porthole/demo-meter`: runs the simulated meter. With PORTHOLE_AGENT_HUB_URL (and
// PORTHOLE_AGENT_SERIAL) set, it embeds a Porthole agent whose target is this meter, exactly as a
// real meter firmware would; the Remote access page is then at /remote-access/.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createAgent, createDefaultTunnelFactory, createLogger, loadAgentConfig, StateStore, type Agent } from '@porthole/agent';
import { createMeter } from './meter.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.METER_PORT ?? '8080' },
    host: { type: 'string', default: process.env.METER_HOST ?? '127.0.0.1' },
    'password-file': { type: 'string', default: process.env.METER_PASSWORD_FILE },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`demo-meter: --port "${values.port}" is not a port number`);
  process.exit(2);
}
const password = values['password-file'] ? readFileSync(values['password-file'], 'utf8').trim() : (process.env.METER_PASSWORD ?? 'meter-demo');
const logger = createLogger({ sinks: [(l) => process.stdout.write(l)], fields: { component: 'demo-meter' } });

let agent: Agent | undefined;
if (process.env.PORTHOLE_AGENT_HUB_URL) {
  // The meter hosts the agent's page itself: no separate agent UI, no separate password.
  const env = { PORTHOLE_AGENT_TARGET: `http://127.0.0.1:${port}`, ...process.env, PORTHOLE_AGENT_LISTEN: 'off' };
  const r = loadAgentConfig({ argv: [], env, readFile: (p) => readFileSync(p, 'utf8') });
  if (r.ok !== true) {
    console.error('demo-meter: agent configuration problems:');
    for (const p of r.ok === false ? r.problems : []) console.error(`  - ${p}`);
    process.exit(2);
  }
  const c = r.config;
  agent = createAgent({
    hubUrl: c.hubUrl,
    serial: c.serial,
    target: c.target,
    expose: c.expose,
    enrollmentToken: c.enrollmentToken,
    deviceCredential: c.deviceCredential,
    store: StateStore.open(c.stateDir),
    tunnelFactory: createDefaultTunnelFactory(),
    logger,
  });
  await agent.start();
}

const meter = createMeter({ agent, password });
const running = await meter.listen({ port, host: values.host });
logger.info('demo meter listening', { url: `${running.url}/`, remoteAccess: agent ? `${running.url}/remote-access/` : 'not configured' });
const stop = (): void => {
  void Promise.all([running.close(), agent?.close()]).finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
