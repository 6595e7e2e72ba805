// The organisations' isolation matrix, generated from the route table: every authenticated route ×
// every principal of another organisation (its owner's personal token, its organisation tokens of
// each role, an account in no organisation) × a resource of organisation A answers exactly as the
// same route for a resource that does not exist, lists show nothing of A, and A's rows stay as they
// were. A route whose parameters or body the generator cannot classify fails the test, so a new
// route is covered (or refused) without anyone writing a case. Then each role's allowed and denied
// actions inside its own organisation.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ORGANIZATION_ID, resultRows, type OrganizationRole } from '@porthole/db';
import { useTestDatabase } from '@porthole/db/testing';
import { testKey } from '../testing/registry-test-bed.js';
import { ADMIN_PASSWORD, ADMIN_TOKEN, createApiHarness, type ApiResult } from '../testing/api-harness.js';
import type { RouteDef } from './route-table.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

type Harness = Awaited<ReturnType<typeof createApiHarness>>;
const ROLES: OrganizationRole[] = ['owner', 'admin', 'technician', 'viewer'];

/** Organisation A's resources, and a twin of each that does not exist. */
interface Target {
  serial: string;
  orgId: string;
  orgName: string;
  memberId: string;
  memberEmail: string;
  orgTokenId: string;
  enrollmentTokenId: string;
  peerId: string;
  webhookId: string;
  personalTokenId: string;
  userId: string;
  prefix: string;
}

const UNKNOWN: Target = {
  serial: 'zz0notthere',
  orgId: randomUUID(),
  orgName: 'Nobody Ltd',
  memberId: randomUUID(),
  memberEmail: 'nobody@nowhere.example',
  orgTokenId: randomUUID(),
  enrollmentTokenId: randomUUID(),
  peerId: randomUUID(),
  webhookId: randomUUID(),
  personalTokenId: randomUUID(),
  userId: randomUUID(),
  prefix: 'zz0',
};

/**
 * What a path parameter names, by the path's shape. A route with a parameter not listed here fails
 * the test: whoever adds it says which resource it is.
 */
function paramValue(path: string, param: string, t: Target): string {
  if (param === 'serial') return t.serial;
  // Sub-resources of a device (grants, links): the device decides who sees them.
  if (path.startsWith('/devices/{serial}/')) return param === 'userId' ? t.memberId : '00000000-0000-4000-8000-00000000f00d';
  if (path.startsWith('/organizations/{id}')) {
    if (param === 'id') return t.orgId;
    if (param === 'userId') return t.memberId;
    if (param === 'tokenId') return t.orgTokenId;
  }
  if (path.startsWith('/enrollment-tokens/{id}') && param === 'id') return t.enrollmentTokenId;
  if (path.startsWith('/admin-peers/{id}') && param === 'id') return t.peerId;
  if (path.startsWith('/api-tokens/{id}') && param === 'id') return t.personalTokenId;
  if (path.startsWith('/users/{id}') && param === 'id') return t.userId;
  if (path.startsWith('/serial-reservations/{prefix}') && param === 'prefix') return t.prefix;
  if (path.startsWith('/webhooks/{id}') && param === 'id') return t.webhookId;
  throw new Error(`the isolation matrix cannot classify parameter {${param}} of ${path}: add it to paramValue`);
}

/** A valid body per operation that has one (a missing one fails the test), naming A's resources where it names any. */
const BODIES: Record<string, (t: Target, n: number) => unknown> = {
  updateDevice: () => ({ status: 'disabled' }),
  approveKeyRotation: (_t, n) => ({ publicKey: testKey(`rot${n}`) }),
  grantAccess: () => ({ email: 'grantee@example.com' }),
  createDeviceLink: () => ({ hours: 1 }),
  createOrganization: (t) => ({ name: t.orgName }),
  addOrganizationMember: () => ({ email: 'new-member@example.com', role: 'viewer' }),
  createOrganizationApiToken: () => ({ name: 'ci', role: 'viewer' }),
  createEnrollmentToken: (t) => ({ organizationId: t.orgId }),
  createApiToken: () => ({ name: 'mine', scopes: ['read'] }),
  addSerialReservation: (t) => ({ prefix: t.prefix }),
  createAdminPeer: (t, n) => ({ name: 'laptop', publicKey: testKey(`peer${n}`), organizationId: t.orgId }),
  createWebhook: () => ({ url: 'http://127.0.0.1:9/hook', events: ['device.online'] }),
};

