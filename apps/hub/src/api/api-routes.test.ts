// The API through hono's app.request on both drivers: the bad-input catalogue (every endpoint:
// missing/extra/oversized fields, wrong types, non-label serials, bad keys, expired/used/revoked
// tokens, wrong auth — each a documented 4xx with a clear message and an unchanged database), the
// success paths checked against their documented schemas, registration races, and the OpenAPI document.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DriverName } from '@porthole/db';
import { createTestDatabase, probePostgres, snapshotTables, truncateAll, type TestDatabase } from '@porthole/db/testing';
import { requirementsMet } from '../../../../test/support/requirements.js';
import { testKey } from '../registry/test-support.js';
import { ADMIN_PASSWORD, ADMIN_TOKEN, createApiHarness, type RequestOptions } from './api-test-support.js';

const pgProblem = await probePostgres();
const drivers: DriverName[] = requirementsMet('API on PostgreSQL', { check: () => pgProblem }) ? ['pglite', 'postgres'] : ['pglite'];

type Harness = Awaited<ReturnType<typeof createApiHarness>>;

interface Fixture {
  enrollmentToken: string;
  expiredToken: string;
  revokedToken: string;
  usedToken: string;
  readToken: string;
  revokedApiToken: string;
  userToken: string;
  pollToken: string;
  enrollmentTokenId: string;
  adminId: string;
}

async function seed(h: Harness): Promise<Fixture> {
  const { registry, clock } = h;
  const admin = (await registry.bootstrapAdmin({ adminEmail: 'admin@example.io', adminPassword: ADMIN_PASSWORD, adminToken: ADMIN_TOKEN }))!;
  const user = await registry.signUp({ email: 'user@example.io', password: ADMIN_PASSWORD });
  const mk = (o: Parameters<typeof registry.createEnrollmentToken>[0]) => registry.createEnrollmentToken(o);
  const expired = await mk({ createdBy: admin.id, expiresInSeconds: 60 });
  clock.advance(61_000);
  const enrollment = await mk({ createdBy: admin.id, maxUses: 100, tags: ['fleet'] });
  const revoked = await mk({ createdBy: admin.id });
  await registry.revokeEnrollmentToken(revoked.info.id);
  const used = await mk({ createdBy: admin.id });
  await registry.registerDevice({ serial: 'an00000001', publicKey: testKey('existing'), enrollmentToken: used.token });
  await registry.registerDevice({ serial: 'an00000002', publicKey: testKey('second'), enrollmentToken: enrollment.token });
  const read = await registry.createApiToken({ userId: admin.id, name: 'read', scopes: ['read'] });
  const revokedApi = await registry.createApiToken({ userId: admin.id, name: 'gone', scopes: ['write'] });
  await registry.revokeApiToken(revokedApi.info.id);
  const userApi = await registry.createApiToken({ userId: user.id, name: 'user', scopes: ['read', 'write'] });
  const claim = await registry.startClaim({ serial: 'claimed1', publicKey: testKey('claim') });
  await registry.grantAccess('an00000002', { email: 'user@example.io' });
  await registry.appendAccessLog([
    { at: clock.now(), serial: 'an00000002', userId: user.id, clientIp: '198.51.100.1', method: 'GET', path: '/', status: 200, bytesIn: 10, bytesOut: 2000, durationMs: 12 },
  ]);
  // Warm up: first uses record last_used_at; later uses within a minute write nothing.
  for (const token of [ADMIN_TOKEN, read.token, userApi.token]) await h.request('GET', '/whoami', { token });
  return {
    enrollmentToken: enrollment.token,
    expiredToken: expired.token,
    revokedToken: revoked.token,
    usedToken: used.token,
    readToken: read.token,
    revokedApiToken: revokedApi.token,
    userToken: userApi.token,
    pollToken: claim.pollToken,
    enrollmentTokenId: enrollment.info.id,
    adminId: admin.id,
  };
}

interface Case {
  name: string;
  method: string;
  path: string;
  opts?: (f: Fixture) => RequestOptions;
  status: number;
  code: string;
  field?: string;
  message?: RegExp;
}

const reg = (f: Fixture, over: Record<string, unknown> = {}) => ({
  token: null,
  body: { serial: 'an99999999', publicKey: testKey('new'), enrollmentToken: f.enrollmentToken, ...over },
});

