// The API through hono's app.request on both drivers: the success paths checked against their
// documented schemas, registration races, rate limits, and the OpenAPI document. The bad-input
// catalogue is in api-bad-input.test.ts.
import { beforeEach, describe, expect, it } from 'vitest';
import { snapshotTables } from '@porthole/db/testing';
import { testKey } from '../testing/registry-test-bed.js';
import { createApiHarness, reg, useApiTestBed } from '../testing/api-harness.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

const drivers = await databaseDrivers('API');

describe.each(drivers)('API on %s', (driver) => {
  const bed = useApiTestBed(driver);

  describe('flows', () => {
    beforeEach(bed.fresh);

    it('registers over HTTP: 201, then 200 with the same body, through the documented schema', async () => {
      const first = await bed.h.request('POST', '/devices/register', reg(bed.f, { serial: 'AN12345678' }));
      expect(first.status).toBe(201);
      expect(bed.h.documented('POST', '/devices/register', first)).toMatchObject({ serial: 'an12345678', tunnelIp: '100.64.0.4', persistentKeepalive: 25 });
      const again = await bed.h.request('POST', '/devices/register', reg(bed.f, { serial: 'an12345678' }));
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect(first.headers.get('cache-control')).toBe('no-store');
      expect(first.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('settles a duplicate-registration race: one 201, the rest 200 (same key) or 409 (other keys)', async () => {
      const same = await Promise.all(Array.from({ length: 8 }, () => bed.h.request('POST', '/devices/register', reg(bed.f, { serial: 'race1' }))));
      expect(same.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
      expect(new Set(same.map((r) => r.body.tunnelIp)).size).toBe(1);
      const before = await snapshotTables(bed.t.db);
      const other = await Promise.all(
        Array.from({ length: 8 }, (_, i) => bed.h.request('POST', '/devices/register', reg(bed.f, { serial: 'race1', publicKey: testKey(`other${i}`) }))),
      );
      expect(new Set(other.map((r) => `${r.status} ${r.body.error.code}`))).toEqual(new Set(['409 conflict']));
      expect(await snapshotTables(bed.t.db)).toEqual(before);
    });

    it('runs the claim endpoints: start, pending, slow_down, approved', async () => {
      const start = await bed.h.request('POST', '/claims', { token: null, body: { serial: 'an4242', publicKey: testKey(4242), returnUrl: 'http://192.168.1.5/ui' } });
      expect(start.status).toBe(201);
      bed.h.documented('POST', '/claims', start);
      const pending = await bed.h.request('POST', '/claims/poll', { token: null, body: { pollToken: start.body.pollToken } });
      expect(bed.h.documented('POST', '/claims/poll', pending)).toEqual({ status: 'pending' });
      const fast = await bed.h.request('POST', '/claims/poll', { token: null, body: { pollToken: start.body.pollToken } });
      expect(fast.status).toBe(429);
      expect(fast.body.error.code).toBe('slow_down');
      expect(fast.headers.get('retry-after')).toBe('2');
      const owner = await bed.h.registry.findUserByEmail('user@example.io');
      await bed.h.registry.approveClaim(start.body.userCode, owner!);
      bed.h.clock.advance(2000);
      const approved = await bed.h.request('POST', '/claims/poll', { token: null, body: { pollToken: start.body.pollToken } });
      expect(bed.h.documented('POST', '/claims/poll', approved)).toMatchObject({ status: 'approved', registration: { serial: 'an4242' } });
      const owner2 = await bed.h.registry.findUserByEmail('admin@example.io');
      const denied = await bed.h.request('POST', '/claims', { token: null, body: { serial: 'an4343', publicKey: testKey(4343) } });
      await bed.h.registry.denyClaim(denied.body.userCode, owner2!);
      const deniedPoll = await bed.h.request('POST', '/claims/poll', { token: null, body: { pollToken: denied.body.pollToken } });
      expect({ status: deniedPoll.status, code: deniedPoll.body.error.code }).toEqual({ status: 403, code: 'access_denied' });
      bed.h.clock.advance(600_000);
      const late = await bed.h.request('POST', '/claims', { token: null, body: { serial: 'an4444', publicKey: testKey(4444) } });
      bed.h.clock.advance(600_000);
      const expired = await bed.h.request('POST', '/claims/poll', { token: null, body: { pollToken: late.body.pollToken } });
      expect({ status: expired.status, code: expired.body.error.code }).toEqual({ status: 400, code: 'expired_token' });
    });

    it('lists, filters and pages devices; shows, updates, rotates, grants and deletes', async () => {
      for (let i = 0; i < 5; i++) await bed.h.request('POST', '/devices/register', reg(bed.f, { serial: `page${i}`, publicKey: testKey(`page${i}`) }));
      const p1 = await bed.h.request('GET', '/devices?limit=3');
      const page1 = bed.h.documented('GET', '/devices', p1) as { devices: { serial: string }[]; nextCursor: string };
      expect(page1.devices.map((d) => d.serial)).toEqual(['an00000001', 'an00000002', 'page0']);
      const p2 = await bed.h.request('GET', `/devices?limit=3&cursor=${page1.nextCursor}`);
      expect(p2.body.devices.map((d: { serial: string }) => d.serial)).toEqual(['page1', 'page2', 'page3']);
      const p3 = await bed.h.request('GET', `/devices?limit=3&cursor=${p2.body.nextCursor}`);
      expect(p3.body).toMatchObject({ nextCursor: null });
      expect(p3.body.devices.map((d: { serial: string }) => d.serial)).toEqual(['page4']);
      expect((await bed.h.request('GET', '/devices?q=GE3')).body.devices.map((d: { serial: string }) => d.serial)).toEqual(['page3']);
      expect((await bed.h.request('GET', '/devices?tag=fleet&q=an')).body.devices.map((d: { serial: string }) => d.serial)).toEqual(['an00000002']);
      expect((await bed.h.request('GET', '/devices?q=%25')).body.devices).toEqual([]); // % is a literal, not a wildcard
      await bed.h.registry.recordPeerStatus([{ publicKey: testKey('page1'), lastHandshakeAt: bed.h.clock.now(), endpoint: '198.51.100.9:1', rxBytes: 1, txBytes: 1 }]);
      expect((await bed.h.request('GET', '/devices?online=true')).body.devices.map((d: { serial: string }) => d.serial)).toEqual(['page1']);

      const patched = await bed.h.request('PATCH', '/devices/PAGE1', { body: { status: 'disabled', accessPolicy: 'public', ownerEmail: 'user@example.io' } });
      expect(bed.h.documented('PATCH', '/devices/page1', patched)).toMatchObject({ status: 'disabled', accessPolicy: 'public', owner: { email: 'user@example.io' } });
      expect((await bed.h.request('GET', '/devices?status=disabled')).body.devices.map((d: { serial: string }) => d.serial)).toEqual(['page1']);
      bed.h.documented('GET', '/devices/page1', await bed.h.request('GET', '/devices/page1'));
      const rotation = await bed.h.request('POST', '/devices/page2/key-rotation', { body: { publicKey: testKey('page2b') } });
      bed.h.documented('POST', '/devices/page2/key-rotation', rotation);
      const rotated = await bed.h.request('POST', '/devices/register', reg(bed.f, { serial: 'page2', publicKey: testKey('page2b') }));
      expect(rotated.status).toBe(200);

      const grant = await bed.h.request('POST', '/devices/page2/grants', { body: { email: 'USER@example.io', expiresAt: '2031-01-01T00:00:00Z' } });
      expect(bed.h.documented('POST', '/devices/page2/grants', grant)).toMatchObject({ email: 'user@example.io', expiresAt: '2031-01-01T00:00:00.000Z' });
      const grants = await bed.h.request('GET', '/devices/page2/grants');
      bed.h.documented('GET', '/devices/page2/grants', grants);
      const del = await bed.h.request('DELETE', `/devices/page2/grants/${grant.body.userId}`);
      bed.h.documented('DELETE', '/devices/page2/grants/x', del);
      expect((await bed.h.request('GET', '/devices/page2/grants')).body).toEqual([]);

      const deleted = await bed.h.request('DELETE', '/devices/page0');
      bed.h.documented('DELETE', '/devices/page0', deleted);
      expect((await bed.h.request('GET', '/devices/page0')).status).toBe(404);
    });

    it('creates, lists and revokes tokens; adds admin peers with a wg-quick config; queries the access log', async () => {
      const enr = await bed.h.request('POST', '/enrollment-tokens', { body: { description: 'batch 7', tags: ['Batch7'], maxUses: 3, expiresInSeconds: 3600 } });
      expect(bed.h.documented('POST', '/enrollment-tokens', enr)).toMatchObject({ tags: ['batch7'], maxUses: 3, state: 'active' });
      expect(enr.body.token).toMatch(/^ph_enr_/);
      const list = await bed.h.request('GET', '/enrollment-tokens');
      bed.h.documented('GET', '/enrollment-tokens', list);
      expect(JSON.stringify(list.body)).not.toContain(enr.body.token);
      const revoked = await bed.h.request('DELETE', `/enrollment-tokens/${enr.body.id}`);
      expect(bed.h.documented('DELETE', '/enrollment-tokens/x', revoked)).toMatchObject({ state: 'revoked' });
      expect((await bed.h.request('POST', '/devices/register', reg(bed.f, { enrollmentToken: enr.body.token }))).status).toBe(401);

      const api = await bed.h.request('POST', '/api-tokens', { body: { name: 'ci', scopes: ['read'] } });
      bed.h.documented('POST', '/api-tokens', api);
      expect((await bed.h.request('GET', '/whoami', { token: api.body.token })).body).toMatchObject({ user: { email: 'admin@example.io' }, scopes: ['read'] });
      bed.h.documented('GET', '/api-tokens', await bed.h.request('GET', '/api-tokens'));
      bed.h.documented('DELETE', '/api-tokens/x', await bed.h.request('DELETE', `/api-tokens/${api.body.id}`));
      expect((await bed.h.request('GET', '/whoami', { token: api.body.token })).status).toBe(401);

      const peer = await bed.h.request('POST', '/admin-peers', { body: { name: 'alice laptop', publicKey: testKey('alice') } });
      const body = bed.h.documented('POST', '/admin-peers', peer) as { tunnelIp: string; config: string; id: string };
      expect(body.config).toBe(
        [
          `# Porthole admin peer "alice laptop" (peer(${testKey('alice').slice(0, 4)}…${testKey('alice').slice(-5, -1)}))`,
          '[Interface]',
          `# PrivateKey = <the private key whose public key is ${testKey('alice')}>`,
          `Address = ${body.tunnelIp}/32`,
          '',
          '[Peer]',
          '# The Porthole hub',
          `PublicKey = ${bed.h.registry.hub.publicKey}`,
          'Endpoint = hub.example.io:51820',
          'AllowedIPs = 100.64.0.0/10',
          'PersistentKeepalive = 25',
          '',
        ].join('\n'),
      );
      bed.h.documented('GET', '/admin-peers', await bed.h.request('GET', '/admin-peers'));
      bed.h.documented('DELETE', '/admin-peers/x', await bed.h.request('DELETE', `/admin-peers/${body.id}`));

      const log = await bed.h.request('GET', '/access-log?serial=AN00000002&from=2029-12-31T00:00:00Z');
      expect(bed.h.documented('GET', '/access-log', log)).toMatchObject({ entries: [{ serial: 'an00000002', status: 200, bytesOut: 2000 }], nextCursor: null });
      expect((await bed.h.request('GET', '/access-log?serial=an00000002&to=2029-12-31T00:00:00Z')).body.entries).toEqual([]);
    });

    it('rate-limits the open endpoints and failed authentication per client address', async () => {
      const limited = await createApiHarness(bed.t.db, {
        clock: bed.h.clock,
        limits: { register: { capacity: 2, refillPerSecond: 0.001 }, authFailures: { capacity: 2, refillPerSecond: 0.001 } },
      });
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push((await limited.request('POST', '/devices/register', { token: null, body: {}, ip: '203.0.113.5' })).status);
      expect(codes).toEqual([400, 400, 429]);
      expect((await limited.request('POST', '/devices/register', { token: null, body: {}, ip: '203.0.113.6' })).status).toBe(400);
      const auth = [];
      for (let i = 0; i < 4; i++) auth.push((await limited.request('GET', '/devices', { token: 'ph_api_' + 'y'.repeat(43), ip: '203.0.113.7' })).status);
      expect(auth).toEqual([401, 401, 429, 429]);
      expect((await limited.request('GET', '/devices', { ip: '203.0.113.7' })).status).toBe(200); // valid tokens are not throttled
    });

    it('serves an OpenAPI 3.1 document describing every route', async () => {
      const res = await bed.h.request('GET', '/openapi.json', { token: null });
      expect(res.status).toBe(200);
      const doc = res.body;
      expect(doc.openapi).toBe('3.1.0');
      for (const r of bed.h.table) {
        const op = doc.paths[r.path]?.[r.method];
        expect(op, `${r.method} ${r.path}`).toBeDefined();
        expect(op.operationId).toBe(r.operationId);
        for (const status of Object.keys(r.responses)) expect(op.responses[status]).toBeDefined();
        if (r.body) expect(op.requestBody.content['application/json'].schema).toBeDefined();
      }
      expect(doc.paths['/devices/register'].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/RegisterRequest' });
      expect(doc.components.schemas.RegisterRequest).toMatchObject({ additionalProperties: false, required: ['serial', 'publicKey', 'enrollmentToken'] });
      expect(doc.paths['/devices'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['status', 'online', 'tag', 'q', 'limit', 'cursor']);
      // Every $ref resolves.
      const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]!);
      for (const ref of refs) expect(doc.components.schemas[ref], ref).toBeDefined();
    });
  });
});