/** Query strings naming A's resources (the access log is read per serial). */
const QUERIES: Record<string, (t: Target) => string> = {
  queryAccessLog: (t) => `?serial=${t.serial}`,
  listDevices: () => '?q=0',
};

function buildPath(def: RouteDef, t: Target): string {
  const path = def.path.replace(/\{(\w+)\}/g, (_m, p: string) => encodeURIComponent(paramValue(def.path, p, t)));
  return path + (QUERIES[def.operationId]?.(t) ?? '');
}

/** The answer with A's values and their unknown twins replaced by one placeholder each. */
function normalized(res: ApiResult, t: Target): string {
  let text = JSON.stringify({ status: res.status, body: res.body });
  for (const key of Object.keys(t) as (keyof Target)[]) text = text.split(t[key]).join(`<${key}>`).split(UNKNOWN[key]).join(`<${key}>`);
  return text;
}

const drivers = await databaseDrivers('organisation isolation');

describe.each(drivers)('organisation isolation on %s (generated from the route table)', (driver) => {
  const db = useTestDatabase(driver);
  let h: Harness;
  let a: Target;
  /** Tokens of principals outside organisation A. */
  const outsiders: Record<string, string> = {};
  /** Tokens of A's members and A's organisation tokens, by role. */
  const insiders: Record<string, string> = {};

  beforeAll(async () => {
    h = await createApiHarness(db.db);
    const r = h.registry;
    await r.bootstrapAdmin({ adminEmail: 'admin@example.io', adminPassword: ADMIN_PASSWORD, adminToken: ADMIN_TOKEN });
    const orgA = await r.createOrganization({ name: 'Acme Metering' });
    const orgB = await r.createOrganization({ name: 'Beta Grid' });
    const personal = async (userId: string) => (await r.createApiToken({ userId, name: 'cli', scopes: ['write'] })).token;
    let owner: { userId: string; email: string } | undefined;
    for (const role of ROLES) {
      const m = await r.setMember(orgA.id, { email: `${role}@acme.example`, role });
      owner ??= m;
      insiders[`A ${role} (member)`] = await personal(m.userId);
      insiders[`A ${role} (org token)`] = (await r.createOrganizationToken({ organizationId: orgA.id, role, name: role, createdBy: owner.userId })).token;
    }
    const bOwner = await r.setMember(orgB.id, { email: 'owner@beta.example', role: 'owner' });
    outsiders['B owner (member)'] = await personal(bOwner.userId);
    for (const role of ROLES) {
      outsiders[`B ${role} (org token)`] = (await r.createOrganizationToken({ organizationId: orgB.id, role, name: role, createdBy: bOwner.userId })).token;
    }
    const loner = await r.signUp({ email: 'loner@example.io', password: ADMIN_PASSWORD });
    outsiders['account in no organisation'] = await personal(loner.id);

    // A's resources: a device registered with A's enrollment token, a peer, a webhook, a grant, a log entry.
    const enrollment = await r.createEnrollmentToken({ createdBy: owner!.userId, organizationId: orgA.id, maxUses: 5 });
    await r.registerDevice({ serial: 'acme0001', publicKey: testKey('acme0001'), enrollmentToken: enrollment.token });
    const { peer } = await r.createAdminPeer({ name: 'acme laptop', publicKey: testKey('acme-peer'), organizationId: orgA.id });
    const webhook = await r.createWebhook({ url: 'http://127.0.0.1:9/acme', events: ['device.online'], secretSealed: 'sealed', organizationId: orgA.id, createdBy: owner!.userId });
    await r.grantAccess('acme0001', { email: 'viewer@acme.example' });
    await r.appendAccessLog([{ at: h.clock.now(), serial: 'acme0001', userId: owner!.userId, clientIp: '198.51.100.7', method: 'GET', path: '/', status: 200, bytesIn: 1, bytesOut: 2, durationMs: 3 }]);
    await r.addSerialReservation({ prefix: 'acme', createdBy: null });
    const ownerToken = (await r.listApiTokens(owner!.userId))[0]!;
    a = {
      serial: 'acme0001',
      orgId: orgA.id,
      orgName: orgA.name,
      memberId: owner!.userId,
      memberEmail: owner!.email,
      orgTokenId: (await r.listOrganizationTokens(orgA.id))[0]!.id,
      enrollmentTokenId: enrollment.info.id,
      peerId: peer.id,
      webhookId: webhook.id,
      personalTokenId: ownerToken.id,
      userId: owner!.userId,
      prefix: 'acme',
    };
  }, 60_000);

  /** Every row that belongs to A, to show that nothing an outsider did changed it. */
  async function rowsOfA(): Promise<unknown[]> {
    return resultRows(
      await db.db.execute(sql`
        select 'device' k, to_jsonb(d) - 'last_handshake_at' j from devices d where organization_id = ${a.orgId}
        union all select 'enrollment', to_jsonb(e) from enrollment_tokens e where organization_id = ${a.orgId}
        union all select 'peer', to_jsonb(p) from admin_peers p where organization_id = ${a.orgId}
        union all select 'webhook', to_jsonb(w) from webhooks w where organization_id = ${a.orgId}
        union all select 'member', to_jsonb(m) from organization_members m where organization_id = ${a.orgId}
        union all select 'token', to_jsonb(t) - 'last_used_at' from api_tokens t where organization_id = ${a.orgId} or user_id = ${a.memberId}
        union all select 'grant', to_jsonb(g) from device_grants g join devices d on d.id = g.device_id where d.organization_id = ${a.orgId}
        union all select 'organization', to_jsonb(o) from organizations o where id = ${a.orgId}
        order by 1, 2`),
    );
  }

  it('every route answers for a resource of another organisation exactly as for one that does not exist', async () => {
    const routes = (h.table as RouteDef[]).filter((d) => d.auth !== 'none');
    expect(routes.length).toBeGreaterThan(30);
    const before = await rowsOfA();
    const problems: string[] = [];
    let n = 0;
    let compared = 0;
    for (const def of routes) {
      const method = def.method.toUpperCase();
      if (def.body && !BODIES[def.operationId]) throw new Error(`the isolation matrix has no body for ${def.operationId}: add one to BODIES`);
      const body = (t: Target) => (def.body ? { body: BODIES[def.operationId]!(t, n++) } : {});
      for (const [who, token] of Object.entries(outsiders)) {
        const onA = await h.request(method, buildPath(def, a), { token, ...body(a) });
        const onNothing = await h.request(method, buildPath(def, UNKNOWN), { token, ...body(UNKNOWN) });
        compared++;
        // Both succeeded (something of the caller's own was made, such as a personal token): ids and secrets differ.
        const bothMade = onA.status === onNothing.status && onA.status < 300 && def.method === 'post';
        if (!bothMade && normalized(onA, a) !== normalized(onNothing, a)) {
          problems.push(`${def.operationId} as ${who}: ${normalized(onA, a)} ≠ ${normalized(onNothing, a)}`);
        }
        // Whatever it answered, nothing of A that the request did not name may appear in it (lists, searches).
        const text = JSON.stringify(onA.body ?? '');
        const asked = buildPath(def, a) + JSON.stringify(body(a));
        for (const key of ['serial', 'orgId', 'orgName', 'memberEmail', 'enrollmentTokenId', 'peerId', 'webhookId', 'orgTokenId', 'personalTokenId'] as const) {
          if (text.includes(a[key]) && !asked.includes(a[key])) problems.push(`${def.operationId} as ${who} shows A's ${key}: ${text.slice(0, 300)}`);
        }
      }
    }
    console.log(`isolation matrix: ${routes.length} routes × ${Object.keys(outsiders).length} outsiders = ${compared} comparisons`);
    expect(problems).toEqual([]);
    expect(await rowsOfA()).toEqual(before);
  }, 240_000);

  it('the superadmin still sees and reaches A', async () => {
    const device = await h.request('GET', `/devices/${a.serial}`);
    expect(device.status).toBe(200);
    expect(device.body.organizationId).toBe(a.orgId);
    expect((await h.request('GET', '/organizations')).body.map((o: { name: string }) => o.name)).toEqual(['Acme Metering', 'Beta Grid', 'Default']);
    const log = await h.request('GET', `/access-log?serial=${a.serial}`);
    expect(log.body.entries).toHaveLength(1);
  });

  // Each role's rights inside its own organisation: [operation, method, path, body, statuses by role].
  const own: [string, string, (t: Target) => string, ((t: Target) => unknown) | undefined, Record<OrganizationRole, number>][] = [
    ['show a device', 'GET', (t) => `/devices/${t.serial}`, undefined, { owner: 200, admin: 200, technician: 200, viewer: 200 }],
    ['read the access log', 'GET', (t) => `/access-log?serial=${t.serial}`, undefined, { owner: 200, admin: 200, technician: 200, viewer: 200 }],
    ['list members', 'GET', (t) => `/organizations/${t.orgId}/members`, undefined, { owner: 200, admin: 200, technician: 200, viewer: 200 }],
    ['change a device', 'PATCH', (t) => `/devices/${t.serial}`, () => ({ accessPolicy: 'owners' }), { owner: 200, admin: 200, technician: 403, viewer: 403 }],
    ['grant a device', 'POST', (t) => `/devices/${t.serial}/grants`, () => ({ email: 'installer@example.com' }), { owner: 201, admin: 201, technician: 403, viewer: 403 }],
    ['make an enrollment token', 'POST', () => '/enrollment-tokens', () => ({}), { owner: 201, admin: 201, technician: 403, viewer: 403 }],
    ['list the organisation tokens', 'GET', (t) => `/organizations/${t.orgId}/api-tokens`, undefined, { owner: 200, admin: 200, technician: 403, viewer: 403 }],
    ['add a member', 'POST', (t) => `/organizations/${t.orgId}/members`, () => ({ email: 'colleague@acme.example', role: 'viewer' }), { owner: 201, admin: 403, technician: 403, viewer: 403 }],
    ['create an organisation', 'POST', () => '/organizations', () => ({ name: `Org ${randomUUID().slice(0, 8)}` }), { owner: 403, admin: 403, technician: 403, viewer: 403 }],
    ['list accounts', 'GET', () => '/users', undefined, { owner: 403, admin: 403, technician: 403, viewer: 403 }],
  ];

  it.each(own)('inside A: %s', async (_what, method, path, body, expected) => {
    for (const role of ROLES) {
      for (const kind of ['member', 'org token']) {
        const token = insiders[`A ${role} (${kind})`]!;
        const res = await h.request(method, path(a), { token, ...(body ? { body: body(a) } : {}) });
        expect({ role, kind, status: res.status }).toEqual({ role, kind, status: expected[role] });
        if (res.status < 300) h.documented(method, path(a), res);
      }
    }
  });

  it('an organisation token acts for its organisation: its enrollment tokens register devices there', async () => {
    const token = insiders['A admin (org token)']!;
    const who = await h.request('GET', '/whoami', { token });
    expect(who.body).toMatchObject({ superadmin: false, organizations: [{ id: a.orgId, name: 'Acme Metering', role: 'admin' }] });
    const made = await h.request('POST', '/enrollment-tokens', { token, body: { maxUses: 1 } });
    expect(made.status).toBe(201);
    expect(made.body.organizationId).toBe(a.orgId);
    const reg = await h.request('POST', '/devices/register', { token: null, body: { serial: 'acme0002', publicKey: testKey('acme0002'), enrollmentToken: made.body.token } });
    expect(reg.status).toBe(201);
    expect((await h.registry.getDevice('acme0002')).organizationId).toBe(a.orgId);
    // It may not name another organisation, nor the default one.
    for (const organizationId of [DEFAULT_ORGANIZATION_ID, 'Beta Grid']) {
      const other = await h.request('POST', '/enrollment-tokens', { token, body: { organizationId } });
      expect({ status: other.status, code: other.body.error.code, field: other.body.error.field }).toEqual({ status: 404, code: 'not_found', field: 'organizationId' });
    }
    // The token's secret is stored only as a hash.
    const stored = resultRows<{ n: number }>(await db.db.execute(sql`select count(*)::int n from api_tokens where token_hash = ${token}`));
    expect(Number(stored[0]!.n)).toBe(0);
  });

  it('the CLI header narrows a member of several organisations to one, and refuses one it is not in', async () => {
    const token = insiders['A owner (member)']!;
    const both = await h.request('GET', '/devices', { token });
    expect(both.body.devices.map((d: { serial: string }) => d.serial)).toContain('acme0001');
    const scoped = await h.request('GET', '/devices', { token, headers: { 'x-porthole-organization': 'acme metering' } });
    expect(scoped.status).toBe(200);
    const refused = await h.request('GET', '/devices', { token, headers: { 'x-porthole-organization': 'Beta Grid' } });
    const unknown = await h.request('GET', '/devices', { token, headers: { 'x-porthole-organization': 'Beta Grix' } });
    expect(refused.status).toBe(404);
    expect(normalized(refused, a).replace('Beta Grid', 'X')).toBe(normalized(unknown, a).replace('Beta Grix', 'X'));
  });
});
