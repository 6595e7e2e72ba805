// The API's bad-input catalogue through hono's app.request on both drivers: every endpoint with
// missing/extra/oversized fields, wrong types, non-label serials, bad keys, expired/used/revoked
// tokens, wrong auth — each a documented 4xx with a clear message and an unchanged database.
import { beforeAll, describe, expect, it } from 'vitest';
import { snapshotTables } from '@porthole/db/testing';
import { testKey } from '../testing/registry-test-bed.js';
import { ADMIN_TOKEN, reg, useApiTestBed, type Fixture, type RequestOptions } from '../testing/api-harness.js';
import { databaseDrivers } from '../../../../test/support/database-drivers.js';

const drivers = await databaseDrivers('API');

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
  { name: 'webhooks: list without a token', method: 'GET', path: '/webhooks', opts: () => ({ token: null }), status: 401, code: 'unauthorized' },
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
  { name: 'organizations: delete unknown', method: 'DELETE', path: '/organizations/00000000-0000-4000-8000-00000000dead', status: 404, code: 'not_found', field: 'id' },
  { name: 'org tokens: list of unknown organization', method: 'GET', path: '/organizations/00000000-0000-4000-8000-00000000dead/api-tokens', status: 404, code: 'not_found', field: 'id' },
  { name: 'org tokens: create without role', method: 'POST', path: '/organizations/00000000-0000-4000-8000-000000000001/api-tokens', opts: () => ({ body: { name: 'ci' } }), status: 400, code: 'invalid_request', field: 'role' },
  { name: 'org tokens: revoke non-uuid', method: 'DELETE', path: '/organizations/00000000-0000-4000-8000-000000000001/api-tokens/abc', status: 404, code: 'not_found', field: 'tokenId' },
  { name: 'enrollment: create in unknown organization', method: 'POST', path: '/enrollment-tokens', opts: () => ({ body: { organizationId: 'nobody' } }), status: 404, code: 'not_found', field: 'organizationId' },
  // Routing
  { name: 'unknown route', method: 'GET', path: '/nothing-here', status: 404, code: 'not_found' },
];

describe.each(drivers)('API bad input on %s', (driver) => {
  const bed = useApiTestBed(driver);

  describe('bad-input catalogue', () => {
    // Every case asserts the database is unchanged, so one seed serves them all.
    beforeAll(bed.fresh);

    it('covers every route of the table in the catalogue', () => {
      const covered = new Set(CATALOGUE.map((c) => `${c.method.toLowerCase()} ${c.path.split('?')[0]!.replace(/\/(an\w+|[0-9a-f-]{36}|abc|1%27or%271)(?=\/|$)/g, '/{x}')}`));
      const routes = bed.h.table.map((r) => `${r.method} ${r.path.replace(/\{\w+\}/g, '{x}')}`);
      const missing = routes.filter((r) => !covered.has(r) && r !== 'get /whoami');
      expect(missing).toEqual([]);
    });

    it.each(CATALOGUE.map((c) => [c.name, c] as const))('%s → documented 4xx, nothing changed', async (_name, c) => {
      const before = await snapshotTables(bed.t.db);
      const res = await bed.h.request(c.method, c.path.replace('{admin}', bed.f.adminId), c.opts?.(bed.f) ?? {});
      expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: c.status, code: c.code });
      expect(typeof res.body.error.message).toBe('string');
      expect(res.body.error.message.length).toBeGreaterThan(5);
      if (c.field !== undefined) expect(res.body.error.field).toBe(c.field);
      if (c.message) expect(res.body.error.message).toMatch(c.message);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(JSON.stringify(res.body)).not.toContain(ADMIN_TOKEN);
      expect(await snapshotTables(bed.t.db)).toEqual(before);
    });
  });
});
