// Reconnect after a loss burst: a UDP relay between agent and hub drops every datagram
// both ways for 20 s while a visitor keeps trying, then passes traffic again; the device comes back by
// itself (WireGuard's no-reply rule and handshake retries, the agent's supervisor) and requests work.
// Prints how long recovery takes (no timing assertions beyond generous functional timeouts).
import { describe, expect, it } from 'vitest';
import { until } from './support/hub-harness.js';
import { useRelayedDevice } from './support/relayed-device.js';

const SERIAL = 'an70000001';
const BURST_MS = 20_000;

const device = useRelayedDevice(SERIAL);

describe('loss burst', () => {
  it(`the device comes back by itself after ${BURST_MS / 1000} s of total loss`, async () => {
    const { relay, hub, agent } = device;
    const ok = await hub.request(`${SERIAL}.localhost`, '/before');
    expect(ok.status).toBe(200);

    const during: string[] = [];
    const droppedBefore = relay.counters.dropped;
    relay.blackhole(true);
    const burstStart = performance.now();
    // A visitor keeps trying through the burst. A new connection ends at the hub's 2 s dial timeout
    // (504); a request on the hub's pooled connection would wait out its 60 s response timeout, so
    // the visitor gives up after 5 s as a person would.
    while (performance.now() - burstStart < BURST_MS) {
      const outcome = await hub.request(`${SERIAL}.localhost`, '/during', { timeoutMs: 5000 }).then(
        (r) => String(r.status),
        () => 'gave up',
      );
      during.push(outcome);
      await new Promise((r) => setTimeout(r, 500));
    }
    relay.blackhole(false);
    const recovered = performance.now();
    const burstMs = recovered - burstStart;
    const dropped = relay.counters.dropped - droppedBefore;
    const handshakeAtRecovery = agent.agent.status().lastHandshakeAtMs ?? 0;
    const phasesAtRecovery = agent.phases.length;
    expect(during.length).toBeGreaterThan(2);
    expect(during.every((s) => s === '502' || s === '504' || s === 'gave up')).toBe(true);
    expect(dropped).toBeGreaterThan(0);

    const served = await hub.served(`${SERIAL}.localhost`, '/after', 'the device through the hub after the burst', { withinMs: 60_000, stepMs: 250, timeoutMs: 10_000 });
    const servedMs = performance.now() - recovered;
    expect(served.body).toContain('<p id="path">GET /after</p>');
    await until(() => agent.agent.status().phase === 'online', 'the agent online', 30_000);
    const newHandshake = (agent.agent.status().lastHandshakeAtMs ?? 0) > handshakeAtRecovery;
    console.log(
      `loss burst: ${Math.round(burstMs)} ms of total loss (${dropped} datagrams dropped, visitor saw ${during.join(',')}); ` +
        `device served again ${Math.round(servedMs)} ms after recovery; new handshake since recovery: ${newHandshake}; ` +
        `agent phases during/after: ${agent.phases.slice(phasesAtRecovery - 1).join(' → ')}`,
    );
  });
});
