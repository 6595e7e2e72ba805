// `npm run demo` as a new user meets it: --help lists every option with its variable and default,
// a typo is one clear line (no stack trace), a failed start removes its temporary directory, and a
// second run on the same --data-dir prints the admin password and token that still work.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { demo, started } from './fixtures/demo-run.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};

describe('npm run demo: options, failures, a kept data directory', () => {
  it('--help names every option with its environment variable and default', async () => {
    const run = demo(['--help']);
    expect(await run.exited).toBe(0);
    for (const [flag, env, def] of [
      ['--hub-port', 'PORTHOLE_DEMO_HUB_PORT', ', default 8080'],
      ['--meter-port', 'PORTHOLE_DEMO_METER_PORT', ', default 8081'],
      ['--wg-port', 'PORTHOLE_DEMO_WG_PORT', ', default 51820'],
      ['--data-dir', 'PORTHOLE_DEMO_DATA_DIR', ''],
    ]) {
      expect(run.out()).toContain(`${flag} VALUE`);
      expect(run.out()).toContain(`env ${env}${def}\n`);
    }
  });

  it('an unknown option is one line naming it, exit 2, no stack trace', async () => {
    const run = demo(['--hub-prot', '8080']);
    expect(await run.exited).toBe(2);
    expect(run.out().trim()).toBe(`demo: Unknown option '--hub-prot'. Run "npm run demo -- --help" for the options.`);
  });

  it('a failed start (port in use) exits 1 naming the cause and leaves no temporary directory', async () => {
    const tmp = tempDir('porthole-demo-tmp-');
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const busy = (blocker.address() as net.AddressInfo).port;
    try {
      const run = demo(['--hub-port', String(busy), '--meter-port', String(await freePort()), '--wg-port', String(await freePort())], { TMPDIR: tmp });
      expect(await run.exited).toBe(1);
      expect(run.out()).toMatch(/demo: could not start: .*EADDRINUSE.*pick others with --hub-port/);
      expect(readdirSync(tmp).filter((n) => n.startsWith('porthole-demo-'))).toEqual([]);
    } finally {
      blocker.close();
    }
  });

  it('a second run on the same --data-dir prints the first run’s admin password and token, which work', async () => {
    const dataDir = join(tempDir('porthole-demo-kept-'), 'data');
    const ports = async () => ['--hub-port', String(await freePort()), '--meter-port', String(await freePort()), '--wg-port', String(await freePort())];
    const first = demo(['--data-dir', dataDir, ...(await ports())]);
    await started(first);
    const credentials = (out: string) => ({ account: /admin account\s+(\S+ \/ \S+)/.exec(out)?.[1], token: /admin API token\s+(\S+)/.exec(out)?.[1] });
    const one = credentials(first.out());
    expect(await first.stop()).toBe(0);
    expect(statSync(join(dataDir, 'demo-admin.json')).mode & 0o777).toBe(0o600);

    const args = await ports();
    const second = demo(['--data-dir', dataDir, ...args]);
    try {
      await started(second);
      expect(credentials(second.out())).toEqual(one);
      const portal = /Portal and admin API\s+(\S+)/.exec(second.out())![1]!;
      const whoami = await fetch(`${portal}api/v1/whoami`, { headers: { authorization: `Bearer ${one.token}` } });
      expect(whoami.status).toBe(200);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  }, 120_000);
});