const CATALOGUE: Case[] = [
  // POST /devices/register
  { name: 'register: not JSON', method: 'POST', path: '/devices/register', opts: () => ({ token: null, raw: 'serial=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), status: 400, code: 'invalid_request', field: 'content-type' },
  { name: 'register: malformed JSON', method: 'POST', path: '/devices/register', opts: () => ({ token: null, raw: '{"serial":' }), status: 400, code: 'invalid_request', message: /not valid JSON/ },
  { name: 'register: body is an array', method: 'POST', path: '/devices/register', opts: () => ({ token: null, body: [] }), status: 400, code: 'invalid_request' },
  { name: 'register: missing serial', method: 'POST', path: '/devices/register', opts: (f) => ({ token: null, body: { publicKey: testKey('new'), enrollmentToken: f.enrollmentToken } }), status: 400, code: 'invalid_request', field: 'serial' },
  { name: 'register: missing publicKey', method: 'POST', path: '/devices/register', opts: (f) => ({ token: null, body: { serial: 'an9', enrollmentToken: f.enrollmentToken } }), status: 400, code: 'invalid_request', field: 'publicKey' },
  { name: 'register: missing enrollmentToken', method: 'POST', path: '/devices/register', opts: () => ({ token: null, body: { serial: 'an9', publicKey: testKey('new') } }), status: 400, code: 'invalid_request', field: 'enrollmentToken' },
  { name: 'register: extra field', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { tunnelIp: '100.64.0.9' }), status: 400, code: 'invalid_request', field: 'tunnelIp', message: /unknown field: tunnelIp/ },
  { name: 'register: oversized body', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { agentVersion: 'x'.repeat(17_000) }), status: 413, code: 'payload_too_large', message: /larger than 16384 bytes/ },
  { name: 'register: attestation not an object', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { attestation: 'signed' }), status: 400, code: 'invalid_request', field: 'attestation' },
  { name: 'register: attestation without signature', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { attestation: { certificateChain: 'x' } }), status: 400, code: 'invalid_request', field: 'attestation.signature' },
  { name: 'register: serial too long', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { serial: 'a'.repeat(64) }), status: 400, code: 'invalid_request', field: 'serial', message: /at most 63/ },
  { name: 'register: serial wrong type', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { serial: 12345 }), status: 400, code: 'invalid_request', field: 'serial' },
  { name: 'register: serial not a label', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { serial: 'an_123' }), status: 400, code: 'invalid_request', field: 'serial', message: /not a DNS label/ },
  { name: 'register: serial with leading hyphen', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { serial: '-an1' }), status: 400, code: 'invalid_request', field: 'serial' },
  { name: 'register: serial with a dot', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { serial: 'an1.evil' }), status: 400, code: 'invalid_request', field: 'serial' },
  { name: 'register: key not base64', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { publicKey: '!'.repeat(44) }), status: 400, code: 'invalid_request', field: 'publicKey', message: /44 characters of standard base64/ },
  { name: 'register: key wrong length', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { publicKey: Buffer.alloc(24, 7).toString('base64') }), status: 400, code: 'invalid_request', field: 'publicKey' },
  { name: 'register: key base64url', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { publicKey: Buffer.alloc(32, 0xfb).toString('base64url') + '=' }), status: 400, code: 'invalid_request', field: 'publicKey' },
  { name: 'register: key small order', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { publicKey: Buffer.alloc(32).toString('base64') }), status: 400, code: 'invalid_request', field: 'publicKey', message: /small-order/ },
  { name: 'register: key wrong type', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { publicKey: ['a'] }), status: 400, code: 'invalid_request', field: 'publicKey' },
  { name: 'register: agentVersion control chars', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { agentVersion: '1.0\n2' }), status: 400, code: 'invalid_request', field: 'agentVersion' },
  { name: 'register: unknown token', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { enrollmentToken: 'ph_enr_' + 'Z'.repeat(43) }), status: 401, code: 'unauthorized', field: 'enrollmentToken', message: /not valid/ },
  { name: 'register: expired token', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { enrollmentToken: f.expiredToken }), status: 401, code: 'unauthorized', field: 'enrollmentToken', message: /expired/ },
  { name: 'register: revoked token', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { enrollmentToken: f.revokedToken }), status: 401, code: 'unauthorized', field: 'enrollmentToken', message: /revoked/ },
  { name: 'register: used-up token', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { enrollmentToken: f.usedToken }), status: 401, code: 'unauthorized', field: 'enrollmentToken', message: /no uses left/ },
  { name: 'register: serial with another key', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { serial: 'AN00000001' }), status: 409, code: 'conflict', field: 'publicKey', message: /registered with another key/ },
  { name: 'register: key of another serial', method: 'POST', path: '/devices/register', opts: (f) => reg(f, { publicKey: testKey('existing') }), status: 409, code: 'conflict', field: 'publicKey' },
  // POST /claims
  { name: 'claims: missing publicKey', method: 'POST', path: '/claims', opts: () => ({ token: null, body: { serial: 'an5' } }), status: 400, code: 'invalid_request', field: 'publicKey' },
  { name: 'claims: extra field', method: 'POST', path: '/claims', opts: () => ({ token: null, body: { serial: 'an5', publicKey: testKey(5), owner: 'me' } }), status: 400, code: 'invalid_request', field: 'owner' },
  { name: 'claims: non-label serial', method: 'POST', path: '/claims', opts: () => ({ token: null, body: { serial: 'an 5', publicKey: testKey(5) } }), status: 400, code: 'invalid_request', field: 'serial' },
  { name: 'claims: bad key', method: 'POST', path: '/claims', opts: () => ({ token: null, body: { serial: 'an5', publicKey: 'AAAA' } }), status: 400, code: 'invalid_request', field: 'publicKey' },
  { name: 'claims: javascript returnUrl', method: 'POST', path: '/claims', opts: () => ({ token: null, body: { serial: 'an5', publicKey: testKey(5), returnUrl: 'javascript:alert(1)' } }), status: 400, code: 'invalid_request', field: 'returnUrl' },
  { name: 'claims: oversized returnUrl', method: 'POST', path: '/claims', opts: () => ({ token: null, body: { serial: 'an5', publicKey: testKey(5), returnUrl: `http://x/${'a'.repeat(2100)}` } }), status: 400, code: 'invalid_request', field: 'returnUrl' },
  // POST /claims/poll
  { name: 'poll: missing pollToken', method: 'POST', path: '/claims/poll', opts: () => ({ token: null, body: {} }), status: 400, code: 'invalid_request', field: 'pollToken' },
  { name: 'poll: wrong type', method: 'POST', path: '/claims/poll', opts: () => ({ token: null, body: { pollToken: 42 } }), status: 400, code: 'invalid_request', field: 'pollToken' },
  { name: 'poll: extra field', method: 'POST', path: '/claims/poll', opts: (f) => ({ token: null, body: { pollToken: f.pollToken, x: 1 } }), status: 400, code: 'invalid_request', field: 'x' },
  { name: 'poll: unknown token', method: 'POST', path: '/claims/poll', opts: () => ({ token: null, body: { pollToken: 'ph_poll_' + 'Q'.repeat(43) } }), status: 400, code: 'expired_token' },
  // Authentication of the admin API
  { name: 'auth: no token', method: 'GET', path: '/devices', opts: () => ({ token: null }), status: 401, code: 'unauthorized', message: /needs an API token/ },
  { name: 'cluster nodes: no token', method: 'GET', path: '/cluster/nodes', opts: () => ({ token: null }), status: 401, code: 'unauthorized', message: /needs an API token/ },
  { name: 'auth: unknown token', method: 'GET', path: '/devices', opts: () => ({ token: 'ph_api_' + 'x'.repeat(43) }), status: 401, code: 'unauthorized', message: /not valid/ },
  { name: 'auth: basic scheme', method: 'GET', path: '/devices', opts: () => ({ token: null, headers: { authorization: `Basic ${ADMIN_TOKEN}` } }), status: 401, code: 'unauthorized' },
  { name: 'auth: revoked token', method: 'GET', path: '/devices', opts: (f) => ({ token: f.revokedApiToken }), status: 401, code: 'unauthorized' },
  { name: 'auth: non-admin token', method: 'GET', path: '/devices', opts: (f) => ({ token: f.userToken }), status: 403, code: 'forbidden', message: /administrators/ },
  { name: 'auth: read token writing', method: 'DELETE', path: '/devices/an00000001', opts: (f) => ({ token: f.readToken }), status: 403, code: 'forbidden', message: /write scope/ },
  { name: 'auth: read token creating tokens', method: 'POST', path: '/api-tokens', opts: (f) => ({ token: f.readToken, body: { name: 'x', scopes: ['write'] } }), status: 403, code: 'forbidden' },
  // GET /devices
  { name: 'devices: bad status', method: 'GET', path: '/devices?status=broken', status: 400, code: 'invalid_request', field: 'status' },
  { name: 'devices: limit 0', method: 'GET', path: '/devices?limit=0', status: 400, code: 'invalid_request', field: 'limit' },
  { name: 'devices: limit too big', method: 'GET', path: '/devices?limit=501', status: 400, code: 'invalid_request', field: 'limit' },
  { name: 'devices: limit not a number', method: 'GET', path: '/devices?limit=ten', status: 400, code: 'invalid_request', field: 'limit' },
  { name: 'devices: online not boolean', method: 'GET', path: '/devices?online=yes', status: 400, code: 'invalid_request', field: 'online' },
  { name: 'devices: unknown parameter', method: 'GET', path: '/devices?owner=me', status: 400, code: 'invalid_request', field: 'owner' },
  { name: 'devices: NUL in the search', method: 'GET', path: '/devices?q=%00', status: 400, code: 'invalid_request', field: 'q', message: /control characters/ },
  { name: 'devices: NUL in the tag', method: 'GET', path: '/devices?tag=a%00', status: 400, code: 'invalid_request', field: 'tag' },
  { name: 'devices: forged cursor', method: 'GET', path: '/devices?cursor=%27%3B--', status: 400, code: 'invalid_request', field: 'cursor' },
  // /devices/{serial}
  { name: 'device: non-label serial', method: 'GET', path: '/devices/an_1', status: 400, code: 'invalid_request', field: 'serial' },
  { name: 'device: unknown', method: 'GET', path: '/devices/an404', status: 404, code: 'not_found', field: 'serial' },
  { name: 'device: query on show', method: 'GET', path: '/devices/an00000001?x=1', status: 400, code: 'invalid_request', field: 'x' },
  { name: 'patch: empty body', method: 'PATCH', path: '/devices/an00000001', opts: () => ({ body: {} }), status: 400, code: 'invalid_request', message: /at least one/ },
  { name: 'patch: unknown field', method: 'PATCH', path: '/devices/an00000001', opts: () => ({ body: { serial: 'x' } }), status: 400, code: 'invalid_request', field: 'serial' },
  { name: 'patch: bad status', method: 'PATCH', path: '/devices/an00000001', opts: () => ({ body: { status: 'off' } }), status: 400, code: 'invalid_request', field: 'status' },
  { name: 'patch: bad policy', method: 'PATCH', path: '/devices/an00000001', opts: () => ({ body: { accessPolicy: 'everyone' } }), status: 400, code: 'invalid_request', field: 'accessPolicy' },
  { name: 'patch: unknown owner', method: 'PATCH', path: '/devices/an00000001', opts: () => ({ body: { status: 'disabled', ownerEmail: 'ghost@example.io' } }), status: 404, code: 'not_found', field: 'ownerEmail' },
  { name: 'patch: unknown device', method: 'PATCH', path: '/devices/an404', opts: () => ({ body: { status: 'disabled' } }), status: 404, code: 'not_found' },
  { name: 'delete: unknown device', method: 'DELETE', path: '/devices/an404', status: 404, code: 'not_found' },
  { name: 'rotation: bad key', method: 'POST', path: '/devices/an00000001/key-rotation', opts: () => ({ body: { publicKey: 'nope' } }), status: 400, code: 'invalid_request', field: 'publicKey' },
  { name: 'rotation: same key', method: 'POST', path: '/devices/an00000001/key-rotation', opts: () => ({ body: { publicKey: testKey('existing') } }), status: 400, code: 'invalid_request', field: 'publicKey' },
  { name: 'rotation: unknown device', method: 'POST', path: '/devices/an404/key-rotation', opts: () => ({ body: { publicKey: testKey('x') } }), status: 404, code: 'not_found' },
  { name: 'grants: bad email', method: 'POST', path: '/devices/an00000001/grants', opts: () => ({ body: { email: 'nope' } }), status: 400, code: 'invalid_request', field: 'email' },
  { name: 'grants: look-alike address', method: 'POST', path: '/devices/an00000001/grants', opts: () => ({ body: { email: 'usеr@example.io' } }), status: 400, code: 'invalid_request', field: 'email', message: /Cyrillic and Latin/ },
  { name: 'grants: full-width address', method: 'POST', path: '/devices/an00000001/grants', opts: () => ({ body: { email: 'ｕser@example.io' } }), status: 400, code: 'invalid_request', field: 'email', message: /full-width/ },
  { name: 'grants: bad date', method: 'POST', path: '/devices/an00000001/grants', opts: () => ({ body: { email: 'user@example.io', expiresAt: 'tomorrow' } }), status: 400, code: 'invalid_request', field: 'expiresAt' },
  { name: 'grants: past date', method: 'POST', path: '/devices/an00000001/grants', opts: () => ({ body: { email: 'user@example.io', expiresAt: '2000-01-01T00:00:00Z' } }), status: 400, code: 'invalid_request', field: 'expiresAt' },
  { name: 'grants: list of unknown device', method: 'GET', path: '/devices/an404/grants', status: 404, code: 'not_found' },
  { name: 'grants: revoke unknown', method: 'DELETE', path: '/devices/an00000001/grants/00000000-0000-4000-8000-000000000000', status: 404, code: 'not_found' },
  { name: 'grants: revoke non-uuid', method: 'DELETE', path: '/devices/an00000001/grants/abc', status: 404, code: 'not_found' },
  // Tokens
  { name: 'enrollment: maxUses 0', method: 'POST', path: '/enrollment-tokens', opts: () => ({ body: { maxUses: 0 } }), status: 400, code: 'invalid_request', field: 'maxUses' },
  { name: 'enrollment: maxUses fraction', method: 'POST', path: '/enrollment-tokens', opts: () => ({ body: { maxUses: 1.5 } }), status: 400, code: 'invalid_request', field: 'maxUses' },
  { name: 'enrollment: ttl too short', method: 'POST', path: '/enrollment-tokens', opts: () => ({ body: { expiresInSeconds: 10 } }), status: 400, code: 'invalid_request', field: 'expiresInSeconds' },
  { name: 'enrollment: bad tag', method: 'POST', path: '/enrollment-tokens', opts: () => ({ body: { tags: ['ok', 'not ok'] } }), status: 400, code: 'invalid_request', field: 'tags' },
  { name: 'enrollment: too many tags', method: 'POST', path: '/enrollment-tokens', opts: () => ({ body: { tags: Array.from({ length: 21 }, (_, i) => `t${i}`) } }), status: 400, code: 'invalid_request', field: 'tags' },
  { name: 'enrollment: extra field', method: 'POST', path: '/enrollment-tokens', opts: () => ({ body: { uses: 5 } }), status: 400, code: 'invalid_request', field: 'uses' },
  { name: 'enrollment: revoke unknown', method: 'DELETE', path: '/enrollment-tokens/00000000-0000-4000-8000-000000000000', status: 404, code: 'not_found' },
  { name: 'enrollment: revoke non-uuid', method: 'DELETE', path: '/enrollment-tokens/1%27or%271', status: 404, code: 'not_found' },
  { name: 'api-tokens: no scopes', method: 'POST', path: '/api-tokens', opts: () => ({ body: { name: 'x', scopes: [] } }), status: 400, code: 'invalid_request', field: 'scopes' },
  { name: 'api-tokens: unknown scope', method: 'POST', path: '/api-tokens', opts: () => ({ body: { name: 'x', scopes: ['admin'] } }), status: 400, code: 'invalid_request', field: 'scopes.0' },
  { name: 'api-tokens: missing name', method: 'POST', path: '/api-tokens', opts: () => ({ body: { scopes: ['read'] } }), status: 400, code: 'invalid_request', field: 'name' },
  { name: 'api-tokens: revoke unknown', method: 'DELETE', path: '/api-tokens/00000000-0000-4000-8000-000000000000', status: 404, code: 'not_found' },
  // Accounts
  { name: 'users: list with a user token', method: 'GET', path: '/users', opts: (f) => ({ token: f.userToken }), status: 403, code: 'forbidden' },
  { name: 'users: list with query', method: 'GET', path: '/users?email=x', status: 400, code: 'invalid_request', field: 'email' },
  { name: 'users: disable unknown', method: 'POST', path: '/users/00000000-0000-4000-8000-000000000000/disable', status: 404, code: 'not_found', field: 'id' },
  { name: 'users: disable oneself', method: 'POST', path: '/users/{admin}/disable', status: 403, code: 'forbidden', message: /your own account/ },
  { name: 'users: disable with a read token', method: 'POST', path: '/users/00000000-0000-4000-8000-000000000000/disable', opts: (f) => ({ token: f.readToken }), status: 403, code: 'forbidden' },
  { name: 'users: enable non-uuid', method: 'POST', path: '/users/abc/enable', status: 404, code: 'not_found' },
  // Admin peers and audit
  { name: 'admin-peers: bad key', method: 'POST', path: '/admin-peers', opts: () => ({ body: { name: 'laptop', publicKey: 'x' } }), status: 400, code: 'invalid_request', field: 'publicKey' },
  { name: 'admin-peers: name with newline', method: 'POST', path: '/admin-peers', opts: () => ({ body: { name: 'a\n[Peer]', publicKey: testKey('l') } }), status: 400, code: 'invalid_request', field: 'name' },
  { name: 'admin-peers: key of a device', method: 'POST', path: '/admin-peers', opts: () => ({ body: { name: 'laptop', publicKey: testKey('existing') } }), status: 409, code: 'conflict', field: 'publicKey' },
  { name: 'admin-peers: missing name', method: 'POST', path: '/admin-peers', opts: () => ({ body: { publicKey: testKey('l') } }), status: 400, code: 'invalid_request', field: 'name' },
  { name: 'admin-peers: delete unknown', method: 'DELETE', path: '/admin-peers/00000000-0000-4000-8000-000000000000', status: 404, code: 'not_found' },
  { name: 'reservations: prefix not a serial start', method: 'POST', path: '/serial-reservations', opts: () => ({ body: { prefix: 'an_1' } }), status: 400, code: 'invalid_request', field: 'prefix', message: /not the start of a serial/ },
  { name: 'reservations: extra field', method: 'POST', path: '/serial-reservations', opts: () => ({ body: { prefix: 'an', owner: 'x' } }), status: 400, code: 'invalid_request', field: 'owner' },
  { name: 'reservations: list with a user token', method: 'GET', path: '/serial-reservations', opts: (f) => ({ token: f.userToken }), status: 403, code: 'forbidden' },
  { name: 'reservations: release unknown', method: 'DELETE', path: '/serial-reservations/an404', status: 404, code: 'not_found', field: 'prefix' },
  { name: 'access-log: no serial', method: 'GET', path: '/access-log', status: 400, code: 'invalid_request', field: 'serial' },
  { name: 'access-log: bad from', method: 'GET', path: '/access-log?serial=an00000002&from=yesterday', status: 400, code: 'invalid_request', field: 'from' },
  { name: 'access-log: limit too big', method: 'GET', path: '/access-log?serial=an00000002&limit=5000', status: 400, code: 'invalid_request', field: 'limit' },
  { name: 'access-log: forged cursor', method: 'GET', path: '/access-log?serial=an00000002&cursor=abc', status: 400, code: 'invalid_request', field: 'cursor' },
  { name: 'enrollment: list with unknown parameter', method: 'GET', path: '/enrollment-tokens?all=1', status: 400, code: 'invalid_request', field: 'all' },
  { name: 'api-tokens: list with a user token', method: 'GET', path: '/api-tokens', opts: (f) => ({ token: f.userToken }), status: 403, code: 'forbidden' },
  { name: 'admin-peers: list without a token', method: 'GET', path: '/admin-peers', opts: () => ({ token: null }), status: 401, code: 'unauthorized' },
  // Installer links
  { name: 'links: list of unknown device', method: 'GET', path: '/devices/an404/links', status: 404, code: 'not_found', field: 'serial' },
  { name: 'links: hours 0', method: 'POST', path: '/devices/an00000001/links', opts: () => ({ body: { hours: 0 } }), status: 400, code: 'invalid_request', field: 'hours' },
  { name: 'links: hours fraction', method: 'POST', path: '/devices/an00000001/links', opts: () => ({ body: { hours: 1.5 } }), status: 400, code: 'invalid_request', field: 'hours' },
  { name: 'links: hours over 30 days', method: 'POST', path: '/devices/an00000001/links', opts: () => ({ body: { hours: 721 } }), status: 400, code: 'invalid_request', field: 'hours' },
  { name: 'links: readOnly not boolean', method: 'POST', path: '/devices/an00000001/links', opts: () => ({ body: { hours: 1, readOnly: 'yes' } }), status: 400, code: 'invalid_request', field: 'readOnly' },
  { name: 'links: extra field', method: 'POST', path: '/devices/an00000001/links', opts: () => ({ body: { hours: 1, url: 'x' } }), status: 400, code: 'invalid_request', field: 'url' },
  { name: 'links: unknown device', method: 'POST', path: '/devices/an404/links', opts: () => ({ body: { hours: 1 } }), status: 404, code: 'not_found' },
  { name: 'links: read token making one', method: 'POST', path: '/devices/an00000001/links', opts: (f) => ({ token: f.readToken, body: { hours: 1 } }), status: 403, code: 'forbidden' },
  { name: 'links: revoke unknown', method: 'DELETE', path: '/devices/an00000001/links/00000000-0000-4000-8000-000000000000', status: 404, code: 'not_found', field: 'id' },
  { name: 'links: revoke non-uuid', method: 'DELETE', path: '/devices/an00000001/links/abc', status: 404, code: 'not_found' },
  // Webhooks
  { name: 'webhooks: list with a user token', method: 'GET', path: '/webhooks', opts: (f) => ({ token: f.userToken }), status: 403, code: 'forbidden' },
  { name: 'webhooks: not http', method: 'POST', path: '/webhooks', opts: () => ({ body: { url: 'file:///etc/passwd', events: ['device.online'] } }), status: 400, code: 'invalid_request', field: 'url' },
  { name: 'webhooks: unknown event', method: 'POST', path: '/webhooks', opts: () => ({ body: { url: 'http://127.0.0.1:9/x', events: ['device.exploded'] } }), status: 400, code: 'invalid_request', field: 'events.0' },
  { name: 'webhooks: no events', method: 'POST', path: '/webhooks', opts: () => ({ body: { url: 'http://127.0.0.1:9/x', events: [] } }), status: 400, code: 'invalid_request', field: 'events' },
  { name: 'webhooks: short secret', method: 'POST', path: '/webhooks', opts: () => ({ body: { url: 'http://127.0.0.1:9/x', events: ['window.ended'], secret: 'short' } }), status: 400, code: 'invalid_request', field: 'secret' },
  { name: 'webhooks: delete unknown', method: 'DELETE', path: '/webhooks/00000000-0000-4000-8000-000000000000', status: 404, code: 'not_found', field: 'id' },
  { name: 'webhooks: deliveries limit 0', method: 'GET', path: '/webhooks/deliveries?limit=0', status: 400, code: 'invalid_request', field: 'limit' },
  // Organisations (the default organisation's id is fixed by migration 0006)
  { name: 'orgs: list with a user token', method: 'GET', path: '/organizations', opts: (f) => ({ token: f.userToken }), status: 403, code: 'forbidden' },
  { name: 'orgs: create with empty name', method: 'POST', path: '/organizations', opts: () => ({ body: { name: '' } }), status: 400, code: 'invalid_request', field: 'name' },
  { name: 'orgs: create with a control character', method: 'POST', path: '/organizations', opts: () => ({ body: { name: 'a\u0007b' } }), status: 400, code: 'invalid_request', field: 'name' },
  { name: 'orgs: create with an existing name', method: 'POST', path: '/organizations', opts: () => ({ body: { name: 'DEFAULT' } }), status: 409, code: 'conflict', field: 'name' },
  { name: 'orgs: create with extra field', method: 'POST', path: '/organizations', opts: () => ({ body: { name: 'x', id: 'y' } }), status: 400, code: 'invalid_request', field: 'id' },
  { name: 'members: list of unknown organization', method: 'GET', path: '/organizations/00000000-0000-4000-8000-00000000dead/members', status: 404, code: 'not_found', field: 'id' },
  { name: 'members: add with unknown role', method: 'POST', path: '/organizations/00000000-0000-4000-8000-000000000001/members', opts: () => ({ body: { email: 'x@example.com', role: 'root' } }), status: 400, code: 'invalid_request', field: 'role' },
  { name: 'members: add to unknown organization', method: 'POST', path: '/organizations/abc/members', opts: () => ({ body: { email: 'x@example.com', role: 'viewer' } }), status: 404, code: 'not_found', field: 'id' },
  { name: 'members: remove a non-member', method: 'DELETE', path: '/organizations/00000000-0000-4000-8000-000000000001/members/00000000-0000-4000-8000-000000000000', status: 404, code: 'not_found', field: 'userId' },
  { name: 'org tokens: list of unknown organization', method: 'GET', path: '/organizations/00000000-0000-4000-8000-00000000dead/api-tokens', status: 404, code: 'not_found', field: 'id' },
  { name: 'org tokens: create without role', method: 'POST', path: '/organizations/00000000-0000-4000-8000-000000000001/api-tokens', opts: () => ({ body: { name: 'ci' } }), status: 400, code: 'invalid_request', field: 'role' },
  { name: 'org tokens: revoke non-uuid', method: 'DELETE', path: '/organizations/00000000-0000-4000-8000-000000000001/api-tokens/abc', status: 404, code: 'not_found', field: 'tokenId' },
  { name: 'enrollment: create in unknown organization', method: 'POST', path: '/enrollment-tokens', opts: () => ({ body: { organizationId: 'nobody' } }), status: 404, code: 'not_found', field: 'organizationId' },
  // Routing
  { name: 'unknown route', method: 'GET', path: '/nothing-here', status: 404, code: 'not_found' },
];

