// Installer links and webhooks with the real agent and the real hub over loopback WireGuard: a link
// opens the device without an account (a device session for that device alone), a read-only link
// refuses writes, WebSockets and /.porthole/tcp, revoking ends the holder's session, an expired link
// is refused with its own page, and every use is in the hub's access log (the link as the visitor)
// and in the device's journal. Webhooks: a loopback receiver gets device.online, access.started,
// window.ended and device.offline as signed JSON; a failing receiver is retried until it answers;
// an undelivered event survives a hub restart in the outbox.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { DEFAULT_ORGANIZATION_ID } from '@porthole/db';
import { verifySignature } from '@porthole/hub';
import { startAgentHarness, type AgentHarness } from './support/agent-harness.js';
import { startHubHarness, until, type HubHarness, type Reply } from './support/hub-harness.js';

const SERIAL = 'an40000018';
const SECRET = 'h18-webhook-secret-0123456789';

interface Received {
  event: string;
  body: string;
  json: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  signature: string | undefined;
  path: string;
}

let hub: HubHarness;
let device: AgentHarness;
let receiver: http.Server;
let receiverUrl: string;
const received: Received[] = [];
/** Answers for the next requests to /hook (then 204). */
const failNext: number[] = [];
let failAll = false;

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const status = failAll ? 503 : (failNext.shift() ?? 204);
      if (status < 300) {
        received.push({ event: String(req.headers['x-porthole-event']), body, json: JSON.parse(body), signature: req.headers['x-porthole-signature'] as string | undefined, path: req.url ?? '' });
      }
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as import('node:net').AddressInfo).port}`;
  hub = await startHubHarness({ env: { PORTHOLE_WEBHOOK_URL: `${receiverUrl}/hook`, PORTHOLE_WEBHOOK_SECRET: SECRET }, dialTimeoutMs: 2000 });
  const token = (await hub.api('POST', '/enrollment-tokens', { description: 'links', maxUses: 1 })).json.token as string;
  device = await startAgentHarness({ hubUrl: hub.portalUrl, serial: SERIAL, enrollmentToken: token });
  await until(() => device.agent.status().phase === 'online', 'the agent online', 15_000);
});

afterAll(async () => {
  await device?.close();
  await hub?.close();
  receiver?.close();
});

const deviceHost = `${SERIAL}.localhost`;
const navigate = { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
const sameOrigin = () => ({ 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty', origin: `http://${deviceHost}:${hub.httpPort}` });

/** Opens a link as a browser would: the device-host cookie it sets, or the refusal. */
async function openLink(url: string): Promise<{ reply: Reply; cookie: string | undefined }> {
  const u = new URL(url);
  expect(u.hostname).toBe(deviceHost);
  const reply = await hub.request(deviceHost, `${u.pathname}${u.search}`, { headers: navigate });
  const setCookie = reply.headers['set-cookie']?.[0];
  return { reply, cookie: setCookie?.split(';')[0] };
}

function upgradeTcp(cookie: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: hub.httpPort,
      path: '/.porthole/tcp?port=80',
      headers: { host: `${deviceHost}:${hub.httpPort}`, cookie, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...sameOrigin() },
    });
    req.on('response', (res) => (res.resume(), resolve(res.statusCode!)));
    req.on('upgrade', (res, socket) => (socket.destroy(), resolve(res.statusCode!)));
    req.on('error', reject);
    req.end();
  });
}

