// The agent's end of the control channel against a fake hub on the fake tunnel: only the hub's
// tunnel address is answered, messages are validated, the report carries the window and the
// answer's policy is applied, a pushed policy shortens a longer window, and the exposure window
// ends by the agent's own timer (also across a restart).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DEVICE_CONTROL_PORT, agentReportSchema, createControlServer, route, windowEndedSchema, type AgentReport } from '@porthole/device-control';
import { createAgent } from '../agent.js';
import { encodeKey, generatePrivateKey, publicKeyFromPrivate } from '@porthole/wireguard';
import { memoryLogger } from '../log/logger.js';
import { StateStore } from '../state/state-store.js';
import { createFakeRegistry } from '../testing/fake-registry.js';
import { FakeTimers } from '../testing/fake-timers.js';
import { rawHttp, serveApp, until } from '../testing/servers.js';
import { createFakeTunnelNetwork } from '../testing/fake-tunnel.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const HOUR = 3_600_000;

async function setup(opts: { maxHours: number | null; stateDir?: string; timers?: FakeTimers; online?: boolean; endpoints?: string[]; registered?: string[] }) {
  const timers = opts.timers ?? new FakeTimers(Date.UTC(2026, 11, 5, 8), 7);
  const registry = createFakeRegistry({
    hubPublicKey: encodeKey(publicKeyFromPrivate(generatePrivateKey())),
    endpoint: '127.0.0.1:51820',
    urlFor: (s) => `https://${s}.devices.test/`,
    enrollmentTokens: ['tok'],
    now: timers.now,
    ...(opts.registered ? { endpoints: opts.registered } : {}),
  });
  const hubApi = await serveApp(registry.app);
  cleanups.push(() => hubApi.close());
  const network = createFakeTunnelNetwork(timers.now);
  // The fake hub's control end: records what agents say, answers with the fleet policy.
  const reports: AgentReport[] = [];
  const ended: string[] = [];
  const hubControl = createControlServer({
    accept: () => true,
    handlers: {
      report: route(agentReportSchema, (r) => {
        reports.push(r);
        return { maxExposureHours: opts.maxHours, ...(opts.endpoints ? { endpoints: opts.endpoints } : {}) };
      }),
      'window-ended': route(windowEndedSchema, (m) => void ended.push(m.endedAt)),
    },
  });
  network.hubListen(DEVICE_CONTROL_PORT, (s: Socket) => hubControl.handle(s));
  cleanups.push(() => hubControl.close());
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'porthole-control-'));
  if (!opts.stateDir) cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const agent = createAgent({
    hubUrl: new URL(hubApi.url),
    serial: 'an12345678',
    target: new URL('http://127.0.0.1:9'),
    enrollmentToken: 'tok',
    store: StateStore.open(stateDir),
    tunnelFactory: network.factory,
    timers,
    logger: memoryLogger(),
    resolve: async (h) => h,
  });
  cleanups.push(() => agent.close());
  await agent.start();
  if (opts.online !== false) await until(() => agent.status().phase === 'online');
  return { agent, timers, network, reports, ended, stateDir };
}

/** POSTs a control message to the agent through the fake tunnel, from `from`. */
async function post(network: ReturnType<typeof createFakeTunnelNetwork>, from: string, name: string, body: unknown): Promise<string> {
  const socket = await network.current()!.connect(DEVICE_CONTROL_PORT, from);
  const text = JSON.stringify(body);
  return rawHttp(socket, `POST /control/v1/${name} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`).catch((e: Error) => `error ${e.message}`);
}

const visit = {
  id: 'v1',
  startedAt: '2026-12-05T08:00:00.000Z',
  lastAt: '2026-12-05T08:01:00.000Z',
  ended: false,
  user: { email: 'installer@example.io', organisation: null },
  clientIp: '198.51.100.7',
  kind: 'http',
  port: 80,
  requests: 4,
  refused: 0,
  bytesIn: 100,
  bytesOut: 2000,
};

