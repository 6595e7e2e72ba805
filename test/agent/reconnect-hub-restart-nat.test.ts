// A hub restart when the hub cannot dial the device back: while the hub is down the
// device's NAT mapping changes (the UDP relay rebinds), so the restarted hub's dial to the last known
// endpoint is lost and only the agent's own mechanism brings it back (its periodic probe is data; with
// no authenticated reply WireGuard starts a new handshake after 15 s). The probe runs every 5 s here
// instead of the default 25 s (the keepalive) to keep the file short: 15-20 s instead of 15-40 s (one
// run with the default measured 38.8 s). Prints the figure (no timing assertions beyond timeouts).
import { describe, expect, it } from 'vitest';
import { until } from './support/hub-harness.js';
import { useRelayedDevice } from './support/relayed-device.js';

const SERIAL = 'an80000001';
const PROBE_INTERVAL_MS = 5000;

const device = useRelayedDevice(SERIAL, { probeIntervalMs: PROBE_INTERVAL_MS });

describe('hub restart behind a NAT that rebinds meanwhile', () => {
  it('the agent gets a new session by itself and the device is served again', async () => {
    const { relay, hub, agent } = device;
    expect((await hub.request(`${SERIAL}.localhost`, '/before')).status).toBe(200);
    await until(async () => (await hub.api('GET', `/devices/${SERIAL}`)).json.lastEndpoint, 'the endpoint in the registry', 5000, 100);
    const handshakeBefore = agent.agent.status().lastHandshakeAtMs!;

    const t0 = performance.now();
    const restarting = hub.restart();
    // While the hub is down the NAT mapping moves: the new hub's dial to the old port goes nowhere.
    const [move] = await relay.rebind();
    await restarting;
    const listeningMs = performance.now() - t0;

    await until(() => hub.hub.overlay.wireguard.device.getPeer(agent.agent.publicKey)?.hasSession, 'a new session started by the agent', 60_000, 20);
    const sessionMs = performance.now() - t0;
    expect(hub.hub.overlay.wireguard.device.getPeer(agent.agent.publicKey)?.endpoint?.port).toBe(move!.to);
    const served = await hub.served(`${SERIAL}.localhost`, '/after', 'the device through the restarted hub', { withinMs: 30_000, stepMs: 100, timeoutMs: 10_000 });
    const servedMs = performance.now() - t0;
    expect(served.body).toContain('<p id="path">GET /after</p>');
    expect((agent.agent.status().lastHandshakeAtMs ?? 0) > handshakeBefore).toBe(true);
    console.log(
      `hub restart behind a rebinding NAT: new hub listening after ${Math.round(listeningMs)} ms; new session ${Math.round(sessionMs - listeningMs)} ms ` +
        `after listening; served ${Math.round(servedMs - listeningMs)} ms after listening ` +
        `(agent probe every ${PROBE_INTERVAL_MS / 1000} s + WireGuard's 15 s no-reply rule: 15-${15 + PROBE_INTERVAL_MS / 1000} s expected)`,
    );
  });
});