describe('installer links', () => {
  it('a link opens the device without an account, for that device alone; both access logs have the use', async () => {
    const made = await hub.api('POST', `/devices/${SERIAL}/links`, { hours: 2, readOnly: false });
    expect(made.status).toBe(201);
    expect(Object.keys(made.json).sort()).toEqual(['expiresAt', 'id', 'url']);
    expect(Date.parse(made.json.expiresAt) - Date.now()).toBeGreaterThan(7_100_000);
    const { reply, cookie } = await openLink(made.json.url);
    expect(reply.status).toBe(302);
    expect(reply.headers.location).toBe('/');
    expect(cookie).toMatch(/^porthole_device=/);
    const page = await hub.request(deviceHost, '/', { headers: { ...navigate, cookie: cookie! } });
    expect(page.status).toBe(200);
    expect(page.body).toContain(`Meter ${SERIAL}`);
    const post = await hub.request(deviceHost, '/settings', { method: 'POST', headers: { ...sameOrigin(), cookie: cookie!, 'content-type': 'text/plain' }, body: 'x=1' });
    expect(post.status).toBe(200);
    expect(post.body).toContain('POST /settings');
    // Without the cookie: the portal's sign-in, as for anyone.
    expect((await hub.request(deviceHost, '/', { headers: navigate })).status).toBe(302);
    // The list shows the use; never the token.
    const list = (await hub.api('GET', `/devices/${SERIAL}/links`)).json;
    expect(list).toEqual([expect.objectContaining({ id: made.json.id, readOnly: false, uses: 1, revokedAt: null })]);
    expect(JSON.stringify(list)).not.toContain(new URL(made.json.url).searchParams.get('token'));

    const log = await until(async () => {
      const entries = (await hub.api('GET', `/access-log?serial=${SERIAL}`)).json.entries as { linkId: string | null; userId: string | null; method: string; status: number }[];
      if (process.env.H18_DEBUG) console.log(JSON.stringify(entries));
      return entries.some((e) => e.method === 'POST') ? entries : undefined;
    }, 'the link visits in the access log');
    const mine = log.filter((e) => e.linkId === made.json.id);
    expect(mine.map((e) => `${e.method} ${e.status}`).sort()).toEqual(['GET 200', 'GET 302', 'POST 200']);
    expect(mine.every((e) => e.userId === null)).toBe(true);
    const visit = await until(
      () => device.agent.status().journal.find((e) => e.user?.email === `installer link ${made.json.id.slice(0, 8)}` && e.requests >= 3),
      'the link visit in the device journal',
      15_000,
    );
    expect(visit).toMatchObject({ kind: 'http', port: 80, clientIp: '127.0.0.1' });
  });

  it('a read-only link allows GET and HEAD only: POST, WebSockets and /.porthole/tcp are refused', async () => {
    const made = await hub.api('POST', `/devices/${SERIAL}/links`, { hours: 1, readOnly: true });
    const { cookie } = await openLink(made.json.url);
    expect((await hub.request(deviceHost, '/', { headers: { ...navigate, cookie: cookie! } })).status).toBe(200);
    expect((await hub.request(deviceHost, '/', { method: 'HEAD', headers: { ...navigate, cookie: cookie! } })).status).toBe(200);
    const post = await hub.request(deviceHost, '/settings', { method: 'POST', headers: { ...sameOrigin(), cookie: cookie!, 'content-type': 'text/plain' }, body: 'x=1' });
    expect(post.status).toBe(403);
    expect(post.body).toContain('read-only access');
    expect(await upgradeTcp(cookie!)).toBe(403);
    const console = await hub.request(deviceHost, '/.porthole/ssh', { headers: { ...navigate, cookie: cookie! } });
    expect(console.status).toBe(403);
  });

  it('revoking a link ends its holder’s session and refuses the link with a clear page', async () => {
    const made = await hub.api('POST', `/devices/${SERIAL}/links`, { hours: 1 });
    const { cookie } = await openLink(made.json.url);
    expect((await hub.request(deviceHost, '/', { headers: { ...navigate, cookie: cookie! } })).status).toBe(200);
    expect((await hub.api('DELETE', `/devices/${SERIAL}/links/${made.json.id}`)).status).toBe(204);
    const after = await hub.request(deviceHost, '/', { headers: { ...navigate, cookie: cookie! } });
    expect(after.status).toBe(302); // no session: sent to sign in
    expect(after.headers.location).toContain('/auth/device');
    const again = await openLink(made.json.url);
    expect(again.reply.status).toBe(410);
    expect(again.reply.body).toContain('Installer link revoked');
    expect((await hub.api('DELETE', `/devices/${SERIAL}/links/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
  });

  it('an expired link is refused with its own page, and its session ends', async () => {
    const made = await hub.api('POST', `/devices/${SERIAL}/links`, { hours: 1 });
    const { cookie } = await openLink(made.json.url);
    expect((await hub.request(deviceHost, '/', { headers: { ...navigate, cookie: cookie! } })).status).toBe(200);
    // An hour passes: the link's end moved into the past (and its sessions' with it).
    await hub.hub.database.db.execute(sql`update device_links set expires_at = now() - interval '1 minute' where id = ${made.json.id}::uuid`);
    await hub.hub.database.db.execute(sql`update link_sessions set expires_at = now() - interval '1 minute' where link_id = ${made.json.id}::uuid`);
    await until(async () => (await hub.request(deviceHost, '/', { headers: { ...navigate, cookie: cookie! } })).status === 302, 'the session to end', 15_000, 250);
    const again = await openLink(made.json.url);
    expect(again.reply.status).toBe(410);
    expect(again.reply.body).toContain('Installer link expired');
  });

  it('refuses bad input and unknown tokens without changing anything', async () => {
    expect((await hub.api('POST', `/devices/${SERIAL}/links`, { hours: 0 })).status).toBe(400);
    expect((await hub.api('POST', `/devices/${SERIAL}/links`, { hours: 1, extra: true })).status).toBe(400);
    expect((await hub.api('POST', '/devices/an49999999/links', { hours: 1 })).status).toBe(404);
    const before = (await hub.api('GET', `/devices/${SERIAL}/links`)).json.length;
    const bogus = await hub.request(deviceHost, `/.porthole/link?token=ph_link_${'A'.repeat(43)}`, { headers: navigate });
    expect(bogus.status).toBe(403);
    expect(bogus.headers['set-cookie']).toBeUndefined();
    expect((await hub.api('GET', `/devices/${SERIAL}/links`)).json.length).toBe(before);
  });
});

describe('webhooks', () => {
  const verified = (r: Received) => verifySignature(SECRET, r.signature, r.body, Math.floor(Date.now() / 1000));

  it('the configured endpoint gets device.online and access.started, signed', async () => {
    const online = await until(() => received.find((r) => r.event === 'device.online' && r.json.device?.serial === SERIAL), 'device.online', 15_000);
    expect(verified(online)).toBe(true);
    expect(verifySignature('another-secret-entirely', online.signature, online.body, Math.floor(Date.now() / 1000))).toBe(false);
    // The device's organisation, from the hub's peer set (no query per device coming online).
    expect(online.json).toMatchObject({ event: 'device.online', device: { serial: SERIAL, organizationId: DEFAULT_ORGANIZATION_ID } });
    const started = await until(() => received.find((r) => r.event === 'access.started' && r.json.visitor?.linkId), 'access.started by a link holder', 15_000);
    expect(verified(started)).toBe(true);
    expect(started.json).toMatchObject({ device: { serial: SERIAL }, kind: 'http', port: 80, visitor: { userId: null, clientIp: '127.0.0.1' } });
  });

  it('an endpoint added through the API gets only its events; a failing receiver is retried, then delivered', async () => {
    const added = await hub.api('POST', '/webhooks', { url: `${receiverUrl}/api-hook`, events: ['window.ended', 'device.offline'] });
    expect(added.status).toBe(201);
    expect(added.json.secret).toMatch(/^whsec_/);
    expect((await hub.api('GET', '/webhooks')).json).toEqual([expect.objectContaining({ id: added.json.id, events: ['window.ended', 'device.offline'], organizationId: null })]);
    expect((await hub.api('POST', '/webhooks', { url: 'ftp://127.0.0.1/x', events: ['window.ended'] })).status).toBe(400);
    expect((await hub.api('POST', '/webhooks', { url: `${receiverUrl}/x`, events: ['no.such.event'] })).status).toBe(400);

    // Per organisation: the device's (the default one) gets its events, another organisation's does not.
    const other = await hub.api('POST', '/organizations', { name: 'Other Metering' });
    expect(other.status).toBe(201);
    expect((await hub.api('POST', '/webhooks', { url: `${receiverUrl}/other-org`, events: ['window.ended'], organizationId: other.json.id })).json.organizationId).toBe(other.json.id);
    const own = await hub.api('POST', '/webhooks', { url: `${receiverUrl}/own-org`, events: ['window.ended'], organizationId: DEFAULT_ORGANIZATION_ID });
    expect(own.json.organizationId).toBe(DEFAULT_ORGANIZATION_ID);
    expect((await hub.api('POST', '/webhooks', { url: `${receiverUrl}/x`, events: ['window.ended'], organizationId: 'No Such Org' })).status).toBe(404);

    failNext.push(500, 500); // the first two POSTs of the window's end fail
    await device.agent.enable({ windowHours: 3 / 3600 });
    const ended = await until(() => received.find((r) => r.event === 'window.ended' && r.path === '/api-hook'), 'window.ended at the API endpoint', 40_000, 100);
    expect(verifySignature(added.json.secret, ended.signature, ended.body, Math.floor(Date.now() / 1000))).toBe(true);
    expect(ended.json).toMatchObject({ device: { serial: SERIAL } });
    expect(typeof ended.json.endedAt).toBe('string');
    const deliveries = (await hub.api('GET', '/webhooks/deliveries?limit=50')).json as { event: string; attempts: number; deliveredAt: string | null; lastStatus: number }[];
    const retried = deliveries.filter((d) => d.event === 'window.ended');
    expect(retried.some((d) => d.attempts >= 2 && d.deliveredAt !== null)).toBe(true);
    const ownOrg = await until(() => received.find((r) => r.event === 'window.ended' && r.path === '/own-org'), "window.ended at the device organisation's endpoint", 20_000, 100);
    expect(ownOrg.json.device).toEqual({ serial: SERIAL, organizationId: DEFAULT_ORGANIZATION_ID });
    // Queued together with the rest in one insert: the other organisation's endpoint has no delivery at all.
    const queued = (await hub.api('GET', '/webhooks/deliveries?limit=200')).json as { url: string }[];
    expect(queued.some((d) => d.url.endsWith('/own-org'))).toBe(true);
    expect(queued.some((d) => d.url.endsWith('/other-org'))).toBe(false);
    expect(received.some((r) => r.path === '/other-org')).toBe(false);
    // The API endpoint did not get the events it did not ask for.
    expect(received.filter((r) => r.path === '/api-hook').every((r) => ['window.ended', 'device.offline'].includes(r.event))).toBe(true);
  });

  it('an undelivered event survives a hub restart in the outbox and is delivered after it', async () => {
    await until(() => device.agent.status().phase === 'off', 'the agent off after its window', 15_000);
    // The agent closed access itself and said so: offline at once, not after the handshake timeout.
    const offline = await until(() => received.find((r) => r.event === 'device.offline' && r.path === '/api-hook'), 'device.offline', 15_000, 100);
    expect(offline.json).toMatchObject({ device: { serial: SERIAL }, reason: 'turned-off-on-device' });
    failAll = true;
    await device.agent.enable({});
    await until(() => device.agent.status().phase === 'online', 'online again', 20_000);
    const pending = await until(async () => {
      const d = (await hub.api('GET', '/webhooks/deliveries?limit=100')).json as { id: number; event: string; attempts: number; deliveredAt: string | null }[];
      return d.find((x) => x.event === 'device.online' && x.attempts >= 1 && x.deliveredAt === null);
    }, 'a failed device.online delivery', 20_000, 100);
    await hub.restart();
    failAll = false;
    const rows = await until(async () => {
      const d = (await hub.api('GET', '/webhooks/deliveries?limit=100')).json as { id: number; deliveredAt: string | null; attempts: number }[];
      const row = d.find((x) => x.id === pending.id);
      return row?.deliveredAt ? row : undefined;
    }, 'the queued delivery after the restart', 40_000, 200);
    expect(rows.attempts).toBeGreaterThanOrEqual(2);
  });
});
