import { describe, expect, it } from 'vitest';
import { createJsonLogger, createMemoryLogger, redact } from './logger.js';

describe('json logger', () => {
  it('writes one JSON object per line with time, level, component and fields', () => {
    const lines: string[] = [];
    const log = createJsonLogger({ level: 'info', write: (l) => lines.push(l), now: () => new Date(0) });
    const proxy = log.child({ component: 'proxy' });
    proxy.debug('hidden');
    proxy.info('request done', { requestId: 'r1', status: 200 });
    expect(lines).toEqual([
      '{"time":"1970-01-01T00:00:00.000Z","level":"info","component":"proxy","msg":"request done","requestId":"r1","status":200}',
    ]);
  });

  it('never writes credentials, even nested or in errors', () => {
    const log = createMemoryLogger();
    log.info('visitor', {
      cookie: 'porthole_device=abc',
      headers: { authorization: 'Bearer xyz', accept: 'text/html' },
      ticket: 'tkt-q9',
      adminPassword: 'hunter2',
      sessionToken: 'S1',
      err: new Error('boom'),
    });
    const text = JSON.stringify(log.lines);
    for (const secret of ['abc', 'xyz', 'tkt-q9', 'hunter2', 'S1']) expect(text).not.toContain(secret);
    expect(log.lines[0]!.headers).toEqual({ authorization: '[redacted]', accept: 'text/html' });
    expect(log.lines[0]!.err).toEqual({ name: 'Error', message: 'boom' });
  });

  it('keeps booleans and absent values under secret-like names (they say nothing)', () => {
    expect(redact({ hasToken: true, password: undefined })).toEqual({ hasToken: true, password: undefined });
  });

  it('survives a write function that throws', () => {
    const log = createJsonLogger({
      write: () => {
        throw new Error('EPIPE');
      },
    });
    expect(() => log.error('x')).not.toThrow();
  });
});