describe('the agent end of the control channel', () => {
  it('reports when the tunnel comes up and applies the policy of the answer', async () => {
    const { agent, reports } = await setup({ maxHours: 8 });
    await until(() => agent.status().exposure.maxHours === 8);
    expect(reports[0]).toMatchObject({ exposure: { until: null } });
    expect(agent.status().exposure.choices).toEqual([1, 8]);
  });

  it("answers only the hub's tunnel address; validates messages; records the journal", async () => {
    const { agent, network } = await setup({ maxHours: null });
    const stranger = await post(network, '100.64.0.77', 'journal', { entries: [visit] });
    expect(stranger).not.toMatch(/^HTTP/); // closed unanswered
    expect(agent.status().journal).toEqual([]);

    const hubIp = network.current()!.params.registration.hub.tunnelIp;
    expect(await post(network, hubIp, 'journal', { entries: [{ ...visit, port: 0 }] })).toMatch(/^HTTP\/1\.1 400[\s\S]*entries\.0\.port/);
    expect(await post(network, hubIp, 'nonsense', {})).toMatch(/^HTTP\/1\.1 404/);
    expect(agent.status().journal).toEqual([]);
    expect(await post(network, hubIp, 'journal', { entries: [visit] })).toMatch(/^HTTP\/1\.1 204/);
    expect(agent.status().journal).toEqual([visit]);
    // The same visit again, ended: replaced, not added.
    await post(network, hubIp, 'journal', { entries: [{ ...visit, ended: true, requests: 9 }] });
    expect(agent.status().journal).toEqual([{ ...visit, ended: true, requests: 9 }]);
  });

  it('a pushed policy shortens a longer window; the window then ends by the local timer and the hub hears it', async () => {
    const { agent, network, timers, reports, ended, stateDir } = await setup({ maxHours: null });
    await agent.disable();
    await agent.enable({ windowHours: 24 });
    await until(() => agent.status().phase === 'online' && reports.some((r) => r.exposure.until !== null));
    const t0 = timers.now();
    expect(agent.status().exposure.untilMs).toBe(t0 + 24 * HOUR);
    const hubIp = network.current()!.params.registration.hub.tunnelIp;
    expect(await post(network, hubIp, 'policy', { maxExposureHours: 2 })).toMatch(/^HTTP\/1\.1 204/);
    expect(agent.status().exposure.untilMs).toBe(t0 + 2 * HOUR);
    await until(() => reports.at(-1)!.exposure.until === new Date(t0 + 2 * HOUR).toISOString());

    // Time passes with the session alive (the fake tunnel's handshakes, as WireGuard rekeys).
    const live = (ms: number) => {
      for (let left = ms; left > 0; left -= Math.min(left, 60_000)) {
        timers.advance(Math.min(left, 60_000));
        network.current()?.emit({ type: 'handshake', atMs: timers.now() });
      }
    };
    live(2 * HOUR - 1000);
    expect(agent.status().phase).toBe('online');
    live(1000);
    await until(() => agent.status().phase === 'off');
    expect(ended).toEqual([new Date(t0 + 2 * HOUR).toISOString()]);
    expect(agent.status()).toMatchObject({ enabled: false, exposure: { untilMs: undefined, endedAtMs: t0 + 2 * HOUR } });
    expect(network.tunnels.at(-1)!.notifiedHub).toBe(true);

    // A reboot keeps it off; Enable starts a new window and clears the "ended" note.
    await agent.close();
    const again = await setup({ maxHours: 2, stateDir, timers, online: false });
    expect(again.agent.status()).toMatchObject({ phase: 'off', enabled: false, exposure: { endedAtMs: t0 + 2 * HOUR } });
    await again.agent.enable({ windowHours: 1 });
    await until(() => again.agent.status().phase === 'online');
    expect(again.agent.status().exposure).toMatchObject({ endedAtMs: undefined, untilMs: timers.now() + HOUR });
    // This hub's answer carries a maximum of 2 h: Enable now offers 1 h and 2 h only.
    await until(() => again.agent.status().exposure.maxHours === 2);
    expect(again.agent.status().exposure.choices).toEqual([1, 2]);
  });

  it('a window that passed while the agent was down keeps remote access off at start', async () => {
    const first = await setup({ maxHours: null });
    await first.agent.disable();
    await first.agent.enable({ windowHours: 1 });
    await until(() => first.agent.status().phase === 'online');
    await first.agent.close();
    const store = StateStore.open(first.stateDir);
    expect(store.state.enabled).toBe(true);
    first.timers.advance(HOUR + 1);
    const tunnelsBefore = first.network.tunnels.length;
    const agent = createAgent({
      hubUrl: new URL('http://127.0.0.1:9'),
      serial: 'an12345678',
      target: new URL('http://127.0.0.1:9'),
      store,
      tunnelFactory: first.network.factory,
      timers: first.timers,
      resolve: async (h) => h,
    });
    cleanups.push(() => agent.close());
    await agent.start();
    expect(agent.status()).toMatchObject({ phase: 'off', enabled: false });
    expect(agent.status().exposure.endedAtMs).toBe(Date.parse(store.state.exposureEndedAt!));
    expect(first.network.tunnels.length).toBe(tunnelsBefore);
  });
});

