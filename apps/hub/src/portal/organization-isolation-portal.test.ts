// The isolation matrix for the portal, generated from the portal app's own routes: every page and
// form × a signed-in member of another organisation and an account in none × a resource of
// organisation A answers exactly as for a resource that does not exist (status and visible text),
// no page shows anything of A, and A's rows stay as they were. A route whose parameters the
// generator cannot classify fails the test. The API's routes have their own matrix
// (api/organization-isolation.test.ts).
import { randomUUID } from 'node:crypto';
import type { Hono } from 'hono';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestClock, createTestRegistry, testKey } from '../testing/registry-test-bed.js';
import { buildPortal, PASSWORD, signedIn, visibleText, type FormClient, type Reply } from '../testing/portal-harness.js';
import { snapshotTables, useTestDatabase } from '@porthole/db/testing';

interface Target {
  serial: string;
  orgId: string;
  memberId: string;
  orgTokenId: string;
  peerId: string;
  enrollmentTokenId: string;
  personalTokenId: string;
  prefix: string;
}
const UNKNOWN: Target = {
  serial: 'zz0notthere',
  orgId: randomUUID(),
  memberId: randomUUID(),
  orgTokenId: randomUUID(),
  peerId: randomUUID(),
  enrollmentTokenId: randomUUID(),
  personalTokenId: randomUUID(),
  prefix: 'zz0',
};

/** Sign-in, sign-up, claim and device-host pages name no organisation's resource. */
const OPEN = /^\/(login|signup|logout|claim|auth|account)(\/|$)/;

function paramValue(path: string, param: string, t: Target): string {
  if (param === 'serial') return t.serial;
  if (path.startsWith('/orgs/:id')) {
    if (param === 'id') return t.orgId;
    if (param === 'userId') return t.memberId;
    if (param === 'tokenId') return t.orgTokenId;
    if (param === 'peerId') return t.peerId;
  }
  if (path.startsWith('/admin/peers/:id') && param === 'id') return t.peerId;
  if (path.startsWith('/admin/enrollment-tokens/:id') && param === 'id') return t.enrollmentTokenId;
  if (path.startsWith('/admin/api-tokens/:id') && param === 'id') return t.personalTokenId;
  if (path.startsWith('/admin/users/:id') && param === 'id') return t.memberId;
  if (path.startsWith('/admin/serial-reservations/:prefix') && param === 'prefix') return t.prefix;
  throw new Error(`the portal isolation matrix cannot classify :${param} of ${path}: add it to paramValue`);
}

describe('portal isolation (generated from the portal routes)', () => {
  const db = useTestDatabase('pglite');
  let app: Hono;
  let a: Target;
  const clock = createTestClock();

  beforeAll(async () => {
    const r = createTestRegistry(db.db, clock);
    app = buildPortal(r, clock);
    const acme = await r.createOrganization({ name: 'Acme Metering' });
    const beta = await r.createOrganization({ name: 'Beta Grid' });
    for (const email of ['owner@acme.example', 'owner@beta.example', 'loner@example.io']) await r.signUp({ email, password: PASSWORD });
    const owner = await r.setMember(acme.id, { email: 'owner@acme.example', role: 'owner' });
    await r.setMember(beta.id, { email: 'owner@beta.example', role: 'owner' });
    const enrollment = await r.createEnrollmentToken({ createdBy: owner.userId, organizationId: acme.id });
    await r.registerDevice({ serial: 'acme0001', publicKey: testKey('acme0001'), enrollmentToken: enrollment.token });
    const { peer } = await r.createAdminPeer({ name: 'acme laptop', publicKey: testKey('acme-peer'), organizationId: acme.id });
    const orgToken = await r.createOrganizationToken({ organizationId: acme.id, role: 'admin', name: 'ci', createdBy: owner.userId });
    const personal = await r.createApiToken({ userId: owner.userId, name: 'cli', scopes: ['read'] });
    await r.grantAccess('acme0001', { email: 'owner@acme.example' });
    await r.appendAccessLog([{ at: clock.now(), serial: 'acme0001', userId: owner.userId, clientIp: '198.51.100.9', method: 'GET', path: '/secret-acme-path', status: 200, bytesIn: 1, bytesOut: 1, durationMs: 1 }]);
    a = {
      serial: 'acme0001',
      orgId: acme.id,
      memberId: owner.userId,
      orgTokenId: orgToken.info.id,
      peerId: peer.id,
      enrollmentTokenId: enrollment.info.id,
      personalTokenId: personal.info.id,
      prefix: 'acme',
    };
  }, 60_000);

  const normalized = (res: Reply, key: (keyof Target)[]) => {
    let text = `${res.status} ${res.location ?? ''} ${visibleText(res.text)}`;
    for (const k of key) text = text.split(a[k]).join(`<${k}>`).split(UNKNOWN[k]).join(`<${k}>`);
    return text;
  };

  it('every page and form answers for another organisation\'s resource exactly as for a missing one', async () => {
    const routes = [...new Map(app.routes.filter((r) => r.method !== 'ALL' && !r.path.startsWith('/api/') && r.path !== '/*' && !OPEN.test(r.path)).map((r) => [`${r.method} ${r.path}`, r])).values()];
    expect(routes.length).toBeGreaterThan(30);
    const before = await snapshotTables(db.db);
    const keys = Object.keys(a) as (keyof Target)[];
    const problems: string[] = [];
    const outsiders: [string, FormClient][] = [
      ['Beta owner', await signedIn(app, 'owner@beta.example')],
      ['account in no organisation', await signedIn(app, 'loner@example.io')],
    ];
    for (const route of routes) {
      const path = (t: Target) => route.path.replace(/:(\w+)/g, (_m, p: string) => encodeURIComponent(paramValue(route.path, p, t)));
      for (const [who, client] of outsiders) {
        await client.get('/orgs'); // a page of the session, for the form's CSRF token
        const send = (t: Target) => (route.method === 'GET' ? client.get(path(t)) : client.post(path(t), {}));
        const onA = await send(a);
        await client.get('/orgs');
        const onNothing = await send(UNKNOWN);
        if (normalized(onA, keys) !== normalized(onNothing, keys)) problems.push(`${route.method} ${route.path} as ${who}: ${normalized(onA, keys).slice(0, 200)} ≠ ${normalized(onNothing, keys).slice(0, 200)}`);
        const asked = path(a);
        for (const k of ['serial', 'orgId', 'peerId', 'enrollmentTokenId', 'orgTokenId'] as const) {
          if (onA.text.includes(a[k]) && !asked.includes(a[k])) problems.push(`${route.method} ${route.path} as ${who} shows A's ${k}`);
        }
        if (onA.text.includes('Acme Metering') || onA.text.includes('secret-acme-path')) problems.push(`${route.method} ${route.path} as ${who} shows A's name or log`);
      }
    }
    console.log(`portal isolation matrix: ${routes.length} routes × ${outsiders.length} outsiders`);
    expect(problems).toEqual([]);
    const after = await snapshotTables(db.db);
    // Signing in writes sessions and throttles; nothing else may change.
    for (const table of ['devices', 'organizations', 'organization_members', 'api_tokens', 'enrollment_tokens', 'admin_peers', 'device_grants', 'serial_reservations', 'access_log']) {
      expect(after[table], table).toEqual(before[table]);
    }
  }, 240_000);
});
