// The agent library against a real in-process hub (createHub: the carrier route, the composite bind,
// peer status): forced onto the WebSocket carrier it comes online there and serves its UI through
// the hub's proxy; switching the transport on a running agent (as the page does) reconnects at once
// on UDP; the hub's device row shows the carrier in its endpoint.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startAgentHarness, type AgentHarness } from '../agent/support/agent-harness.js';
import { until, useHubHarness } from '../agent/support/hub-harness.js';

describe('switching the carrier of a running agent', () => {
  const hub = useHubHarness();
  let a: AgentHarness;
  const SERIAL = 'an91000001';

  afterAll(async () => {
    await a?.close();
  });

  const page = async () => {
    const r = await until(async () => {
      const res = await hub.request(`${SERIAL}.localhost`, '/status');
      return res.status === 200 ? res : undefined;
    }, 'the device UI through the hub', 15_000);
    expect(r.body).toContain(`<h1>Meter ${SERIAL}</h1>`);
  };

  it('websocket only, then UDP only from the page settings, then back to the command line', async () => {
    const token = (await hub.api('POST', '/enrollment-tokens', { description: 'carrier switch', maxUses: 1 })).json.token as string;
    a = await startAgentHarness({ hubUrl: hub.portalUrl, serial: SERIAL, enrollmentToken: token, network: { proxy: null, transport: 'websocket' } });
    await until(() => a.agent.status().phase === 'online', 'online over the WebSocket', 20_000);
    const onWs = a.agent.status();
    expect(onWs.transport).toBe(`WireGuard over WebSocket (ws://localhost:${hub.httpPort}/.porthole/wg)`);
    expect(onWs.transportReason).toBe('set to WebSocket only in the settings');
    expect(onWs.network).toEqual({ source: 'command line', transport: 'websocket', proxy: undefined });
    expect(hub.hub.wsTransport!.stats.open).toBe(1);
    expect((await hub.api('PATCH', `/devices/${SERIAL}`, { accessPolicy: 'public' })).status).toBe(200);
    await page();
    await until(async () => String((await hub.api('GET', `/devices/${SERIAL}`)).json.lastEndpoint).startsWith('ws:127.0.0.1:') || undefined, 'ws endpoint in the device row', 10_000);

    await a.agent.setNetwork({ proxy: null, transport: 'udp' });
    await until(() => a.agent.status().phase === 'online' && a.agent.status().transport?.startsWith('WireGuard/UDP'), 'online over UDP', 20_000);
    expect(a.agent.status().transport).toBe(`WireGuard/UDP to 127.0.0.1:${hub.udpPort}`);
    expect(a.agent.status().network.source).toBe('this page');
    expect(JSON.parse(readFileSync(join(a.stateDir, 'state.json'), 'utf8')).network).toEqual({ proxy: null, transport: 'udp' });
    await until(() => hub.hub.wsTransport!.stats.open === 0 || undefined, 'the carrier connection gone', 10_000);
    await page();
    await until(async () => /^127\.0\.0\.1:\d+$/.test(String((await hub.api('GET', `/devices/${SERIAL}`)).json.lastEndpoint)) || undefined, 'UDP endpoint in the device row', 10_000);

    await a.agent.setNetwork(null);
    await until(() => a.agent.status().phase === 'online' && a.agent.status().transport?.startsWith('WireGuard over WebSocket'), 'back on the WebSocket', 20_000);
    expect(a.agent.status().network.source).toBe('command line');
    await page();
  }, 90_000);
});
