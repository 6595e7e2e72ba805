import { describe, expect, it } from 'vitest';
import { createLogger, isoTimestamp, memoryLogger, silentLogger } from './logger.js';
import { leakedSecrets, logAllSecrets } from './testing.js';

const at = (iso: string) => () => Date.parse(iso);

describe('createLogger', () => {
  it('writes one JSON line per call with level, time, child fields, fields and msg', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', sinks: [(l) => lines.push(l)], now: at('2026-01-02T03:04:05.000Z') });
    const proxy = log.child({ component: 'proxy' });
    proxy.debug('hidden');
    proxy.info('request done', { requestId: 'r1', status: 200 });
    expect(lines).toEqual(['{"level":"info","time":"2026-01-02T03:04:05.000Z","component":"proxy","requestId":"r1","status":200,"msg":"request done"}\n']);
  });

  it('filters by level and keeps fields of nested children', () => {
    const log = memoryLogger('warn');
    const child = log.child({ component: 'tunnel' }).child({ peer: 'peer(abcd…wxyz)' });
    child.info('quiet');
    child.warn('handshake failed', { attempt: 3 });
    log.error('boom');
    expect(log.records.map((r) => [r.level, r.msg, r.component, r.peer, r.attempt])).toEqual([
      ['warn', 'handshake failed', 'tunnel', 'peer(abcd…wxyz)', 3],
      ['error', 'boom', undefined, undefined, undefined],
    ]);
  });

  it('writes a field once when a child or a call names it again (the innermost wins)', () => {
    const lines: string[] = [];
    const hub = createLogger({ sinks: [(l) => lines.push(l)], fields: { component: 'hub' } });
    hub.child({ component: 'db' }).info('ready');
    hub.child({ component: 'proxy', device: 'an1' }).info('refused', { device: 'an2' });
    expect(lines.map((l) => (l.match(/"component"/g) ?? []).length + (l.match(/"device"/g) ?? []).length)).toEqual([1, 2]);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>).map((r) => [r.component, r.device])).toEqual([
      ['db', undefined],
      ['proxy', 'an2'],
    ]);
  });

  it('writes errors as name, message and code, never the stack', () => {
    const log = memoryLogger();
    log.warn('dial failed', { err: Object.assign(new Error('connect EHOSTUNREACH'), { code: 'EHOSTUNREACH' }) });
    expect(log.records[0]!.err).toEqual({ name: 'Error', message: 'connect EHOSTUNREACH', code: 'EHOSTUNREACH' });
    expect(JSON.stringify(log.records)).not.toContain('logger.test.ts');
  });

  it('writes what JSON cannot hold as something readable, and never throws on a cycle', () => {
    const log = memoryLogger();
    const cyclic: Record<string, unknown> = { name: 'a' };
    cyclic.self = cyclic;
    log.info('odd values', { buf: Buffer.alloc(7), big: 12n, when: new Date(0), fn: () => 1, cyclic, set: new Set([1, 2]) });
    const r = log.records[0]!;
    expect(r).toMatchObject({ buf: '<7 bytes>', big: '12', when: '1970-01-01T00:00:00.000Z', set: [1, 2] });
    expect(r).not.toHaveProperty('fn');
    expect(JSON.stringify(r.cyclic)).toContain('[…]');
  });

  it('keeps a printf-looking message as written', () => {
    const log = memoryLogger();
    log.info('100% done %s %d', { n: 1 });
    expect(log.records[0]!.msg).toBe('100% done %s %d');
  });

  it('survives a sink that throws, and still feeds the other sinks', () => {
    const got: string[] = [];
    const log = createLogger({
      sinks: [
        () => {
          throw new Error('EPIPE');
        },
        (l) => got.push(l),
      ],
    });
    expect(() => log.error('x')).not.toThrow();
    expect(got).toHaveLength(1);
  });

  it('silentLogger and its children write nothing and accept every call', () => {
    const child = silentLogger.child({ component: 'x' });
    expect(child).toBe(silentLogger);
    expect(() => child.error('x', { err: new Error('y') })).not.toThrow();
  });
});

describe('isoTimestamp', () => {
  it('matches Date#toISOString across milliseconds, seconds, days and before 1970', () => {
    const times = [0, 1, 999, 1000, 1001, Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1), 1_234_567_890_123, 1_234_567_890_123, -1, -1001];
    let i = 0;
    const stamp = isoTimestamp(() => times[i]!);
    for (i = 0; i < times.length; i++) expect(stamp()).toBe(`,"time":"${new Date(times[i]!).toISOString()}"`);
  });
});

describe('redaction through the logger', () => {
  it('never writes a secret at any level, as a field, nested, in the message or in an error', () => {
    const lines: string[] = [];
    const { samples, lines: expected } = logAllSecrets(createLogger({ level: 'debug', sinks: [(l) => lines.push(l)] }));
    expect(lines).toHaveLength(expected);
    expect(leakedSecrets(lines.join(''), samples)).toEqual([]);
  });

  it('the samples do leak through a logger without redaction (the check can fail)', () => {
    let out = '';
    const naive = {
      debug: (m: string, f?: object) => void (out += m + JSON.stringify(f)),
      info: (m: string, f?: object) => void (out += m + JSON.stringify(f)),
      warn: (m: string, f?: object) => void (out += m + JSON.stringify(f)),
      error: (m: string, f?: object) => void (out += m + JSON.stringify(f)),
      child: () => naive,
    };
    const { samples } = logAllSecrets(naive);
    expect(leakedSecrets(out, samples)).toHaveLength(samples.reduce((n, s) => n + s.needles.length, 0));
  });
});
