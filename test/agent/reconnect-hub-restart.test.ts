// Reconnect after a hub restart: the hub is closed and a new one is created on the
// same data dir (same key, same database) and the same UDP port; the agent, left alone with its
// default settings, gets a new session and the device is served through the new hub again. Prints how
// long it takes (no timing assertions beyond generous functional timeouts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadBytes, startAgentHarness, type AgentHarness } from './support/agent-harness.js';
import { until, useHubHarness } from './support/hub-harness.js';

const SERIAL = 'an50000001';

const hub = useHubHarness({ dialTimeoutMs: 2000 });
let agent: AgentHarness;

beforeAll(async () => {
  const token = await hub.api('POST', '/enrollment-tokens', { description: 'restart', maxUses: 1 });
  agent = await startAgentHarness({ hubUrl: hub.portalUrl, serial: SERIAL, enrollmentToken: token.json.token });
  await until(() => agent.agent.status().phase === 'online', 'the agent online', 15_000);
  expect((await hub.api('PATCH', `/devices/${SERIAL}`, { accessPolicy: 'public' })).status).toBe(200);
});

afterAll(async () => {
  await agent?.close();
});

describe('hub restart', () => {
  it('the device comes back by itself after the hub restarts on the same data dir and UDP port', async () => {
    const before = await hub.served(`${SERIAL}.localhost`, '/download?bytes=100000', 'the device through the first hub');
    expect(Buffer.compare(before.bytes, downloadBytes(100_000))).toBe(0);
    // Let the first hub write the device's handshake and endpoint back (the new hub dials from there).
    await until(async () => (await hub.api('GET', `/devices/${SERIAL}`)).json.lastEndpoint, 'the endpoint in the registry', 5000, 100);
    const oldKey = hub.hub.publicKey;
    const handshakeBefore = agent.agent.status().lastHandshakeAtMs!;

    const t0 = performance.now();
    const { downMs } = await hub.restart();
    const listeningMs = performance.now() - t0;
    expect(hub.hub.publicKey).toBe(oldKey); // same data dir: same hub key, the agent's peer config stays valid

    // Nothing is done to the agent: it has to get a new session by itself.
    await until(() => hub.hub.overlay.wireguard.device.getPeer(agent.agent.publicKey)?.hasSession, 'a new session at the new hub', 60_000, 20);
    const sessionMs = performance.now() - t0;
    const page = await hub.served(`${SERIAL}.localhost`, '/download?bytes=100000', 'the device through the restarted hub', { withinMs: 60_000, stepMs: 100, timeoutMs: 10_000 });
    const servedMs = performance.now() - t0;
    expect(Buffer.compare(page.bytes, downloadBytes(100_000))).toBe(0);
    await until(() => (agent.agent.status().lastHandshakeAtMs ?? 0) > handshakeBefore, "the agent's new handshake", 5000);
    expect(agent.agent.status().phase).toBe('online');
    console.log(
      `hub restart: new hub listening ${Math.round(listeningMs)} ms after close (startup ${Math.round(downMs)} ms); ` +
        `new WireGuard session ${Math.round(sessionMs - listeningMs)} ms after listening; ` +
        `device served again ${Math.round(servedMs - listeningMs)} ms after listening (agent phases: ${agent.phases.join(' → ')})`,
    );
  });
});
