// Device sessions on a real hub: the cookie a visitor gets through the portal's /auth/device and the
// one-time ticket stops working right after portal logout, a password change or an account disable
// (deleteUserSessions), even though the proxy caches sessions; and it survives a hub restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubHarness, until, type HubHarness } from '../agent/support/hub-harness.js';
import { startRecordingDevice, type RecordingDevice } from './support/recording-device.js';

const SERIAL = 'an52000001';
const ALICE = { email: 'alice@example.io', password: 'correct horse battery' };

describe('device sessions end with the portal session and survive a restart (real hub)', () => {
  let h: HubHarness;
  let device: RecordingDevice;
  let aliceId: string;

  beforeAll(async () => {
    h = await startHubHarness();
    aliceId = (await h.hub.registry.signUp(ALICE)).id;
    const { token } = await h.hub.registry.createEnrollmentToken({ createdBy: null, maxUses: 1 });
    device = await startRecordingDevice(h.hub.registry, SERIAL, token);
    await h.hub.registry.setDeviceOwner(SERIAL, aliceId);
    await until(() => h.hub.overlay.isOnline(device.registration.tunnelIp), 'device online');
  });

  afterAll(async () => {
    await device?.stop();
    await h?.close();
  });

  const deviceHost = `${SERIAL}.localhost`;

  /** Logs in and walks portal → /auth/device → ticket → device host like a browser; returns both cookies. */
  async function signIn(): Promise<{ portalToken: string; deviceCookie: string }> {
    const login = await h.hub.registry.login({ ...ALICE, clientIp: '127.0.0.1' });
    const hop = await h.request('localhost', `/auth/device?host=${encodeURIComponent(`${deviceHost}:${h.httpPort}`)}&next=%2F`, {
      headers: { cookie: `porthole_session=${login.session.token}` },
    });
    expect(hop.status).toBe(303);
    const ticketUrl = new URL(hop.headers.location!);
    expect(ticketUrl.host).toBe(`${deviceHost}:${h.httpPort}`);
    const landed = await h.request(deviceHost, `${ticketUrl.pathname}${ticketUrl.search}`);
    expect(landed.status).toBe(302);
    const deviceCookie = String(landed.headers['set-cookie']).split(';')[0]!;
    expect(deviceCookie).toMatch(/^porthole_device=/);
    return { portalToken: login.session.token, deviceCookie };
  }

  const visit = (cookie: string) => h.request(deviceHost, '/', { headers: { cookie } });

  it('logout ends the device session at once, though the proxy had it cached', async () => {
    const { portalToken, deviceCookie } = await signIn();
    // Twice: the second answer comes from the proxy's session cache.
    expect((await visit(deviceCookie)).status).toBe(200);
    expect((await visit(deviceCookie)).status).toBe(200);
    const before = device.total();
    await h.hub.registry.logout(portalToken);
    const after = await visit(deviceCookie);
    expect(after.status).toBe(302);
    expect(after.headers.location).toContain('/auth/device');
    expect(device.total()).toBe(before);
  });

  it('a password change or account disable (deleteUserSessions) ends it too', async () => {
    const { deviceCookie } = await signIn();
    expect((await visit(deviceCookie)).status).toBe(200);
    await h.hub.registry.deleteUserSessions(aliceId);
    expect((await visit(deviceCookie)).status).toBe(302);
  });

  it('a device-host logout ends that device session', async () => {
    const { deviceCookie } = await signIn();
    const out = await h.request(deviceHost, '/.porthole/logout', { headers: { cookie: deviceCookie } });
    expect(out.status).toBe(200);
    expect((await visit(deviceCookie)).status).toBe(302);
  });

  it('keeps device sessions across a hub restart', async () => {
    const { deviceCookie } = await signIn();
    expect((await visit(deviceCookie)).status).toBe(200);
    await device.stop();
    await h.restart();
    await device.start();
    await until(() => h.hub.overlay.isOnline(device.registration.tunnelIp), 'device online after the restart', 20_000);
    const n = device.http.length;
    const res = await visit(deviceCookie);
    expect(res.status).toBe(200);
    expect(device.http.length).toBe(n + 1);
  });
});
