// Hub credentials on device hosts: telling the hub's tokens from a device's own Authorization, token
// scopes, and the forwarder removing them whatever the gate decided.
import type { IncomingMessage } from 'node:http';
import { API_TOKEN_SCOPES } from '@porthole/db';
import { describe, expect, it } from 'vitest';
import { TOKEN_PREFIXES, generateToken } from '../auth/secret-token.js';
import { requestHeadersForDevice } from './forward-headers.js';
import { FULL_DEVICE_SCOPES, HUB_TOKEN_PREFIX, READ_DEVICE_SCOPES, accessNeeded, bearerToken, hasHubTokenPrefix, isHubAuthorization, mayBeCustomHubToken, scopesGrant } from './hub-credentials.js';

describe('hub tokens', () => {
  it('recognises every kind of secret the hub issues by its prefix', () => {
    for (const kind of Object.keys(TOKEN_PREFIXES) as (keyof typeof TOKEN_PREFIXES)[]) {
      expect(TOKEN_PREFIXES[kind].startsWith(HUB_TOKEN_PREFIX), kind).toBe(true);
      const token = generateToken(kind).plaintext;
      expect(hasHubTokenPrefix(token)).toBe(true);
      expect(isHubAuthorization(`Bearer ${token}`)).toBe(true);
      expect(isHubAuthorization(`bearer   ${token}`)).toBe(true);
    }
  });

  it('leaves a device’s own credentials alone', () => {
    expect(isHubAuthorization('Bearer eyJhbGciOiJIUzI1NiJ9.e30.x')).toBe(false);
    expect(isHubAuthorization('Basic dXNlcjpwdw==')).toBe(false);
    expect(isHubAuthorization('Digest username="ph_api_x"')).toBe(false);
    expect(hasHubTokenPrefix('php_session')).toBe(false);
  });

  it('looks up only unprefixed values that could be an operator-chosen token', () => {
    expect(mayBeCustomHubToken('short')).toBe(false);
    expect(mayBeCustomHubToken('x'.repeat(32))).toBe(true);
    expect(mayBeCustomHubToken('x'.repeat(513))).toBe(false);
  });

  it('reads the token of a Bearer Authorization only', () => {
    const h = (authorization?: string) => (authorization === undefined ? {} : { authorization });
    expect(bearerToken(h('Bearer abc'))).toBe('abc');
    expect(bearerToken(h('bearer  abc  '))).toBe('abc');
    expect(bearerToken(h('Basic abc'))).toBeUndefined();
    expect(bearerToken(h('Bearer a b'))).toBeUndefined();
    expect(bearerToken(h())).toBeUndefined();
  });
});

describe('token scopes on device hosts', () => {
  it('are scopes the hub can issue', () => {
    for (const s of READ_DEVICE_SCOPES) expect(API_TOKEN_SCOPES).toContain(s);
  });

  it.each([
    ['GET', 'http', 'read'],
    ['HEAD', 'http', 'read'],
    ['POST', 'http', 'full'],
    ['PUT', 'http', 'full'],
    ['DELETE', 'http', 'full'],
    ['OPTIONS', 'http', 'full'],
    ['GET', 'websocket', 'full'],
    ['GET', 'tcp', 'full'],
  ] as const)('%s over %s needs %s access', (method, kind, access) => {
    expect(accessNeeded(method, kind)).toBe(access);
  });

  it.each([
    [['read'], 'read', true],
    [['read'], 'full', false],
    [['connect'], 'read', true],
    [['connect'], 'full', true],
    [['write'], 'full', true],
    [['read', 'write'], 'full', true],
    [[], 'read', false],
    [['admin'], 'read', false],
  ] as const)('%j grants %s: %s', (scopes, access, granted) => {
    expect(scopesGrant(scopes, access)).toBe(granted);
  });

  it('gives full access only with connect or write', () => {
    expect([...FULL_DEVICE_SCOPES].sort()).toEqual(['connect', 'write']);
  });
});

describe('the forwarder removes hub credentials', () => {
  const client = { ip: '127.0.0.1', proto: 'https' as const, forwardedFor: '127.0.0.1' };
  const req = (raw: string[]) => ({ rawHeaders: raw, headers: {} }) as unknown as IncomingMessage;
  const named = (out: string[], name: string) => out.filter((_, i) => i % 2 === 1 && out[i - 1]!.toLowerCase() === name);

  it('drops a prefixed bearer token even when the gate let Authorization through', () => {
    const out = requestHeadersForDevice(req(['Authorization', `Bearer ${generateToken('api').plaintext}`]), { host: 'an1.d', client, dropAuthorization: false });
    expect(named(out, 'authorization')).toEqual([]);
    const own = requestHeadersForDevice(req(['Authorization', 'Bearer device-token']), { host: 'an1.d', client, dropAuthorization: false });
    expect(named(own, 'authorization')).toEqual(['Bearer device-token']);
  });

  it('forwards anonymously: no cookies and no Authorization at all', () => {
    const raw = ['Cookie', 'porthole_device=x; devsess=1', 'Authorization', 'Basic dXNlcjpwdw==', 'Accept', '*/*'];
    const out = requestHeadersForDevice(req(raw), { host: 'an1.d', client, dropAuthorization: true, dropCookies: true });
    expect(named(out, 'cookie')).toEqual([]);
    expect(named(out, 'authorization')).toEqual([]);
    expect(named(out, 'accept')).toEqual(['*/*']);
    const kept = requestHeadersForDevice(req(raw), { host: 'an1.d', client, dropAuthorization: false });
    expect(named(kept, 'cookie')).toEqual(['devsess=1']);
  });
});
