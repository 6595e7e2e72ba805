// Issue 7: a new user following only the README gets a working hub. Fresh `git clone` of the
// committed repository into a temp dir → `npm install` (offline: from the npm cache, no network) →
// `npm start` with the admin variables the README names → an enrollment token and a device
// registered through the API (the clone's test/support/overlay-device.ts, run with the clone's tsx)
// → a request through the proxy. Everything on loopback. ~30 s here (the install takes ~10 s).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
const ok = requirementsMet('README path', { tools: ['git', 'npm'] });

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
      for (;;) {
        const m = re.exec(out);
        if (m) return m;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${what}: not seen (exit ${child.exitCode}); output:\n${out.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      if (child.exitCode !== null || child.pid === undefined) return;
      process.kill(-child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, 'SIGKILL'), 10_000);
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

describe.skipIf(!ok)('the README path on a fresh clone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-readme-'));
  const procs: Proc[] = [];
  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('clone → npm install → npm start → register a device through the API → a request through the proxy', async () => {
    // The README must still say what this test does.
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    for (const step of ['npm install && npm start', 'PORTHOLE_ADMIN_TOKEN', '/api/v1/enrollment-tokens', 'POST /api/v1/devices/register', '"maxUses":1']) {
      expect(readme, `README step "${step}"`).toContain(step);
    }

    const clone = join(dir, 'porthole');
    await run('git', ['clone', '--quiet', REPO_ROOT, clone], { timeoutMs: 60_000 });
    const t0 = Date.now();
    // From the npm cache only: CI and developers' machines have it from their own install.
    await execFileAsync('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: clone, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }).catch((err: Error & { stderr?: string }) => {
      throw new Error(`npm install --offline in the clone failed: ${err.stderr?.slice(-2000) ?? err.message}`);
    });
    console.log(`README path: npm install in the fresh clone took ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const [httpPort, wgPort] = [await freePort(), await freePort()];
    const token = `ph_api_${randomBytes(24).toString('base64url')}`;
    const hub = start('npm', ['start'], clone, {
      PORTHOLE_ADMIN_EMAIL: 'admin@example.com',
      PORTHOLE_ADMIN_PASSWORD: 'a long password for the README test',
      PORTHOLE_ADMIN_TOKEN: token,
      PORTHOLE_HTTP_PORT: String(httpPort),
      PORTHOLE_WG_PORT: String(wgPort),
      PORTHOLE_LISTEN_HOST: '127.0.0.1',
      PORTHOLE_WG_ENDPOINT: `127.0.0.1:${wgPort}`,
      PORTHOLE_DATA_DIR: join(dir, 'data'),
    });
    procs.push(hub);
    await hub.waitFor(/"msg":"listening"/, 'the hub listening');

    const created = await request(httpPort, 'localhost', '/api/v1/enrollment-tokens', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'first device', maxUses: 1 }),
    });
    expect(created.status).toBe(201);
    const enrollment = JSON.parse(created.body).token as string;

    const device = start(join(clone, 'node_modules', '.bin', 'tsx'), [join(clone, 'test', 'e2e', 'fixtures', 'readme-device.ts')], clone, {
      HUB_URL: `http://localhost:${httpPort}`,
      ENROLLMENT_TOKEN: enrollment,
      SERIAL: 'an12345678',
    });
    procs.push(device);
    await device.waitFor(/"event":"ready"/, 'the device registered and up');

    // Through the proxy, with the admin token as the README shows (the tunnel needs a moment).
    let last = { status: 0, body: '' };
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      last = await request(httpPort, 'an12345678.localhost', '/', { headers: { authorization: `Bearer ${token}` } });
      if (last.status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(last).toEqual({ status: 200, body: 'hello from an12345678' });
    const listed = await request(httpPort, 'localhost', '/api/v1/devices/an12345678', { headers: { authorization: `Bearer ${token}` } });
    expect(JSON.parse(listed.body)).toMatchObject({ serial: 'an12345678', status: 'enabled' });
  }, 240_000);
});
