// What `porthole-agent` (main.ts) loads before anyone needs it: an agent on a small gateway mostly
// idles, and keeps every module it has loaded. With a stub hub that refuses its enrollment token, the
// agent settles idle; at that point the local page's code (hono), the WebSocket carrier (ws), the
// SOCKS client and Node's fetch (undici) must not be loaded, and the page still answers when asked.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { until } from '../support/until.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const RECORDER = fileURLToPath(new URL('./support/record-loads.mjs', import.meta.url));

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A hub that refuses every enrollment token (403), recording what it was asked. */
async function refusingHub(): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(403, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'invalid_enrollment_token', message: 'This enrollment token is not valid.' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

function startAgent(args: string[]): { child: ChildProcess; stdout: () => string; stderr: () => string } {
  const stateDir = mkdtempSync(join(tmpdir(), 'agent-idle-'));
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', RECORDER, 'apps/agent/src/main.ts', '--state-dir', stateDir, ...args], {
    cwd: REPO,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  );
  return { child, stdout: () => out, stderr: () => err };
}

describe('porthole-agent at idle', () => {
  it('has not loaded the page, the WebSocket carrier, the SOCKS client or fetch; the page loads on its first request', async () => {
    const hub = await refusingHub();
    const uiPort = await freePort();
    const agent = startAgent([
      '--hub-url', hub.url,
      '--serial', 'an30000001',
      '--target', 'http://127.0.0.1:9',
      '--enrollment-token', 'not-a-valid-token',
      '--password', 'idle-agent-page-pass',
      '--listen', `127.0.0.1:${uiPort}`,
    ]);
    await until(() => /registration refused/.test(agent.stdout()) && /local Remote access page listening/.test(agent.stdout()), 'the agent idle after a refused token', 30_000);
    // The registration went out through the agent's own node:http client.
    expect(hub.requests).toContain('POST /api/v1/devices/register');

    agent.child.kill('SIGUSR2');
    const report = await until(() => agent.stderr().split('\n').find((l) => l.startsWith('{"loaded"')), 'the modules report');
    const { loaded, builtins } = JSON.parse(report) as { loaded: string[]; builtins: string[] };
    expect(loaded.some((u) => u.endsWith('/apps/agent/src/agent.ts'))).toBe(true);
    const packages = loaded.filter((u) => /\/node_modules\/(ws|socks|hono|@hono\/node-server)\//.test(u));
    expect(packages).toEqual([]);
    expect(loaded.filter((u) => u.includes('/apps/agent/src/web/'))).toEqual([]);
    expect(builtins.filter((b) => b.includes('undici'))).toEqual([]);

    // The page still answers: its code loads with the first request.
    const res = await fetch(`http://127.0.0.1:${uiPort}/`, { redirect: 'manual' });
    expect(res.status).toBeLessThan(500);
    expect(await res.text()).toMatch(/password/i);
  });
});
