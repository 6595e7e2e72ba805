import { leakedSecrets, logAllSecrets } from '@porthole/log/testing';
import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig } from '../config/load-config.js';
import { createJsonLogger, createMemoryLogger } from './logger.js';

describe('hub logger', () => {
  it('writes one JSON object per line with level, time, component, fields and msg', () => {
    const lines: string[] = [];
    const log = createJsonLogger({ level: 'info', write: (l) => lines.push(l), now: () => new Date(0) });
    const proxy = log.child({ component: 'proxy' });
    proxy.debug('hidden');
    proxy.info('request done', { requestId: 'r1', status: 200 });
    expect(lines).toEqual(['{"level":"info","time":"1970-01-01T00:00:00.000Z","component":"proxy","requestId":"r1","status":200,"msg":"request done"}']);
  });

  it('never writes a secret, at any level, nested, in the message or in an error', () => {
    const lines: string[] = [];
    const { samples, lines: expected } = logAllSecrets(createJsonLogger({ level: 'debug', write: (l) => lines.push(l) }).child({ component: 'proxy' }));
    expect(lines).toHaveLength(expected);
    expect(leakedSecrets(lines.join('\n'), samples)).toEqual([]);
  });

  it('the startup line with the configuration shows neither the database password nor the admin secrets', () => {
    const log = createMemoryLogger();
    const config = loadConfig(
      {
        DATABASE_URL: 'postgres://porthole:Db-pa55word@db.internal:5432/porthole',
        PORTHOLE_ADMIN_EMAIL: 'admin@example.io',
        PORTHOLE_ADMIN_PASSWORD: 'Adm1n-pa55word',
        PORTHOLE_ADMIN_TOKEN: 'ph_api_AdminTokenAdminTokenAdminToken12345678',
      },
      () => '',
    );
    log.info('starting', { config: describeConfig(config) });
    log.error('database unreachable', { err: new Error(`connect ECONNREFUSED ${config.databaseUrl}`) });
    const text = JSON.stringify(log.lines);
    expect(log.lines).toHaveLength(2);
    for (const secret of ['Db-pa55word', 'Adm1n-pa55word', 'AdminTokenAdminToken']) expect(text).not.toContain(secret);
    expect(text).toContain('admin@example.io');
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
