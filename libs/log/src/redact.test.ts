import { describe, expect, it } from 'vitest';
import { cleanValue, redactFields, scrubString } from './redact.js';

describe('scrubString', () => {
  it.each([
    ['token ph_api_AbCdEfGhIjKlMnOp_-123 revoked', 'token ph_api_[redacted] revoked'],
    ['poll with ph_poll_Zz9Zz9Zz9', 'poll with ph_poll_[redacted]'],
    ['connect ECONNREFUSED postgres://porthole:s3cret@db:5432/porthole', 'connect ECONNREFUSED postgres://porthole:[redacted]@db:5432/porthole'],
    ['via http://meter:pw@proxy.lan:3128', 'via http://meter:[redacted]@proxy.lan:3128'],
    ['Authorization: Bearer abcdefghijkl', 'Authorization: [redacted]'],
    ['sent bearer abcdefghijkl upstream', 'sent bearer [redacted] upstream'],
    ['cookie: a=1; b=2', 'cookie: [redacted]'],
    ['saw porthole_device=xyz123; Path=/', 'saw porthole_device=[redacted]; Path=/'],
    ['__Host-porthole_session=abc', '__Host-porthole_session=[redacted]'],
    ['GET /.porthole/auth?ticket=t1ck3t&next=%2F', 'GET /.porthole/auth?ticket=[redacted]&next=%2F'],
    ['email=a%40b.io&password=hunter2&x=1', 'email=a%40b.io&password=[redacted]&x=1'],
    ['{"adminPassword":"hunter2","email":"a"}', '{"adminPassword":"[redacted]","email":"a"}'],
    ['PrivateKey = aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd28=\nAddress = 1', 'PrivateKey = [redacted]\nAddress = 1'],
    ['key -----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY----- loaded', 'key [redacted private key] loaded'],
    ['cut -----BEGIN RSA PRIVATE KEY-----\nMIIEow', 'cut [redacted private key]'],
  ])('%s', (input, output) => {
    expect(scrubString(input)).toBe(output);
  });

  it.each([
    'GET /settings/network answered 200',
    'peer(abcd…wxyz) handshake completed',
    'an12345678 at 100.64.0.2 is offline',
    'https://portal.example.io/devices/an12345678',
    'ph_api_AbCd', // the display prefix lists show
    'porthole_drops_total{reason="unknown_device"} 3',
  ])('leaves ordinary text alone: %s', (text) => {
    expect(scrubString(text)).toBe(text);
  });

  it('bounds long strings, and still scrubs a secret near the end of what is kept', () => {
    const long = `${'x'.repeat(2000)} ph_ses_abcdefghijklmnop ${'y'.repeat(100_000)}`;
    const out = scrubString(long);
    expect(out.length).toBe(2049);
    expect(out).not.toContain('abcdefghijklmnop');
  });
});

describe('redactFields', () => {
  it('replaces values under credential-like names, at any depth, and keeps the rest', () => {
    expect(
      redactFields({
        cookie: 'porthole_device=abc',
        headers: { authorization: 'Bearer xyz', accept: 'text/html', 'x-api-key': 'k' },
        ticket: 'tkt-q9',
        adminPassword: 'hunter2',
        privateKey: 'aGVsbG8=',
        presharedKey: 'aGVsbG8=',
        serial: 'an12345678',
      }),
    ).toEqual({
      cookie: '[redacted]',
      headers: { authorization: '[redacted]', accept: 'text/html', 'x-api-key': '[redacted]' },
      ticket: '[redacted]',
      adminPassword: '[redacted]',
      privateKey: '[redacted]',
      presharedKey: '[redacted]',
      serial: 'an12345678',
    });
  });

  it('keeps names that only refer to a credential, but not session or cookie ids', () => {
    expect(redactFields({ tokenId: 'b3c1', tokenPrefix: 'ph_api_AbCd', tokenCount: 3, passwordChangedAt: '2026-01-01', sessionId: 's1', cookieId: 'c1' })).toEqual({
      tokenId: 'b3c1',
      tokenPrefix: 'ph_api_AbCd',
      tokenCount: 3,
      passwordChangedAt: '2026-01-01',
      sessionId: '[redacted]',
      cookieId: '[redacted]',
    });
    expect(redactFields({ tokenId: 'ph_api_AbCdEfGhIjKl' })).toEqual({ tokenId: 'ph_api_[redacted]' });
  });

  it('keeps booleans and absent values under secret-like names (they say nothing)', () => {
    expect(redactFields({ hasToken: true, password: undefined, session: null })).toEqual({ hasToken: true, password: undefined, session: null });
  });

  it('redacts a whole object under a secret name, not only strings', () => {
    expect(redactFields({ credentials: { user: 'u', pass: 'p' } })).toEqual({ credentials: '[redacted]' });
  });

  it('scrubs error messages and causes', () => {
    const err = new Error('auth failed for ph_api_abcdefghij', { cause: new Error('postgres://u:pw@h/db') });
    expect(cleanValue(err)).toEqual({ name: 'Error', message: 'auth failed for ph_api_[redacted]', cause: { name: 'Error', message: 'postgres://u:[redacted]@h/db' } });
  });
});
