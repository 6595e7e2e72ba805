// A new user following only the README gets a working hub. Fresh `git clone` of the
// committed repository into a temp dir → `npm install` (offline: from the npm cache, no network) →
// `npm start` with the admin variables the README shows → the README's "second terminal" block run
// by bash as it stands (only the ports moved to free ones): a stand-in web UI, an enrollment token,
// `npx porthole-agent` registering and tunnelling, curl through the proxy, `npx porthole login` and
// `devices list` → and the raw registration call the README names, by a second device (the clone's
// test/support/overlay-device.ts). Everything on loopback. ~40 s here (the install takes ~10 s).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { run } from '../support/netns.js';
import { requirementsMet } from '../support/requirements.js';
import { REPO_ROOT } from './lab/service.js';

const execFileAsync = promisify(execFile);
const ok = requirementsMet('README path', { tools: ['git', 'npm', 'bash', 'curl'] });

interface Proc {
  child: ChildProcess;
  output: () => string;
  waitFor: (re: RegExp, what: string, timeoutMs?: number) => Promise<RegExpExecArray>;
  stop: () => Promise<void>;
}

function start(command: string, args: string[], cwd: string, env: Record<string, string>): Proc {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    child,
    output: () => out,
    async waitFor(re, what, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let exitedAt: number | undefined;
      for (;;) {
        const m = re.exec(out);
        if (m) return m;
        // Output written just before the exit may still be in the pipe: a moment's grace.
        if (child.exitCode !== null) exitedAt ??= Date.now();
        if ((exitedAt !== undefined && Date.now() - exitedAt > 2000) || Date.now() > deadline) {
          throw new Error(`${what}: not seen (exit ${child.exitCode}); output:\n${out.slice(-3000)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      if (child.pid === undefined) return;
      // The whole process group: a shell's background jobs (the README's agent) outlive the shell.
      const signal = (sig: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, sig);
        } catch {
          // ESRCH: the group is gone already
        }
      };
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), 10_000);
      await closed;
      clearTimeout(timer);
    },
  };
}

/** An HTTP request to the hub on 127.0.0.1 with the Host header a browser would send. */
function request(port: number, host: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: { host: `${host}:${port}`, ...init.headers }, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** The body of the first ```sh block after `marker` in the README. */
function shBlockAfter(readme: string, marker: string): string {
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`README has no "${marker}"`);
  const m = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!m) throw new Error(`README has no sh block after "${marker}"`);
  return m[1]!;
}

describe.skipIf(!ok)('the README path on a fresh clone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-readme-'));
  const procs: Proc[] = [];
  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('clone → npm install → npm start → the README\'s device steps as written → a request through the proxy', async () => {
    // The README must still say what this test does.
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    for (const step of ['npm install && npm start', 'PORTHOLE_ADMIN_TOKEN', '/api/v1/enrollment-tokens', 'POST /api/v1/devices/register', '"maxUses":1']) {
      expect(readme, `README step "${step}"`).toContain(step);
    }
    // The hub's command and the settings the quick start names.
    for (const setting of ['PORTHOLE_HTTP_PORT', 'PORTHOLE_WG_PORT', 'PORTHOLE_DOMAIN', 'PORTHOLE_ADMIN_EMAIL', 'PORTHOLE_DATA_DIR', 'npm start -- --help', '/healthz', '/readyz', 'npm start -- set-admin']) {
      expect(readme, `README names ${setting}`).toContain(setting);
    }
    // The admin variables exactly as the README shows them: a token the hub accepts.
    const startBlock = shBlockAfter(readme, '### A device through the API, step by step');
    const admin = {
      email: /PORTHOLE_ADMIN_EMAIL=(\S+)/.exec(startBlock)?.[1],
      password: /PORTHOLE_ADMIN_PASSWORD='([^']+)'/.exec(startBlock)?.[1],
      token: /PORTHOLE_ADMIN_TOKEN=(\S+)/.exec(startBlock)?.[1],
    };
    expect(admin.email && admin.password && admin.token, startBlock).toBeTruthy();
    const steps = shBlockAfter(readme, 'In a second terminal:');
    expect(steps).toContain(`TOKEN=${admin.token}`);
    // Every command of the README's code blocks is runnable as written: no bare porthole / porthole-agent.
    for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
      for (const line of block[1]!.split('\n')) expect(line, 'a README command').not.toMatch(/^(sudo )?porthole(-agent)? /);
    }

    const clone = join(dir, 'porthole');
    await run('git', ['clone', '--quiet', REPO_ROOT, clone], { timeoutMs: 60_000 });
    const t0 = Date.now();
    // From the npm cache only: CI and developers' machines have it from their own install.
    await execFileAsync('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: clone, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }).catch((err: Error & { stderr?: string }) => {
      throw new Error(`npm install --offline in the clone failed: ${err.stderr?.slice(-2000) ?? err.message}`);
    });
    console.log(`README path: npm install in the fresh clone took ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // The README's ports 8080 and 8081 may be taken on this machine: the same steps on free ones.
    const [httpPort, wgPort, standInPort] = [await freePort(), await freePort(), await freePort()];
    const hub = start('npm', ['start'], clone, {
      PORTHOLE_ADMIN_EMAIL: admin.email!,
      PORTHOLE_ADMIN_PASSWORD: admin.password!,
      PORTHOLE_ADMIN_TOKEN: admin.token!,
      PORTHOLE_HTTP_PORT: String(httpPort),
      PORTHOLE_WG_PORT: String(wgPort),
      PORTHOLE_LISTEN_HOST: '127.0.0.1',
      PORTHOLE_WG_ENDPOINT: `127.0.0.1:${wgPort}`,
      PORTHOLE_DATA_DIR: join(dir, 'data'),
    });
    procs.push(hub);
    await hub.waitFor(/"msg":"listening"/, 'the hub listening');
    expect(await request(httpPort, 'localhost', '/readyz')).toMatchObject({ status: 200 });

    // The second terminal, as written; a home of its own for the CLI's stored login.
    const home = join(dir, 'home');
    mkdirSync(home);
    const script = `set -e\n${steps.replaceAll(':8080', `:${httpPort}`).replaceAll('8081', String(standInPort))}`;
    const terminal = start('bash', ['-c', script], clone, { HOME: home, XDG_CONFIG_HOME: join(home, '.config') });
    procs.push(terminal);
    await terminal.waitFor(/hello from the device\n[\s\S]*Logged in[\s\S]*an12345678/, 'the README steps: the device through the hub, then the CLI', 120_000);

    // The raw registration call the README names, by a second device.
    const created = await request(httpPort, 'localhost', '/api/v1/enrollment-tokens', {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'second device', maxUses: 1 }),
    });
    expect(created.status).toBe(201);
    const device = start(join(clone, 'node_modules', '.bin', 'tsx'), [join(clone, 'test', 'e2e', 'fixtures', 'readme-device.ts')], clone, {
      HUB_URL: `http://localhost:${httpPort}`,
      ENROLLMENT_TOKEN: JSON.parse(created.body).token as string,
      SERIAL: 'an87654321',
    });
    procs.push(device);
    await device.waitFor(/"event":"ready"/, 'the second device registered and up');
    let last = { status: 0, body: '' };
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      last = await request(httpPort, 'an87654321.localhost', '/', { headers: { authorization: `Bearer ${admin.token}` } });
      if (last.status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(last).toEqual({ status: 200, body: 'hello from an87654321' });
    const listed = await request(httpPort, 'localhost', '/api/v1/devices/an12345678', { headers: { authorization: `Bearer ${admin.token}` } });
    expect(JSON.parse(listed.body)).toMatchObject({ serial: 'an12345678', status: 'enabled' });
  }, 300_000);
});
