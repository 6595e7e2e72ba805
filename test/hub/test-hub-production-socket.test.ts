// startTestHub's wireguardSocket 'production': the hub opens its WireGuard socket itself, as
// `npm start` does (the ingress thread reads it), on the port the test hub reports. The hub bench
// measures the hub this way, so this checks that it is really that socket, and that restart()
// brings it back on the same port.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as hubRequest, startTestHub, type TestHub } from '@porthole/hub/testing';
import { freePort } from '../support/free-port.js';
import { until } from '../support/until.js';
import { enrollDevice, startOverlayDevice, type OverlayDevice } from '../support/overlay-device.js';

const SERIAL = 'an10000061';
let t: TestHub;
let opsPort: number;
let device: OverlayDevice | undefined;

const request = (host: string, path: string) => hubRequest(t.httpPort, host, path, { timeoutMs: 30_000, hostWithPort: true });

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await hubRequest(t.httpPort, 'localhost', `/api/v1${path}`, {
    method,
    hostWithPort: true,
    headers: { authorization: `Bearer ${t.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: res.body ? JSON.parse(res.body) : undefined };
}

/** The ingress thread's count of datagrams it passed to the data plane, from /metrics. */
async function ingressPassed(): Promise<number> {
  const res = await hubRequest(opsPort, 'localhost', '/metrics', { timeoutMs: 30_000 });
  expect(res.status).toBe(200);
  const line = /^porthole_wg_ingress_datagrams_total\{outcome="passed"\} (\d+)/m.exec(res.body);
  return line ? Number(line[1]) : 0;
}

const page = (): Promise<string | undefined> =>
  request(`${SERIAL}.localhost`, '/').then(
    (r) => (r.status === 200 ? r.body : undefined),
    () => undefined,
  );

beforeAll(async () => {
  opsPort = await freePort();
  t = await startTestHub({ name: 'production-socket', wireguardSocket: 'production', env: { PORTHOLE_OPS_PORT: String(opsPort) } });
});

afterAll(async () => {
  await device?.close();
  await t?.close();
});

describe('startTestHub with the production WireGuard socket', () => {
  it('serves a device through the socket the hub opened, read by its ingress thread', async () => {
    const { keys, registration } = await enrollDevice(t, SERIAL);
    // Devices are told to dial the port the test hub reports, and the hub listens there itself.
    expect(registration.hub.endpoint).toBe(`127.0.0.1:${t.udpPort}`);
    device = await startOverlayDevice(keys, registration, (_req: http.IncomingMessage, out: http.ServerResponse) => out.end(`hello from ${SERIAL}`));
    expect((await api('PATCH', `/devices/${SERIAL}`, { accessPolicy: 'public' })).status).toBe(200);
    expect(await until(page, 'the device page through the proxy')).toBe(`hello from ${SERIAL}`);
    // The handshake and the data came in through the ingress thread, not a socket of the test's.
    expect(await ingressPassed()).toBeGreaterThan(0);
  });

  it('opens the same port again on restart', async () => {
    await t.restart();
    expect(await until(page, 'the device page after the hub restarted')).toBe(`hello from ${SERIAL}`);
    expect(await ingressPassed()).toBeGreaterThan(0);
  });
});
