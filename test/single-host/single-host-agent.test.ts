// Single-host mode with a real agent: the registration answer and the API name the device's URL on
// the single host, and the agent maps the device's absolute self-links to the host each visitor is
// on: the single host, or the serial host, which keeps working beside it. Tools reach the device on
// the single host with a hub API token and `?serial=` (they carry no selection cookie), including
// /.porthole/tcp.
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, createWebSocketStream } from 'ws';
import { startAgentHarness, type AgentHarness } from '../agent/support/agent-harness.js';
import { startHubHarness, until, type HubHarness } from '../agent/support/hub-harness.js';

const SERIAL = 'an54100001';
const DEVICE_HOST = 'devices.localhost';

let hub: HubHarness;
let agent: AgentHarness;
let echo: net.Server;

beforeAll(async () => {
  echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  hub = await startHubHarness({ env: { PORTHOLE_DEVICE_HOST: DEVICE_HOST } });
  const { json } = await hub.api('POST', '/enrollment-tokens', { description: 'single host', maxUses: 1 });
  agent = await startAgentHarness({
    hubUrl: hub.portalUrl,
    serial: SERIAL,
    enrollmentToken: json.token,
    expose: [{ port: 2222, host: '127.0.0.1', targetPort: (echo.address() as AddressInfo).port }],
  });
  await until(() => agent.agent.status().phase === 'online', 'the agent online', 15_000);
});

afterAll(async () => {
  await agent?.close();
  await hub?.close();
  echo?.close();
});

const single = () => `${DEVICE_HOST}:${hub.httpPort}`;
const bearer = () => ({ authorization: `Bearer ${hub.adminToken}` });

describe('single-host mode with a real agent', () => {
  it('names the single host in the registration answer and the API', async () => {
    const url = `http://${single()}/.porthole/select?serial=${SERIAL}`;
    expect(agent.agent.status().publicUrl).toBe(url);
    expect((await hub.api('GET', `/devices/${SERIAL}`)).json.url).toBe(url);
  });

  it('maps the device’s absolute self-links to the single host for a visitor there', async () => {
    const res = await hub.request(DEVICE_HOST, `/?serial=${SERIAL}`, { headers: bearer() });
    expect(res.status).toBe(200);
    expect(res.body).toContain(`<h1>Meter ${SERIAL}</h1>`);
    expect(res.body).toContain(`<a href="http://${single()}/settings">`);
    // The hub's statement of the visitor's origin stops at the agent.
    expect(res.body).not.toContain('x-porthole');
  });

  it('and to the serial host for a visitor there', async () => {
    const host = `${SERIAL}.localhost`;
    const res = await hub.request(host, '/', { headers: bearer() });
    expect(res.status).toBe(200);
    expect(res.body).toContain(`<a href="http://${host}:${hub.httpPort}/settings">`);
  });

  it('a request without a selection or token is sent to the portal picker', async () => {
    const res = await hub.request(DEVICE_HOST, '/status');
    expect(res.status).toBe(302);
    const location = new URL(res.headers.location!);
    expect(location.origin).toBe(hub.portalUrl);
    expect(location.pathname).toBe('/auth/device');
    expect(location.searchParams.get('host')).toBe(single());
    expect(location.searchParams.get('next')).toBe('/status');
  });

  it('a tool reaches /.porthole/tcp on the single host with its token and ?serial=', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${hub.httpPort}/.porthole/tcp?port=2222&serial=${SERIAL}`, { headers: { host: single(), ...bearer() } });
    const stream = createWebSocketStream(ws);
    const got = await new Promise<string>((resolve, reject) => {
      stream.once('data', (c: Buffer) => resolve(c.toString()));
      stream.once('error', reject);
      stream.write('ping through the single host');
    });
    stream.destroy();
    expect(got).toBe('ping through the single host');
  });
});
