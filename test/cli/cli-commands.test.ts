// The CLI against an in-process hub, run in-process through run(argv, io): logging in (the stored
// login and its file modes, tokens from stdin and the environment, unreachable hubs), help and usage
// (exit 2), and one run of the real binary through tsx. The fleet commands: cli-fleet.test.ts.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { CLI_BIN, cli, useCliFleet, tempHome } from './support/cli-harness.js';
import { TEST_ADMIN_EMAIL as ADMIN_EMAIL } from '@porthole/hub/testing';

const SERIALS = ['an20000001', 'an20000002', 'an20000003', 'an20000004', 'an20000005', 'an20000006', 'an20000007'];
const fleet = useCliFleet(SERIALS);
const api = (method: string, path: string, body?: unknown) => fleet.api(method, path, body);

describe('login, whoami, logout', () => {
  it('verifies the token, stores { hub, token } with dir 0700 / file 0600 and no temp files', async () => {
    const r = await cli(['login', '--hub', `${fleet.hub.url}/`, '--token', fleet.hub.adminToken], fleet.home.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const path = join(fleet.home.env.XDG_CONFIG_HOME!, 'porthole', 'config.json');
    expect(r.stdout).toBe(`Logged in to ${fleet.hub.url} as ${ADMIN_EMAIL} (admin; token scopes: read, write).\nSaved to ${path}\n`);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ hub: fleet.hub.url, token: fleet.hub.adminToken });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(fleet.home.env.XDG_CONFIG_HOME!, 'porthole')).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(fleet.home.env.XDG_CONFIG_HOME!, 'porthole'))).toEqual(['config.json']);

    // The stored login is used when nothing overrides it.
    const me = await cli(['whoami', '--json'], fleet.home.env);
    expect(me.code).toBe(0);
    expect(JSON.parse(me.stdout)).toMatchObject({ hub: fleet.hub.url, user: { email: ADMIN_EMAIL, role: 'admin' }, scopes: ['read', 'write'] });
    const human = await cli(['whoami'], fleet.home.env);
    expect(human.stdout).toBe(`${ADMIN_EMAIL} (admin) at ${fleet.hub.url}; token scopes: read, write\n`);
  });

  it('reads the token from stdin without --token, and uses ~/.config without XDG_CONFIG_HOME', async () => {
    const env = { HOME: fleet.home.dir, PATH: fleet.home.env.PATH! };
    const r = await cli(['login', '--hub', fleet.hub.url, '--json'], env, { stdin: `${fleet.hub.adminToken}\n` });
    expect(r.code).toBe(0);
    const path = join(fleet.home.dir, '.config', 'porthole', 'config.json');
    expect(JSON.parse(r.stdout)).toMatchObject({ hub: fleet.hub.url, configPath: path, user: { email: ADMIN_EMAIL } });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect((await cli(['logout'], env)).stdout).toBe(`Logged out: removed ${path}\n`);
  });

  it('refuses a bad token with exit 3 and keeps the stored login', async () => {
    const path = join(fleet.home.env.XDG_CONFIG_HOME!, 'porthole', 'config.json');
    const before = readFileSync(path, 'utf8');
    const r = await cli(['login', '--hub', fleet.hub.url, '--token', 'ph_api_not-a-real-token'], fleet.home.env);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('porthole login: the hub refused the token: the API token is not valid (unknown, revoked or expired)\n');
    expect(readFileSync(path, 'utf8')).toBe(before);
  });

  it('lets PORTHOLE_TOKEN and --token override the stored token, in that order', async () => {
    const bad = await cli(['whoami'], { ...fleet.home.env, PORTHOLE_TOKEN: 'ph_api_wrong' });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/^porthole whoami: the API token is not valid/);
    const flag = await cli(['whoami', '--token', fleet.hub.adminToken], { ...fleet.home.env, PORTHOLE_TOKEN: 'ph_api_wrong' });
    expect(flag.code).toBe(0);
  });

  it('takes the global options anywhere: before the command, between its words, after it', async () => {
    const after = await cli(['devices', 'list', '--json'], fleet.adminEnv);
    expect(after.code).toBe(0);
    for (const argv of [['--json', 'devices', 'list'], ['devices', '--json', 'list'], ['--hub', fleet.hub.url, '--json', 'devices', 'list', '--token', fleet.hub.adminToken]]) {
      const r = await cli(argv, argv.includes('--hub') ? fleet.home.env : fleet.adminEnv);
      expect(r, argv.join(' ')).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(r.stdout)).toEqual(JSON.parse(after.stdout));
    }
    expect((await cli(['--help', 'devices', 'list'], fleet.adminEnv)).stdout).toMatch(/^Usage: porthole devices list/);
  });

  it('assumes http:// for a loopback hub given without a scheme, and says so plainly when HTTPS meets plain HTTP', async () => {
    const r = await cli(['login', '--hub', `localhost:${fleet.hub.httpPort}`, '--token', fleet.hub.adminToken, '--json'], fleet.home.env);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(fleet.home.env.XDG_CONFIG_HOME!, 'porthole', 'config.json'), 'utf8')).hub).toBe(`http://localhost:${fleet.hub.httpPort}`);
    const tls = await cli(['whoami', '--hub', `https://127.0.0.1:${fleet.hub.httpPort}`, '--token', fleet.hub.adminToken], fleet.home.env);
    expect(tls.code).toBe(1);
    expect(tls.stderr).toBe(
      `porthole whoami: cannot reach the hub at https://127.0.0.1:${fleet.hub.httpPort}: it does not answer HTTPS on port ${fleet.hub.httpPort} (a plain-HTTP hub? then use --hub http://127.0.0.1:${fleet.hub.httpPort})\n`,
    );
  });

  it('says when the hub cannot be reached (exit 1) and when nothing is configured (exit 3)', async () => {
    const closed = await freePort(); // nothing listens there
    const down = await cli(['whoami', '--hub', `http://127.0.0.1:${closed}`, '--token', 'x'], fleet.home.env);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`porthole whoami: cannot reach the hub at http://127.0.0.1:${closed}: connection refused\n`);
    // A hub that redirects (http → https) is named, and the token is not sent after it.
    const redirector = http.createServer((req, res) => {
      res.writeHead(308, { location: `https://portal.example.io${req.url}` }).end();
    });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (redirector.address() as { port: number }).port;
      const moved = await cli(['whoami', '--hub', `http://127.0.0.1:${port}`, '--token', 'x'], fleet.home.env);
      expect(moved.code).toBe(1);
      expect(moved.stderr).toBe(`porthole whoami: the hub at http://127.0.0.1:${port} redirects to https://portal.example.io; use --hub https://portal.example.io\n`);
    } finally {
      redirector.close();
    }
    const empty = tempHome();
    try {
      const none = await cli(['devices', 'list'], empty.env);
      expect(none.code).toBe(3);
      expect(none.stderr).toMatch(/no hub configured: run porthole login --hub URL/);
    } finally {
      empty.remove();
    }
  });

  it('logout removes the stored login', async () => {
    const path = join(fleet.home.env.XDG_CONFIG_HOME!, 'porthole', 'config.json');
    expect(JSON.parse((await cli(['logout', '--json'], fleet.home.env)).stdout)).toEqual({ removed: true, configPath: path });
    expect(existsSync(path)).toBe(false);
    expect((await cli(['logout'], fleet.home.env)).stdout).toBe(`Not logged in (no ${path}).\n`);
    expect((await cli(['whoami'], fleet.home.env)).code).toBe(3);
  });
});