describe.each(drivers)('API on %s', (driver) => {
  let t: TestDatabase;
  let h: Harness;
  let f: Fixture;
  beforeAll(async () => {
    t = await createTestDatabase(driver);
  });
  afterAll(async () => {
    await t?.drop();
  });

  const fresh = async () => {
    await truncateAll(t.db);
    h = await createApiHarness(t.db);
    f = await seed(h);
  };

  describe('bad-input catalogue', () => {
    // Every case asserts the database is unchanged, so one seed serves them all.
    beforeAll(fresh);

    it('covers every route of the table in the catalogue', () => {
      const covered = new Set(CATALOGUE.map((c) => `${c.method.toLowerCase()} ${c.path.split('?')[0]!.replace(/\/(an\w+|[0-9a-f-]{36}|abc|1%27or%271)(?=\/|$)/g, '/{x}')}`));
      const routes = h.table.map((r) => `${r.method} ${r.path.replace(/\{\w+\}/g, '{x}')}`);
      const missing = routes.filter((r) => !covered.has(r) && r !== 'get /whoami');
      expect(missing).toEqual([]);
    });

    it.each(CATALOGUE.map((c) => [c.name, c] as const))('%s → documented 4xx, nothing changed', async (_name, c) => {
      const before = await snapshotTables(t.db);
      const res = await h.request(c.method, c.path.replace('{admin}', f.adminId), c.opts?.(f) ?? {});
      expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: c.status, code: c.code });
      expect(typeof res.body.error.message).toBe('string');
      expect(res.body.error.message.length).toBeGreaterThan(5);
      if (c.field !== undefined) expect(res.body.error.field).toBe(c.field);
      if (c.message) expect(res.body.error.message).toMatch(c.message);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(JSON.stringify(res.body)).not.toContain(ADMIN_TOKEN);
      expect(await snapshotTables(t.db)).toEqual(before);
    });
  });

  describe('flows', () => {
    beforeEach(fresh);

    it('registers over HTTP: 201, then 200 with the same body, through the documented schema', async () => {
      const first = await h.request('POST', '/devices/register', reg(f, { serial: 'AN12345678' }));
      expect(first.status).toBe(201);
      expect(h.documented('POST', '/devices/register', first)).toMatchObject({ serial: 'an12345678', tunnelIp: '100.64.0.4', persistentKeepalive: 25 });
      const again = await h.request('POST', '/devices/register', reg(f, { serial: 'an12345678' }));
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect(first.headers.get('cache-control')).toBe('no-store');
      expect(first.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('settles a duplicate-registration race: one 201, the rest 200 (same key) or 409 (other keys)', async () => {
      const same = await Promise.all(Array.from({ length: 8 }, () => h.request('POST', '/devices/register', reg(f, { serial: 'race1' }))));
      expect(same.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
      expect(new Set(same.map((r) => r.body.tunnelIp)).size).toBe(1);
      const before = await snapshotTables(t.db);
      const other = await Promise.all(
        Array.from({ length: 8 }, (_, i) => h.request('POST', '/devices/register', reg(f, { serial: 'race1', publicKey: testKey(`other${i}`) }))),
      );
      expect(new Set(other.map((r) => `${r.status} ${r.body.error.code}`))).toEqual(new Set(['409 conflict']));
      expect(await snapshotTables(t.db)).toEqual(before);
    });

    it('runs the claim endpoints: start, pending, slow_down, approved', async () => {
      const start = await h.request('POST', '/claims', { token: null, body: { serial: 'an4242', publicKey: testKey(4242), returnUrl: 'http://192.168.1.5/ui' } });
      expect(start.status).toBe(201);
      h.documented('POST', '/claims', start);
      const pending = await h.request('POST', '/claims/poll', { token: null, body: { pollToken: start.body.pollToken } });
      expect(h.documented('POST', '/claims/poll', pending)).toEqual({ status: 'pending' });
      const fast = await h.request('POST', '/claims/poll', { token: null, body: { pollToken: start.body.pollToken } });
      expect(fast.status).toBe(429);
      expect(fast.body.error.code).toBe('slow_down');
      expect(fast.headers.get('retry-after')).toBe('2');
      const owner = await h.registry.findUserByEmail('user@example.io');
      await h.registry.approveClaim(start.body.userCode, owner!);
      h.clock.advance(2000);
      const approved = await h.request('POST', '/claims/poll', { token: null, body: { pollToken: start.body.pollToken } });
      expect(h.documented('POST', '/claims/poll', approved)).toMatchObject({ status: 'approved', registration: { serial: 'an4242' } });
      const owner2 = await h.registry.findUserByEmail('admin@example.io');
      const denied = await h.request('POST', '/claims', { token: null, body: { serial: 'an4343', publicKey: testKey(4343) } });
      await h.registry.denyClaim(denied.body.userCode, owner2!);
      const deniedPoll = await h.request('POST', '/claims/poll', { token: null, body: { pollToken: denied.body.pollToken } });
      expect({ status: deniedPoll.status, code: deniedPoll.body.error.code }).toEqual({ status: 403, code: 'access_denied' });
      h.clock.advance(600_000);
      const late = await h.request('POST', '/claims', { token: null, body: { serial: 'an4444', publicKey: testKey(4444) } });
      h.clock.advance(600_000);
      const expired = await h.request('POST', '/claims/poll', { token: null, body: { pollToken: late.body.pollToken } });
      expect({ status: expired.status, code: expired.body.error.code }).toEqual({ status: 400, code: 'expired_token' });
    });

    it('lists, filters and pages devices; shows, updates, rotates, grants and deletes', async () => {
      for (let i = 0; i < 5; i++) await h.request('POST', '/devices/register', reg(f, { serial: `page${i}`, publicKey: testKey(`page${i}`) }));
      const p1 = await h.request('GET', '/devices?limit=3');
      const page1 = h.documented('GET', '/devices', p1) as { devices: { serial: string }[]; nextCursor: string };
      expect(page1.devices.map((d) => d.serial)).toEqual(['an00000001', 'an00000002', 'page0']);
      const p2 = await h.request('GET', `/devices?limit=3&cursor=${page1.nextCursor}`);
      expect(p2.body.devices.map((d: { serial: string }) => d.serial)).toEqual(['page1', 'page2', 'page3']);
      const p3 = await h.request('GET', `/devices?limit=3&cursor=${p2.body.nextCursor}`);
      expect(p3.body).toMatchObject({ nextCursor: null });
      expect(p3.body.devices.map((d: { serial: string }) => d.serial)).toEqual(['page4']);
      expect((await h.request('GET', '/devices?q=GE3')).body.devices.map((d: { serial: string }) => d.serial)).toEqual(['page3']);
      expect((await h.request('GET', '/devices?tag=fleet&q=an')).body.devices.map((d: { serial: string }) => d.serial)).toEqual(['an00000002']);
      expect((await h.request('GET', '/devices?q=%25')).body.devices).toEqual([]); // % is a literal, not a wildcard
      await h.registry.recordPeerStatus([{ publicKey: testKey('page1'), lastHandshakeAt: h.clock.now(), endpoint: '198.51.100.9:1', rxBytes: 1, txBytes: 1 }]);
      expect((await h.request('GET', '/devices?online=true')).body.devices.map((d: { serial: string }) => d.serial)).toEqual(['page1']);

      const patched = await h.request('PATCH', '/devices/PAGE1', { body: { status: 'disabled', accessPolicy: 'public', ownerEmail: 'user@example.io' } });
      expect(h.documented('PATCH', '/devices/page1', patched)).toMatchObject({ status: 'disabled', accessPolicy: 'public', owner: { email: 'user@example.io' } });
      expect((await h.request('GET', '/devices?status=disabled')).body.devices.map((d: { serial: string }) => d.serial)).toEqual(['page1']);
      h.documented('GET', '/devices/page1', await h.request('GET', '/devices/page1'));
      const rotation = await h.request('POST', '/devices/page2/key-rotation', { body: { publicKey: testKey('page2b') } });
      h.documented('POST', '/devices/page2/key-rotation', rotation);
      const rotated = await h.request('POST', '/devices/register', reg(f, { serial: 'page2', publicKey: testKey('page2b') }));
      expect(rotated.status).toBe(200);

      const grant = await h.request('POST', '/devices/page2/grants', { body: { email: 'USER@example.io', expiresAt: '2031-01-01T00:00:00Z' } });
      expect(h.documented('POST', '/devices/page2/grants', grant)).toMatchObject({ email: 'user@example.io', expiresAt: '2031-01-01T00:00:00.000Z' });
      const grants = await h.request('GET', '/devices/page2/grants');
      h.documented('GET', '/devices/page2/grants', grants);
      const del = await h.request('DELETE', `/devices/page2/grants/${grant.body.userId}`);
      h.documented('DELETE', '/devices/page2/grants/x', del);
      expect((await h.request('GET', '/devices/page2/grants')).body).toEqual([]);

      const deleted = await h.request('DELETE', '/devices/page0');
      h.documented('DELETE', '/devices/page0', deleted);
      expect((await h.request('GET', '/devices/page0')).status).toBe(404);
    });

    it('creates, lists and revokes tokens; adds admin peers with a wg-quick config; queries the access log', async () => {
      const enr = await h.request('POST', '/enrollment-tokens', { body: { description: 'batch 7', tags: ['Batch7'], maxUses: 3, expiresInSeconds: 3600 } });
      expect(h.documented('POST', '/enrollment-tokens', enr)).toMatchObject({ tags: ['batch7'], maxUses: 3, state: 'active' });
      expect(enr.body.token).toMatch(/^ph_enr_/);
      const list = await h.request('GET', '/enrollment-tokens');
      h.documented('GET', '/enrollment-tokens', list);
      expect(JSON.stringify(list.body)).not.toContain(enr.body.token);
      const revoked = await h.request('DELETE', `/enrollment-tokens/${enr.body.id}`);
      expect(h.documented('DELETE', '/enrollment-tokens/x', revoked)).toMatchObject({ state: 'revoked' });
      expect((await h.request('POST', '/devices/register', reg(f, { enrollmentToken: enr.body.token }))).status).toBe(401);

      const api = await h.request('POST', '/api-tokens', { body: { name: 'ci', scopes: ['read'] } });
      h.documented('POST', '/api-tokens', api);
      expect((await h.request('GET', '/whoami', { token: api.body.token })).body).toMatchObject({ user: { email: 'admin@example.io' }, scopes: ['read'] });
      h.documented('GET', '/api-tokens', await h.request('GET', '/api-tokens'));
      h.documented('DELETE', '/api-tokens/x', await h.request('DELETE', `/api-tokens/${api.body.id}`));
      expect((await h.request('GET', '/whoami', { token: api.body.token })).status).toBe(401);

      const peer = await h.request('POST', '/admin-peers', { body: { name: 'alice laptop', publicKey: testKey('alice') } });
      const body = h.documented('POST', '/admin-peers', peer) as { tunnelIp: string; config: string; id: string };
      expect(body.config).toBe(
        [
          `# Porthole admin peer "alice laptop" (peer(${testKey('alice').slice(0, 4)}…${testKey('alice').slice(-5, -1)}))`,
          '[Interface]',
          `# PrivateKey = <the private key whose public key is ${testKey('alice')}>`,
          `Address = ${body.tunnelIp}/32`,
          '',
          '[Peer]',
          '# The Porthole hub',
          `PublicKey = ${h.registry.hub.publicKey}`,
          'Endpoint = hub.example.io:51820',
          'AllowedIPs = 100.64.0.0/10',
          'PersistentKeepalive = 25',
          '',
        ].join('\n'),
      );
      h.documented('GET', '/admin-peers', await h.request('GET', '/admin-peers'));
      h.documented('DELETE', '/admin-peers/x', await h.request('DELETE', `/admin-peers/${body.id}`));

      const log = await h.request('GET', '/access-log?serial=AN00000002&from=2029-12-31T00:00:00Z');
      expect(h.documented('GET', '/access-log', log)).toMatchObject({ entries: [{ serial: 'an00000002', status: 200, bytesOut: 2000 }], nextCursor: null });
      expect((await h.request('GET', '/access-log?serial=an00000002&to=2029-12-31T00:00:00Z')).body.entries).toEqual([]);
    });

    it('rate-limits the open endpoints and failed authentication per client address', async () => {
      const limited = await createApiHarness(t.db, {
        clock: h.clock,
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
      const res = await h.request('GET', '/openapi.json', { token: null });
      expect(res.status).toBe(200);
      const doc = res.body;
      expect(doc.openapi).toBe('3.1.0');
      for (const r of h.table) {
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
