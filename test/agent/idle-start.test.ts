// What `porthole-agent` (main.ts) loads before anyone needs it: an agent on a small gateway mostly
// idles, and keeps every module it has loaded. With a stub hub that refuses its enrollment token, the
// agent settles idle; at that point the local page's code (hono), the WebSocket carrier (ws), the
// SOCKS client and Node's fetch (undici) must not be loaded, and the page still answers when asked.
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../support/until.js';
import { startIdleAgent, type Cleanups } from './support/idle-agent.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const RECORDER = fileURLToPath(new URL('./support/record-loads.mjs', import.meta.url));

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('porthole-agent at idle', () => {
  it('has not loaded the page, the WebSocket carrier, the SOCKS client or fetch; the page loads on its first request', async () => {
    const agent = await startIdleAgent(['--import', 'tsx', '--import', RECORDER, 'apps/agent/src/main.ts'], cleanups, { cwd: REPO });
    // The registration went out through the agent's own node:http client.
    expect(agent.hub.requests).toContain('POST /api/v1/devices/register');

    agent.child.kill('SIGUSR2');
    const report = await until(() => agent.stderr().split('\n').find((l) => l.startsWith('{"loaded"')), 'the modules report');
    const { loaded, builtins } = JSON.parse(report) as { loaded: string[]; builtins: string[] };
    expect(loaded.some((u) => u.endsWith('/apps/agent/src/agent.ts'))).toBe(true);
    const packages = loaded.filter((u) => /\/node_modules\/(ws|socks|hono|@hono\/node-server)\//.test(u));
    expect(packages).toEqual([]);
    expect(loaded.filter((u) => u.includes('/apps/agent/src/web/'))).toEqual([]);
    expect(builtins.filter((b) => b.includes('undici'))).toEqual([]);

    // The page still answers: its code loads with the first request.
    const res = await fetch(`http://127.0.0.1:${agent.uiPort}/`, { redirect: 'manual' });
    expect(res.status).toBeLessThan(500);
    expect(await res.text()).toMatch(/password/i);
  });
});
