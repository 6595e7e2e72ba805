// The hub process as an operator meets it (`node --import tsx apps/hub/src/main.ts`, what `npm
// start` runs): --help lists every setting from the schema; start-up problems end the process with
// status 1 or 2 and one line naming the cause (the port and its setting, the database server and
// its reason, the process holding the data directory); set-admin on a data directory with accounts.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.js';
import { ENV_KEYS, DEFAULTS } from './config/config-schema.js';

const MAIN = new URL('./main.ts', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'porthole-hub-main-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface HubProcess {
  pid: number;
  output(): string;
  waitFor(re: RegExp, what: string): Promise<void>;
  /** Resolves with the exit code; a generous bound only so a hub that never exits fails the test. */
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

function hubProcess(args: string[], env: Record<string, string>): HubProcess {
  // Only PATH and HOME from this environment: a DATABASE_URL or PORTHOLE_* of the test run must not leak in.
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    pid: child.pid!,
    output: () => out,
    exited,
    kill: (signal) => child.kill(signal),
    async waitFor(re, what) {
      for (let i = 0; i < 1200 && !re.test(out); i++) {
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      if (!re.test(out)) throw new Error(`${what}: not seen (exit ${child.exitCode}); output:\n${out.slice(-3000)}`);
    },
  };
}

async function hubEnv(dataDir: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const wgPort = await freePort();
  return {
    PORTHOLE_LISTEN_HOST: '127.0.0.1',
    PORTHOLE_HTTP_PORT: String(await freePort()),
    PORTHOLE_WG_PORT: String(wgPort),
    PORTHOLE_WG_ENDPOINT: `127.0.0.1:${wgPort}`,
    PORTHOLE_DATA_DIR: dataDir,
    ...extra,
  };
}

function whoami(port: number, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/api/v1/whoami', headers: { host: `localhost:${port}`, authorization: `Bearer ${token}` }, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
      .on('error', reject);
  });
}

describe('the hub command line', () => {
  it('--help lists every setting with its variable and default, and starts nothing', async () => {
    const hub = hubProcess(['--help'], {});
    expect(await hub.exited).toBe(0);
    const help = hub.output();
    for (const { env } of Object.values(ENV_KEYS)) expect(help).toContain(`  ${env}`);
    expect(help).toMatch(/ {2}PORTHOLE_HTTP_PORT\n.*\n {6}default: 8080; config file key: httpPort/);
    expect(help).toContain(`default: ${DEFAULTS.dataDir}; config file key: dataDir`);
    expect(help).toContain('PORTHOLE_ADMIN_TOKEN or PORTHOLE_ADMIN_TOKEN_FILE');
    expect(help).toContain('set-admin');
    expect(help).not.toContain('"msg":"starting"');
  });

  it('refuses an unknown option in one line with status 2', async () => {
    const hub = hubProcess(['--port', '80'], {});
    expect(await hub.exited).toBe(2);
    expect(hub.output().trim()).toBe('porthole hub: unknown option --port. Run "npm start -- --help" for the commands and settings.');
  });

  it('stops with status 2 on a bad admin token before writing anything', async () => {
    const dataDir = join(scratch, 'bad-token');
    const hub = hubProcess([], await hubEnv(dataDir, { PORTHOLE_ADMIN_EMAIL: 'admin@example.com', PORTHOLE_ADMIN_PASSWORD: 'a long password', PORTHOLE_ADMIN_TOKEN: 'ph_api_change-me-0123456789' }));
    expect(await hub.exited).toBe(2);
    expect(hub.output()).toContain('PORTHOLE_ADMIN_TOKEN: must have at least 32 characters (has 27)');
    expect(hub.output()).not.toContain('"msg":"starting"');
  });
});

