// Issue 15, the agent's side of failover on loopback: one hub reached through two UDP relays stands
// for two cluster nodes sharing the hub's key (the agent cannot tell them apart: same key, two
// endpoints). The agent knows both endpoints (kept in its state file, as a clustered hub's policy
// leaves them); the relay it uses goes silent, and the agent must notice by itself, move to the other
// endpoint (same keys, new handshake) and be served again through the hub. Prints how long it took.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateStore } from '@porthole/agent';
import { startAgentHarness, type AgentHarness } from '../agent/support/agent-harness.js';
import { startHubHarness, until, type HubHarness } from '../agent/support/hub-harness.js';
import { UdpRelay } from '../agent/support/udp-relay.js';

const SERIAL = 'an15000001';

let relayA: UdpRelay;
let relayB: UdpRelay;
let hub: HubHarness;
let agent: AgentHarness | undefined;
let stateDir: string;

beforeAll(async () => {
  relayA = await UdpRelay.open();
  relayB = await UdpRelay.open();
  hub = await startHubHarness({ wgEndpoint: () => `127.0.0.1:${relayA.port}`, dialTimeoutMs: 2000 });
  relayA.setTarget('127.0.0.1', hub.udpPort);
  relayB.setTarget('127.0.0.1', hub.udpPort);
  stateDir = mkdtempSync(join(tmpdir(), 'k2-failover-agent-'));
  const token = await hub.api('POST', '/enrollment-tokens', { description: 'failover', maxUses: 1 });
  const first = await startAgentHarness({ hubUrl: hub.portalUrl, serial: SERIAL, enrollmentToken: token.json.token, stateDir });
  await until(() => first.agent.status().phase === 'online', 'the agent online through relay A', 15_000);
  expect((await hub.api('PATCH', `/devices/${SERIAL}`, { accessPolicy: 'public' })).status).toBe(200);
  await first.close();
  // Two nodes known, as a cluster's policy leaves them in the state file; the agent restarts with it.
  const store = StateStore.open(stateDir);
  store.update((s) => {
    s.hubEndpoints = { endpoints: [`127.0.0.1:${relayA.port}`, `127.0.0.1:${relayB.port}`], current: `127.0.0.1:${relayA.port}` };
  });
  agent = await startAgentHarness({ hubUrl: hub.portalUrl, serial: SERIAL, stateDir });
  await until(() => agent!.agent.status().phase === 'online', 'the restarted agent online through relay A', 15_000);
});

afterAll(async () => {
  await agent?.close();
  await hub?.close();
  relayA?.close();
  relayB?.close();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('agent failover between two hub endpoints', () => {
  it('moves to the second endpoint by itself when the first goes silent, and is served again', async () => {
    expect(agent!.agent.status().hubEndpoint).toBe(`127.0.0.1:${relayA.port}`);
    const before = await hub.request(`${SERIAL}.localhost`, '/before');
    expect(before.status).toBe(200);
    expect(relayB.counters.toHub).toBe(0);

    relayA.blackhole(true);
    const t0 = performance.now();
    const served = await until(
      async () => {
        const r = await hub.request(`${SERIAL}.localhost`, '/after', { timeoutMs: 3000 }).catch(() => undefined);
        return r?.status === 200 ? r : undefined;
      },
      'the device served again after relay A went silent',
      60_000,
      100,
    );
    const servedMs = performance.now() - t0;
    expect(served.text).toContain('GET /after');
    expect(agent!.agent.status().hubEndpoint).toBe(`127.0.0.1:${relayB.port}`);
    expect(relayB.counters.toHub).toBeGreaterThan(0);
    expect(relayB.counters.toDevice).toBeGreaterThan(0);
    // The move is in the state file: a restart now dials B.
    const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8'));
    expect(state.hubEndpoints.current).toBe(`127.0.0.1:${relayB.port}`);
    expect(agent!.logLines(/moving to another hub node/).length).toBeGreaterThan(0);
    console.log(`agent failover: served again ${(servedMs / 1000).toFixed(1)} s after its endpoint went silent (phases: ${agent!.phases.join(' → ')})`);
  });
});
