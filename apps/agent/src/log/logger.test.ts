import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leakedSecrets, logAllSecrets } from '@porthole/log/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { RotatingFile } from './rotating-file.js';

const dir = mkdtempSync(join(tmpdir(), 'porthole-agent-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('logger', () => {
  it('writes JSON lines with level filtering, child fields and error objects', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', sinks: [(l) => lines.push(l)], now: () => Date.UTC(2026, 0, 2, 3, 4, 5) });
    log.debug('hidden');
    log.child({ component: 'tunnel' }).warn('handshake failed', { err: Object.assign(new Error('boom'), { code: 'EHOSTUNREACH' }) });
    expect(lines).toEqual([
      '{"level":"warn","time":"2026-01-02T03:04:05.000Z","component":"tunnel","err":{"name":"Error","message":"boom","code":"EHOSTUNREACH"},"msg":"handshake failed"}\n',
    ]);
  });

  it('never writes a secret to stdout or the log file, at any level, nested, in the message or in an error', () => {
    const path = join(dir, 'secrets', 'agent.log');
    const file = new RotatingFile({ path, retention: 2 });
    const stdout: string[] = [];
    const log = createLogger({ level: 'debug', sinks: [(l) => stdout.push(l), (l) => file.write(l)], fields: { component: 'porthole-agent' } });
    const { samples, lines: expected } = logAllSecrets(log);
    // What the agent itself holds: its proxy settings and the enrollment token from its config.
    const proxyPassword = 'Pr0xy-pa55word';
    log.info('network settings', { network: { proxy: { kind: 'socks5', host: 'proxy.lan', port: 1080, username: 'meter', password: proxyPassword } }, enrollmentToken: 'ph_enr_EnrollEnrollEnrollEnroll' });
    file.close();
    const written = readFileSync(path, 'utf8');
    expect(stdout).toHaveLength(expected + 1);
    expect(written.trim().split('\n')).toHaveLength(expected + 1);
    for (const output of [stdout.join(''), written]) {
      expect(leakedSecrets(output, samples)).toEqual([]);
      expect(output).not.toContain(proxyPassword);
      expect(output).not.toContain('EnrollEnroll');
    }
  });
});

describe('RotatingFile', () => {
  it('rotates at UTC midnight and keeps `retention` old files', () => {
    let now = Date.UTC(2026, 2, 1, 12);
    const path = join(dir, 'agent.log');
    const file = new RotatingFile({ path, retention: 2, now: () => now });
    const log = createLogger({ sinks: [(l) => file.write(l)], now: () => now });
    for (let day = 0; day < 5; day++) {
      log.info(`day ${day} a`);
      now += 3600_000;
      log.info(`day ${day} b`);
      now += 23 * 3600_000;
    }
    file.close();
    expect(readdirSync(dir).filter((n) => n.startsWith('agent.log')).sort()).toEqual(['agent.log', 'agent.log.2026-03-03', 'agent.log.2026-03-04']);
    const msgs = (name: string) => readFileSync(join(dir, name), 'utf8').trim().split('\n').map((l) => JSON.parse(l).msg);
    expect(msgs('agent.log.2026-03-03')).toEqual(['day 2 a', 'day 2 b']);
    expect(msgs('agent.log.2026-03-04')).toEqual(['day 3 a', 'day 3 b']);
    expect(msgs('agent.log')).toEqual(['day 4 a', 'day 4 b']);
  });
});
