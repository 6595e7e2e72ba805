// Owner controls with the real agent and the real hub over loopback WireGuard: the control channel
// (the agent reports its exposure window, learns the fleet maximum), the access journal (visits the
// hub saw land on the device, on disk, across a restart), the exposure window (the agent closes
// access by itself; the device URL says the window ended, also when the agent could not tell the
// hub), and read-only Modbus/TCP with a real Modbus client and server (jsmodbus).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import jsmodbus from 'jsmodbus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentHarness, type AgentHarness } from './support/agent-harness.js';
import { ADMIN_EMAIL, startHubHarness, until, type HubHarness } from './support/hub-harness.js';

const SERIAL = 'an40000001';
const MAX_HOURS = 8;

let hub: HubHarness;
let device: AgentHarness;
let stateDir: string;
// A Modbus/TCP server (the meter's) on loopback, and every function code that reached it.
const holding = Buffer.alloc(64);
let modbusServer: net.Server;
let modbusPort: number;
const serverSaw: number[] = [];

beforeAll(async () => {
  hub = await startHubHarness({ env: { PORTHOLE_MAX_EXPOSURE_HOURS: String(MAX_HOURS) }, dialTimeoutMs: 2000 });
  for (let i = 0; i < holding.length / 2; i++) holding.writeUInt16BE(1000 + i, i * 2);
  modbusServer = net.createServer();
  modbusServer.on('connection', (s) => s.on('data', (d: Buffer) => serverSaw.push(...framesOf(d).map((f) => f[7]!))));
  new jsmodbus.server.TCP(modbusServer, { holding });
  await new Promise<void>((r) => modbusServer.listen(0, '127.0.0.1', () => r()));
  modbusPort = (modbusServer.address() as net.AddressInfo).port;
  const token = (await hub.api('POST', '/enrollment-tokens', { description: 'owner controls', maxUses: 1 })).json.token as string;
  // Our own state directory: the device restarts on it (the harness removes only directories it made).
  stateDir = mkdtempSync(join(tmpdir(), 'porthole-owner-controls-'));
  device = await startAgentHarness({
    hubUrl: hub.portalUrl,
    serial: SERIAL,
    stateDir,
    enrollmentToken: token,
    expose: [{ port: 502, host: '127.0.0.1', targetPort: modbusPort, mode: 'modbus-read-only' }],
  });
  await until(() => device.agent.status().phase === 'online', 'the agent online', 15_000);
});

