import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { csrfProtection, csrfToken, fetchOriginProblem, verifyCsrfToken } from './csrf.js';
import { errorResponse } from './error-response.js';

const key = new Uint8Array(32).fill(7);
const ORIGIN = 'https://portal.example.io';

describe('csrf tokens', () => {
  it('are bound to the session binding and the key', () => {
    const token = csrfToken(key, 'session-a');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(verifyCsrfToken(key, 'session-a', token)).toBe(true);
    expect(verifyCsrfToken(key, 'session-b', token)).toBe(false);
    expect(verifyCsrfToken(new Uint8Array(32), 'session-a', token)).toBe(false);
    expect(verifyCsrfToken(key, 'session-a', token.slice(1))).toBe(false);
    expect(verifyCsrfToken(key, 'session-a', '')).toBe(false);
  });
});

describe('fetchOriginProblem', () => {
  const h = (init: Record<string, string>) => new Headers(init);
  it.each([
    [{}, undefined],
    [{ 'sec-fetch-site': 'same-origin', origin: ORIGIN }, undefined],
    [{ 'sec-fetch-site': 'none' }, undefined],
    [{ 'sec-fetch-site': 'same-site', origin: 'https://an12345678.example.io' }, /Sec-Fetch-Site: same-site/],
    [{ 'sec-fetch-site': 'cross-site' }, /cross-site/],
    [{ origin: 'https://an12345678.example.io' }, /Origin: https:\/\/an12345678/],
    [{ origin: 'null' }, /Origin: null/],
    // Chromium's same-origin form post from a no-referrer page (found by the NAT lab's browser).
    [{ 'sec-fetch-site': 'same-origin', origin: 'null' }, undefined],
    [{ 'sec-fetch-site': 'cross-site', origin: 'null' }, /cross-site/],
    [{ origin: 'https://portal.example.io.evil.com' }, /refused/],
  ])('%j → %s', (headers, expected) => {
    const problem = fetchOriginProblem(h(headers as Record<string, string>), [ORIGIN]);
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatch(expected);
  });
});

describe('csrfProtection middleware', () => {
  const app = new Hono();
  app.onError((err) => errorResponse(err));
  app.use(csrfProtection({ key, allowedOrigins: [ORIGIN], binding: (c) => c.req.header('x-session') }));
  app.get('/form', (c) => c.text('form'));
  app.post('/act', async (c) => {
    const body = await c.req.parseBody(); // still readable after the middleware parsed it
    return c.json({ ok: true, name: body.name ?? null });
  });
  const form = (fields: Record<string, string>, headers: Record<string, string> = {}) => ({
    method: 'POST',
    body: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-session': 's1', ...headers },
  });

  it('lets safe methods and valid form posts through', async () => {
    expect((await app.request('/form')).status).toBe(200);
    const res = await app.request('/act', form({ _csrf: csrfToken(key, 's1'), name: 'x' }, { origin: ORIGIN }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, name: 'x' });
  });
  it('accepts the token in a header for fetch requests', async () => {
    const res = await app.request('/act', {
      method: 'POST',
      headers: { 'x-csrf-token': csrfToken(key, 's1'), 'x-session': 's1', 'sec-fetch-site': 'same-origin' },
    });
    expect(res.status).toBe(200);
  });
  it.each([
    ['no token', form({ name: 'x' })],
    ['token of another session', form({ _csrf: csrfToken(key, 's2') })],
    ['no session binding', form({ _csrf: csrfToken(key, 's1') }, { 'x-session': '' })],
    ['device origin', form({ _csrf: csrfToken(key, 's1') }, { origin: 'https://an1.example.io' })],
    ['same-site fetch', form({ _csrf: csrfToken(key, 's1') }, { 'sec-fetch-site': 'same-site' })],
  ])('refuses %s with 403', async (_name, init) => {
    const res = await app.request('/act', init);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
  });
});