describe('start-up problems end the hub with the cause', () => {
  it('the HTTP port in use: names the port and its setting, exits 1', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    try {
      const hub = hubProcess([], await hubEnv(join(scratch, 'http-in-use'), { PORTHOLE_HTTP_PORT: String(port) }));
      expect(await hub.exited).toBe(1);
      expect(hub.output()).toContain(`porthole hub: failed to start: TCP port ${port} (PORTHOLE_HTTP_PORT) on 127.0.0.1 is already in use by another process`);
    } finally {
      taken.close();
    }
  }, 120_000);

  it('the WireGuard UDP port in use: names it, exits 1', async () => {
    const taken = createSocket('udp4');
    await new Promise<void>((r) => taken.bind(0, '127.0.0.1', () => r()));
    const port = taken.address().port;
    try {
      const hub = hubProcess([], await hubEnv(join(scratch, 'udp-in-use'), { PORTHOLE_WG_PORT: String(port) }));
      expect(await hub.exited).toBe(1);
      expect(hub.output()).toContain(`failed to start: UDP port ${port} (PORTHOLE_WG_PORT, WireGuard) on 127.0.0.1 is already in use`);
    } finally {
      taken.close();
    }
  }, 120_000);

  it('PostgreSQL unreachable: names the server and the reason, never the password, exits 1', async () => {
    const port = await freePort();
    const hub = hubProcess([], await hubEnv(join(scratch, 'pg'), { DATABASE_URL: `postgres://porthole:s3cret-pw@127.0.0.1:${port}/porthole` }));
    expect(await hub.exited).toBe(1);
    expect(hub.output()).toContain(`failed to start: cannot use PostgreSQL at 127.0.0.1:${port}/porthole as porthole: connection refused`);
    expect(hub.output()).not.toContain('s3cret-pw');
    expect(hub.output()).not.toContain('pg_advisory_lock');
  }, 120_000);

  it('a second hub on one data directory is refused naming the first; after a SIGKILL the directory is free; set-admin adds an admin there', async () => {
    const dataDir = join(scratch, 'shared');
    const adminToken = 'ph_api_first-admin-0123456789abcdefghij';
    const first = hubProcess([], await hubEnv(dataDir, { PORTHOLE_ADMIN_EMAIL: 'first@example.com', PORTHOLE_ADMIN_PASSWORD: 'a long password', PORTHOLE_ADMIN_TOKEN: adminToken }));
    try {
      await first.waitFor(/"msg":"listening"/, 'the first hub listening');
      const second = hubProcess([], await hubEnv(dataDir));
      expect(await second.exited).toBe(1);
      expect(second.output()).toContain(`failed to start: the data directory ${join(dataDir, 'pglite')} is in use by process ${first.pid}, since`);
      expect(second.output()).toContain('give this hub its own PORTHOLE_DATA_DIR');

      // set-admin is refused too while the hub runs.
      const busy = hubProcess(['set-admin'], await hubEnv(dataDir, { PORTHOLE_ADMIN_EMAIL: 'ops@example.com', PORTHOLE_ADMIN_PASSWORD: 'another long password' }));
      expect(await busy.exited).toBe(1);
      expect(busy.output()).toContain(`in use by process ${first.pid}`);
    } finally {
      first.kill('SIGKILL');
      await first.exited;
    }

    // Accounts exist: a new admin through set-admin (the start would ignore the variables).
    const opsToken = 'ph_api_second-admin-0123456789abcdefghi';
    const opsAdmin = { PORTHOLE_ADMIN_EMAIL: 'ops@example.com', PORTHOLE_ADMIN_PASSWORD: 'another long password', PORTHOLE_ADMIN_TOKEN: opsToken };
    const setAdmin = hubProcess(['set-admin'], await hubEnv(dataDir, opsAdmin));
    expect(await setAdmin.exited).toBe(0);
    expect(setAdmin.output()).toContain('porthole hub: created the admin account ops@example.com; PORTHOLE_ADMIN_TOKEN is its API token now');

    const env = await hubEnv(dataDir, opsAdmin);
    const again = hubProcess([], env);
    try {
      await again.waitFor(/"msg":"listening"/, 'the hub on the data directory of a killed one');
      expect(again.output()).toContain('"msg":"the admin account of PORTHOLE_ADMIN_EMAIL exists as configured"');
      expect(await whoami(Number(env.PORTHOLE_HTTP_PORT), opsToken)).toBe(200);
      expect(await whoami(Number(env.PORTHOLE_HTTP_PORT), adminToken)).toBe(200);
    } finally {
      again.kill('SIGTERM');
      expect(await again.exited).toBe(0);
    }
  }, 240_000);
});