afterAll(async () => {
  await device?.close();
  await hub?.close();
  modbusServer?.close();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

/** Splits a byte chunk into MBAP frames (the test's own reading of what the server got). */
function framesOf(d: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o + 7 <= d.length; ) {
    const len = d.readUInt16BE(o + 4);
    out.push(d.subarray(o, o + 6 + len));
    o += 6 + len;
  }
  return out;
}

/** A TCP connection from the hub's netstack to a port on the device, over WireGuard, through the agent. */
async function dialDevice(port: number): Promise<Duplex> {
  const route = (await hub.hub.directory.findBySerial(SERIAL))!;
  return hub.hub.overlay.dialer.dial(route, port);
}

/** A loopback TCP server bridging each connection to the device's port: a real socket for jsmodbus. */
async function bridge(port: number): Promise<{ port: number; close(): void }> {
  const server = net.createServer(async (local) => {
    const remote = await dialDevice(port);
    local.pipe(remote).pipe(local);
    local.on('close', () => remote.destroy());
    remote.on('close', () => local.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

describe('the control channel', () => {
  it('carries the agent report to the hub and the fleet maximum back', async () => {
    const s = await until(() => (device.agent.status().exposure.maxHours === MAX_HOURS ? device.agent.status() : undefined), 'the fleet maximum at the agent');
    expect(s.exposure.choices).toEqual([1, 8]);
    const row = (await hub.api('GET', `/devices/${SERIAL}`)).json;
    expect(row).toMatchObject({ exposureUntil: null, exposureEndedAt: null });
    expect(JSON.parse(readFileSync(`${stateDir}/state.json`, 'utf8')).policy).toMatchObject({ maxExposureHours: MAX_HOURS });
  });
});

describe('the access journal on the device', () => {
  it('lists the visits the hub proxied: who, from where, how many requests; on disk; across a restart', async () => {
    // The admin's API token on the device host: a signed-in visitor with an e-mail address.
    for (let i = 0; i < 3; i++) {
      const r = await hub.request(`${SERIAL}.localhost`, `/page-${i}`, { headers: { authorization: `Bearer ${hub.adminToken}` } });
      expect(r.status).toBe(200);
    }
    const visit = await until(
      () => device.agent.status().journal.find((e) => e.user?.email === ADMIN_EMAIL && e.requests === 3),
      'the visit in the device journal',
      20_000,
      100,
    );
    expect(visit).toMatchObject({ clientIp: '127.0.0.1', kind: 'http', port: 80, refused: 0, ended: false, user: { email: ADMIN_EMAIL, organisation: null } });
    // The journal shows a visit at once and writes it to disk right after (atomically, off the event loop).
    const onDisk = () => {
      try {
        return (JSON.parse(readFileSync(`${stateDir}/journal.json`, 'utf8')) as { entries: { id: string }[] }).entries.map((e) => e.id);
      } catch {
        return []; // not written yet
      }
    };
    await until(() => onDisk().includes(visit.id), 'the visit in the journal file', 10_000, 50);
    expect(onDisk()).toContain(visit.id);
    // The Remote access page shows it.
    const page = await fetchLocalPage(device);
    expect(page).toContain(ADMIN_EMAIL);
    expect(page).toContain('web interface, 3 requests');
  });

  it('keeps the journal across an agent restart', async () => {
    const ids = device.agent.status().journal.map((e) => e.id);
    expect(ids.length).toBeGreaterThan(0);
    await device.close();
    device = await startAgentHarness({
      hubUrl: hub.portalUrl,
      serial: SERIAL,
      stateDir,
      expose: [{ port: 502, host: '127.0.0.1', targetPort: modbusPort, mode: 'modbus-read-only' }],
    });
    expect(device.agent.status().journal.map((e) => e.id)).toEqual(ids);
    await until(() => device.agent.status().phase === 'online', 'the restarted agent online', 15_000);
  });
});

describe('read-only Modbus/TCP through the agent', () => {
  it('passes reads and answers writes with exception 01; the server never sees a write', async () => {
    const b = await bridge(502);
    const socket = net.connect(b.port, '127.0.0.1');
    const client = new jsmodbus.client.TCP(socket, 1, 5000);
    await new Promise((r) => socket.once('connect', r));
    try {
      const read = await client.readHoldingRegisters(0, 4);
      expect(read.response.body.values).toEqual([1000, 1001, 1002, 1003]);
      const coils = await client.readCoils(0, 8);
      expect(coils.response.body.valuesAsArray).toHaveLength(8);

      const refused = async (p: Promise<unknown>) => {
        const err = (await p.then(() => undefined, (e: unknown) => e)) as { err?: string; response?: { body: { fc: number; code: number } } };
        expect(err?.err, 'a Modbus exception').toBe('ModbusException');
        const body = err.response!.body;
        return { fc: body.fc, code: body.code };
      };
      const single = await refused(client.writeSingleRegister(1, 4242));
      expect(single).toEqual({ fc: 6, code: 1 }); // ILLEGAL FUNCTION
      expect(await refused(client.writeMultipleRegisters(0, [7, 8]))).toEqual({ fc: 16, code: 1 });
      expect(await refused(client.writeSingleCoil(0, true))).toEqual({ fc: 5, code: 1 });
      expect(await refused(client.writeMultipleCoils(0, [true, true]))).toEqual({ fc: 15, code: 1 });

      // Reads still work afterwards, and nothing was written.
      expect((await client.readHoldingRegisters(0, 2)).response.body.values).toEqual([1000, 1001]);
      expect(holding.readUInt16BE(2)).toBe(1001);
      expect(serverSaw).toEqual([3, 1, 3]);
    } finally {
      socket.destroy();
      b.close();
    }
  });

  it('handles pipelined frames in one segment and a frame split across segments', async () => {
    const s = await dialDevice(502);
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    const read = Buffer.from('00070000000601030000000' + '2', 'hex'); // read 2 holding registers from 0
    const write = Buffer.from('0008000000060106000100ff', 'hex'); // write register 1 = 0x00ff
    s.write(Buffer.concat([read, write, read.subarray(0, 5)]));
    await new Promise((r) => setTimeout(r, 50));
    s.write(read.subarray(5));
    await until(() => Buffer.concat(got).length >= 9 + 13 + 13, 'three answers', 5000);
    s.destroy();
    const answers = framesOf(Buffer.concat(got));
    expect(answers.map((a) => a.toString('hex')).sort()).toEqual(
      ['000700000007010304' + '03e8' + '03e9', '000700000007010304' + '03e8' + '03e9', '000800000003018601'].sort(),
    );
    expect(serverSaw.slice(-2)).toEqual([3, 3]);
  });
});

describe("the owner's exposure window", () => {
  it('the agent closes access by itself when it ends, tells the hub, and the device URL says so', async () => {
    await device.agent.disable();
    // A 4-second window (the page offers hours; the library takes any length within the maximum).
    await device.agent.enable({ windowHours: 4 / 3600 });
    await until(() => device.agent.status().phase === 'online', 'online with a window', 15_000);
    const untilMs = device.agent.status().exposure.untilMs as number;
    expect(typeof untilMs).toBe('number');
    const reported = await until(async () => {
      const row = (await hub.api('GET', `/devices/${SERIAL}`)).json;
      return row.exposureUntil ? row : undefined;
    }, 'the window at the hub');
    expect(Date.parse(reported.exposureUntil)).toBe(untilMs);
    expect(await fetchLocalPage(device)).toContain('id="countdown"');

    const ended = await until(() => (device.agent.status().exposure.endedAtMs ? device.agent.status() : undefined), 'the window to end', 15_000, 50);
    expect(ended).toMatchObject({ phase: 'off', enabled: false });
    expect(ended.exposure.endedAtMs).toBe(untilMs);
    const row = (await hub.api('GET', `/devices/${SERIAL}`)).json;
    expect(Date.parse(row.exposureEndedAt)).toBe(untilMs);
    const visit = await hub.request(`${SERIAL}.localhost`, '/', { headers: { authorization: `Bearer ${hub.adminToken}` } });
    expect(visit.status).toBe(502);
    expect(visit.body).toContain('The owner&#39;s access window ended');
    expect(visit.body).toContain(`${new Date(untilMs).toISOString().replace('T', ' ').slice(0, 16)} UTC`);
    const state = JSON.parse(readFileSync(`${stateDir}/state.json`, 'utf8'));
    expect(state).toMatchObject({ enabled: false, exposureEndedAt: new Date(untilMs).toISOString() });
    expect(state.exposure).toBeUndefined();
  });

  it('when the agent cannot tell the hub (stopped), the hub still refuses after the reported end, and a restart stays off', async () => {
    await device.agent.enable({ windowHours: 3 / 3600 });
    await until(() => device.agent.status().phase === 'online', 'online again', 15_000);
    const untilMs = device.agent.status().exposure.untilMs as number;
    await until(async () => Date.parse((await hub.api('GET', `/devices/${SERIAL}`)).json.exposureUntil ?? '0') === untilMs, 'the new window at the hub');
    await device.close(); // no goodbye, no window-ended message: the hub still counts it online
    await new Promise((r) => setTimeout(r, Math.max(0, untilMs - Date.now()) + 300));
    const visit = await hub.request(`${SERIAL}.localhost`, '/', { headers: { authorization: `Bearer ${hub.adminToken}` } });
    expect(visit.status).toBe(502);
    expect(visit.body).toContain('The owner&#39;s access window ended');

    device = await startAgentHarness({ hubUrl: hub.portalUrl, serial: SERIAL, stateDir });
    const s = device.agent.status();
    expect(s).toMatchObject({ phase: 'off', enabled: false });
    expect(s.exposure.endedAtMs).toBe(untilMs);
    await new Promise((r) => setTimeout(r, 500));
    expect(device.agent.status().phase).toBe('off');
  });
});

async function fetchLocalPage(a: AgentHarness): Promise<string> {
  const { TestBrowser } = await import('../support/browser.js');
  const { LOCAL_PASSWORD } = await import('./support/agent-harness.js');
  const browser = new TestBrowser();
  const login = await browser.get(a.pageUrl);
  await browser.post(login, '/login', { password: LOCAL_PASSWORD });
  return (await browser.get(a.pageUrl)).html;
}