describe('help and usage', () => {
  it('prints help for every command with exit 0, and exits 2 on unknown commands', async () => {
    const top = await cli(['--help'], fleet.adminEnv);
    expect(top.code).toBe(0);
    for (const cmd of ['devices list', 'tokens api create', 'log', 'wg-config', 'tcp', 'ssh', 'login']) {
      expect(top.stdout).toContain(`  ${cmd}`);
      const h = await cli([...cmd.split(' '), '--help'], fleet.adminEnv);
      expect(h.code, cmd).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`^Usage: porthole ${cmd}`));
      expect(h.stdout).toMatch(/-h, --help/);
    }
    // Every setting the CLI reads, with its default.
    for (const setting of ['--hub URL', '--token T', '--json', 'PORTHOLE_HUB', 'PORTHOLE_TOKEN', 'XDG_CONFIG_HOME', 'NODE_EXTRA_CA_CERTS']) expect(top.stdout).toContain(`  ${setting}`);
    expect(top.stdout).toContain(`here ${join(fleet.adminEnv.XDG_CONFIG_HOME!, 'porthole', 'config.json')}`);
    expect(top.stdout).toMatch(/PORTHOLE_HUB .*default: the stored login/);
    const unknown = await cli(['frobnicate'], fleet.adminEnv);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
    expect((await cli([], fleet.adminEnv)).code).toBe(2);
    expect((await cli(['tokens', '--help'], fleet.adminEnv)).stdout).toMatch(/tokens enrollment create/);
  });
});

describe('the real binary', () => {
  it('runs bin/porthole.mjs through tsx with the environment login', async () => {
    const bin = CLI_BIN;
    const { stdout } = await promisify(execFile)(process.execPath, [bin, 'devices', 'list', '--tag', 'fleet-a', '--json'], {
      env: { ...fleet.adminEnv },
    });
    expect(JSON.parse(stdout).devices.map((d: { serial: string }) => d.serial)).toEqual(['an20000001', 'an20000003', 'an20000005', 'an20000007']);
    const failed = await promisify(execFile)(process.execPath, [bin, 'devices', 'show', 'an29999999'], { env: { ...fleet.adminEnv } }).catch((e: { code: number; stderr: string }) => e);
    expect((failed as { code: number }).code).toBe(4);
    expect((failed as { stderr: string }).stderr).toMatch(/^porthole devices show: /);
  });
});
