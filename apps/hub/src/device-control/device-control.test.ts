// The hub's control end with a stand-in overlay (connections go to a local agent-side server): the
// policy pushed once per device after a handshake (again only after a failure), never to an
// admin address; agents' reports and window ends reach the registry from device addresses only.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createControlServer, journalMessageSchema, policyMessageSchema, postControl, route } from '@porthole/device-control';
import { silentLogger } from '../ops/logger.js';
import { startDeviceControl, type ControlNetstack } from './device-control.js';

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function setup() {
  // The "agent": answers policy and journal messages, or refuses while `down`.
  const pushes: unknown[] = [];
  let down = false;
  const agentSide = createControlServer({
    accept: () => !down,
    handlers: {
      policy: route(policyMessageSchema, (p) => void pushes.push(p)),
      journal: route(journalMessageSchema, () => undefined),
    },
  });
  const agentServer = net.createServer((s) => agentSide.handle(s));
  await new Promise<void>((r) => agentServer.listen(0, '127.0.0.1', () => r()));
  closers.push(() => agentServer.close(), () => agentSide.close());
  // Devices' connections to the hub arrive through this listener, with their overlay address.
  let accept: ((s: Duplex & { remoteAddress?: string }) => void) | undefined;
  const netstack: ControlNetstack = {
    listen: (_port, onConnection) => {
      accept = onConnection;
      return { close: () => undefined };
    },
    connect: () => net.connect((agentServer.address() as net.AddressInfo).port, '127.0.0.1'),
  };
  const registryCalls: string[] = [];
  const control = startDeviceControl({
    netstack,
    isDeviceAddress: (a) => a.startsWith('100.64.0.') && a !== '100.64.0.2',
    findDevice: async () => undefined,
    registry: {
      reportDeviceExposure: async (ip, until) => (registryCalls.push(`report ${ip} ${until?.toISOString() ?? 'null'}`), 'an1'),
      endDeviceExposure: async (ip, at) => (registryCalls.push(`ended ${ip} ${at.toISOString()}`), 'an1'),
      getUser: async () => ({ email: 'x@example.io' }),
    },
    policy: { maxExposureHours: 12 },
    onDeviceChanged: (serial) => registryCalls.push(`changed ${serial}`),
    logger: silentLogger,
  });
  closers.push(() => control.close());
  /** A device at `from` posting to the hub's control port. */
  const fromDevice = async (from: string, name: string, body: unknown) => {
    const [a, b] = await socketPair();
    Object.defineProperty(b, 'remoteAddress', { value: from });
    accept!(b);
    return postControl(a, 'hub', name, body, 2000).catch((e: Error) => e.message);
  };
  return { control, pushes, registryCalls, fromDevice, setDown: (d: boolean) => void (down = d) };
}

async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  const other = await accepted;
  server.close();
  closers.push(() => client.destroy(), () => other.destroy());
  return [client, other];
}

const until = async (pred: () => boolean) => {
  for (let i = 0; i < 300 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('hub control end', () => {
  it('pushes the fleet policy once per device after a handshake, retrying only after a failure; never to an admin', async () => {
    const t = await setup();
    t.setDown(true);
    t.control.peerHandshake('100.64.0.5');
    await new Promise((r) => setTimeout(r, 800));
    expect(t.pushes).toEqual([]);
    t.setDown(false);
    t.control.peerHandshake('100.64.0.5'); // the failure allowed another try
    await until(() => t.pushes.length === 1);
    expect(t.pushes).toEqual([{ maxExposureHours: 12 }]);
    t.control.peerHandshake('100.64.0.5');
    t.control.peerHandshake('100.64.0.2'); // an admin peer's address
    await new Promise((r) => setTimeout(r, 800));
    expect(t.pushes).toHaveLength(1);
  });

  it("takes reports and window ends from device addresses only, answering with the policy", async () => {
    const t = await setup();
    expect(await t.fromDevice('100.64.0.7', 'report', { agentVersion: '1', exposure: { until: '2026-12-05T12:00:00.000Z' } })).toEqual({ status: 200, body: { maxExposureHours: 12 } });
    expect((await t.fromDevice('100.64.0.7', 'window-ended', { endedAt: '2026-12-05T12:00:00.000Z' })) as { status: number }).toMatchObject({ status: 204 });
    expect(await t.fromDevice('100.64.0.2', 'report', { agentVersion: '1', exposure: { until: null } })).toMatch(/socket hang up|ECONNRESET/);
    expect(t.registryCalls).toEqual(['report 100.64.0.7 2026-12-05T12:00:00.000Z', 'changed an1', 'ended 100.64.0.7 2026-12-05T12:00:00.000Z', 'changed an1']);
  });
});
