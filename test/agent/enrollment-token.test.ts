// Enrollment-token mode against the real in-process hub: an agent started with a
// token from `POST /api/v1/enrollment-tokens` registers unattended, comes online and serves its UI
// through the hub; a reboot reuses the stored registration; a used-up and a revoked token are shown
// as refused on the local page and not retried (counted at the agent's HTTP client).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCAL_PASSWORD, startAgentHarness, type AgentHarness } from './support/agent-harness.js';
import { until, useHubHarness } from './support/hub-harness.js';
import { TestBrowser, visibleText } from '../support/browser.js';

const hub = useHubHarness();
const agents: AgentHarness[] = [];

afterAll(async () => {
  for (const a of agents) await a.close();
});

/** A fetch for the agent that counts its registration attempts. */
function countingFetch() {
  const calls: string[] = [];
  const fetchFn = (input: string | URL, init?: RequestInit) => {
    calls.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
    return fetch(input, init);
  };
  return { calls, fetchFn, registrations: () => calls.filter((c) => c === 'POST /api/v1/devices/register').length };
}

async function newToken(maxUses = 1): Promise<{ id: string; token: string }> {
  const res = await hub.api('POST', '/enrollment-tokens', { description: 'fleet test', maxUses, tags: ['fleet-a'] });
  expect(res.status).toBe(201);
  return res.json;
}

async function startAgent(serial: string, enrollmentToken: string, stateDir?: string) {
  const counter = countingFetch();
  const a = await startAgentHarness({ hubUrl: hub.portalUrl, serial, enrollmentToken, fetch: counter.fetchFn, ...(stateDir ? { stateDir } : {}) });
  agents.push(a);
  return { a, counter };
}

/** The local page as the owner sees it (logged in with the device password). */
async function localPageText(a: AgentHarness): Promise<string> {
  const browser = new TestBrowser();
  const login = await browser.get(a.pageUrl);
  await browser.post(login, '/login', { password: LOCAL_PASSWORD });
  const page = await browser.get(a.pageUrl);
  expect(page.status).toBe(200);
  return visibleText(page.html);
}

describe('enrollment-token mode', () => {
  let token: { id: string; token: string };
  let first: AgentHarness;

  it('registers unattended at start and comes online; the hub serves the device', async () => {
    token = await newToken(1);
    const t0 = performance.now();
    const { a, counter } = await startAgent('an30000001', token.token);
    first = a;
    await until(() => a.agent.status().phase === 'online', 'the agent online', 15_000);
    console.log(`enrollment token: start to online in ${Math.round(performance.now() - t0)} ms`);
    expect(a.phases).toEqual(['off', 'registering', 'connecting', 'online']);
    expect(counter.registrations()).toBe(1);
    const status = a.agent.status();
    expect(status.publicUrl).toBe(`http://an30000001.localhost:${hub.httpPort}/`);

    // The hub's view: the device with this agent's key, the token's tags, and the token used up.
    const row = (await hub.api('GET', '/devices/an30000001')).json;
    expect(row).toMatchObject({ serial: 'an30000001', publicKey: a.agent.publicKey, tunnelIp: status.tunnelIp, tags: ['fleet-a'] });
    const tokens = (await hub.api('GET', '/enrollment-tokens')).json;
    expect((tokens.items ?? tokens).find((t: { id: string }) => t.id === token.id)).toMatchObject({ uses: 1, state: 'used' });

    // The registration is in the state file (mode 0600), the private key never left it.
    const stateFile = join(a.stateDir, 'state.json');
    const state = JSON.parse(readFileSync(stateFile, 'utf8'));
    expect(state.registration).toMatchObject({ serial: 'an30000001', tunnelIp: status.tunnelIp });
    expect(JSON.stringify(row)).not.toContain(state.privateKey);

    expect((await hub.api('PATCH', '/devices/an30000001', { accessPolicy: 'public' })).status).toBe(200);
    const page = await hub.served('an30000001.localhost', '/status', 'the device UI through the hub');
    expect(page.body).toContain('<h1>Meter an30000001</h1>');
    expect(page.body).toContain('<p id="path">GET /status</p>');
  });

  it('a reboot with the same (now used-up) token reuses the stored registration: online, no new registration', async () => {
    const stateDir = first.stateDir;
    await first.agent.close();
    const { a, counter } = await startAgent('an30000001', token.token, stateDir);
    await until(() => a.agent.status().phase === 'online', 'the rebooted agent online', 15_000);
    expect(counter.registrations()).toBe(0);
    expect(a.agent.publicKey).toBe(first.agent.publicKey);
  });

  it('a used-up token is shown as refused and not retried', async () => {
    const { a, counter } = await startAgent('an30000002', token.token);
    await until(() => a.agent.status().lastError, 'the refusal', 10_000);
    const status = a.agent.status();
    expect(status).toMatchObject({ phase: 'off', registered: false, lastError: 'Registration failed: enrollmentToken has no uses left' });
    expect(await localPageText(a)).toContain('Registration failed: enrollmentToken has no uses left');
    // A retry would come after 0.5-1 s of backoff; none comes in 2.5 s.
    await new Promise((r) => setTimeout(r, 2500));
    expect(counter.registrations()).toBe(1);
    expect(a.agent.status().phase).toBe('off');
    expect(a.logLines(/registration refused/)).toHaveLength(1);
    expect((await hub.api('GET', '/devices/an30000002')).status).toBe(404);
  });

  it('a revoked token is shown as refused and not retried', async () => {
    const revoked = await newToken(10);
    expect((await hub.api('DELETE', `/enrollment-tokens/${revoked.id}`)).status).toBeLessThan(300);
    const { a, counter } = await startAgent('an30000003', revoked.token);
    await until(() => a.agent.status().lastError, 'the refusal', 10_000);
    expect(a.agent.status()).toMatchObject({ phase: 'off', registered: false, lastError: 'Registration failed: enrollmentToken has been revoked' });
    expect(await localPageText(a)).toContain('Registration failed: enrollmentToken has been revoked');
    await new Promise((r) => setTimeout(r, 2500));
    expect(counter.registrations()).toBe(1);
    expect((await hub.api('GET', '/devices/an30000003')).status).toBe(404);
  });
});