describe('cluster endpoints and move', () => {
  it("keeps the nodes the report's answer lists, and moves at once when its node is leaving", async () => {
    const nodes = ['127.0.0.1:51820', '127.0.0.2:51820', '127.0.0.3:51820'];
    const { agent, network, stateDir } = await setup({ maxHours: null, endpoints: nodes });
    const state = () => StateStore.open(stateDir).state;
    await until(() => state().hubEndpoints?.endpoints.length === 3);
    expect(state().hubEndpoints).toEqual({ endpoints: nodes, current: '127.0.0.1:51820' });
    const hub = network.current()!.params.registration.hub.tunnelIp;

    // A move that fails the schema changes nothing.
    expect(await post(network, hub, 'move', { from: 'node-1', fromEndpoint: nodes[0], endpoints: [] })).toMatch(/^HTTP\/1\.1 400/);
    // Only the hub's tunnel address is heard (an admin peer cannot move a device).
    expect(await post(network, '100.64.0.77', 'move', { from: 'node-1', fromEndpoint: nodes[0], endpoints: [nodes[2]] })).not.toMatch(/^HTTP\/1\.1 204/);
    expect(network.tunnels).toHaveLength(1);

    expect(await post(network, hub, 'move', { from: 'node-1', fromEndpoint: nodes[0], endpoints: [nodes[2], nodes[1]] })).toMatch(/^HTTP\/1\.1 204/);
    await until(() => network.tunnels.length === 2 && agent.status().phase === 'online');
    // The old tunnel drains beside the new one (the supervisor's MOVE_DRAIN_MS, tested there).
    expect(network.current()).toBe(network.tunnels[1]);
    expect(network.tunnels[1]!.params.endpoint).toEqual({ address: '127.0.0.3', port: 51820 });
    expect(agent.status().hubEndpoint).toBe('127.0.0.3:51820');
    expect(state().hubEndpoints?.current).toBe('127.0.0.3:51820');
  });

  it('keeps the nodes the registration answer lists at once, though every later answer lists the same', async () => {
    // A node that already sees the others answers the registration with all of them; the report's
    // answer then lists nothing new (in CI this left the state file without the list).
    const nodes = ['127.0.0.1:51820', '127.0.0.2:51820'];
    const { agent, network, stateDir, reports } = await setup({ maxHours: null, registered: nodes, endpoints: nodes, online: false });
    const state = () => StateStore.open(stateDir).state;
    await until(() => state().registration !== null);
    expect(state().hubEndpoints).toEqual({ endpoints: nodes, current: nodes[0] });
    await until(() => agent.status().phase === 'online' && reports.length > 0);
    expect(state().hubEndpoints).toEqual({ endpoints: nodes, current: nodes[0] });
    expect(network.current()!.params.liveness?.watch()).toBe(true);
  });

  it('a policy push with one endpoint (a single node) turns failover off', async () => {
    const { agent, network, stateDir } = await setup({ maxHours: null, endpoints: ['127.0.0.1:51820', '127.0.0.2:51820'] });
    await until(() => StateStore.open(stateDir).state.hubEndpoints?.endpoints.length === 2);
    expect(network.current()!.params.liveness?.watch()).toBe(true);
    const hub = network.current()!.params.registration.hub.tunnelIp;
    expect(await post(network, hub, 'policy', { maxExposureHours: null, endpoints: ['127.0.0.1:51820'] })).toMatch(/^HTTP\/1\.1 204/);
    expect(network.current()!.params.liveness?.watch()).toBe(false);
    expect(agent.status().phase).toBe('online');
  });
});
