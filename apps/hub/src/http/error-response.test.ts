import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConflictError, RateLimitedError, ValidationError } from '../errors.js';
import { errorResponse } from './error-response.js';
import { parseInput, parseJsonBody } from './validate.js';

describe('errorResponse', () => {
  it('maps domain errors to status and one JSON shape', async () => {
    const res = errorResponse(new ConflictError('serial an1 is registered with another key', { field: 'publicKey' }));
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({
      error: { code: 'conflict', message: 'serial an1 is registered with another key', field: 'publicKey' },
    });
  });
  it('adds Retry-After to rate limits and hides internal errors', async () => {
    const limited = errorResponse(new RateLimitedError('too many logins', 2.2));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    const internal = errorResponse(new Error('password=hunter2 leaked in a driver message'));
    expect(internal.status).toBe(500);
    expect(JSON.stringify(await internal.json())).not.toContain('hunter2');
  });
  it('answers 503 for a driver error that means the database is gone (NAT lab: the portal said 500)', async () => {
    const lost = Object.assign(new Error('Failed query: select … params: secret@example.io'), {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    });
    const res = errorResponse(lost);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toBe('the database is unavailable; retry later');
    expect(JSON.stringify(body)).not.toContain('secret@example.io');
  });
});

describe('text the database cannot store', () => {
  it('is the client’s mistake: a NUL byte in a parameter answers 400, not 500 (found by the hub fuzzer)', async () => {
    const nul = Object.assign(new Error('Failed query: select … where serial like $1'), {
      cause: Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' }),
    });
    const res = errorResponse(nul);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
  });
});

describe('parseInput', () => {
  const schema = z.strictObject({ serial: z.string().min(1), count: z.number().int() });
  it('names the offending field', () => {
    expect(() => parseInput(schema, { serial: '', count: 1 })).toThrow(ValidationError);
    try {
      parseInput(schema, { serial: 'x', count: 'many' });
    } catch (err) {
      expect((err as ValidationError).field).toBe('count');
    }
  });
  it('refuses unknown fields by name', () => {
    try {
      parseInput(schema, { serial: 'x', count: 1, admin: true });
      expect.unreachable();
    } catch (err) {
      expect((err as ValidationError).message).toBe('admin: unknown field: admin');
      expect((err as ValidationError).field).toBe('admin');
    }
  });
  it('refuses non-JSON and oversized bodies', async () => {
    const mk = (body: string, type = 'application/json') =>
      new Request('http://x/', { method: 'POST', body, headers: { 'content-type': type } });
    await expect(parseJsonBody(mk('{"serial":"a","count":1}'), schema)).resolves.toEqual({ serial: 'a', count: 1 });
    await expect(parseJsonBody(mk('serial=a', 'application/x-www-form-urlencoded'), schema)).rejects.toThrow(/must be JSON/);
    await expect(parseJsonBody(mk('{bad'), schema)).rejects.toThrow(/not valid JSON/);
    await expect(parseJsonBody(mk(JSON.stringify({ serial: 'a'.repeat(200), count: 1 })), schema, 100)).rejects.toThrow(/larger than 100/);
  });
});
