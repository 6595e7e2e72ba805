import { describe, expect, it } from 'vitest';
import { OPTIONS, loadAgentConfig, usage } from './config.js';

const files: Record<string, string> = { '/run/pw': 'correct horse\n', '/run/token': 'tok_abc\n', '/run/empty': '\n' };
const readFile = (p: string): string => {
  if (p in files) return files[p]!;
  throw Object.assign(new Error('nope'), { code: 'ENOENT' });
};

describe('loadAgentConfig', () => {
  it('takes flags over env and applies defaults', () => {
    const r = loadAgentConfig({
      argv: ['--hub-url', 'https://portal.example.io', '--serial=AN12345678', '--expose', '22=127.0.0.1:22', '--expose', '5900=[::1]:5900'],
      env: {
        PORTHOLE_AGENT_SERIAL: 'ignored',
        PORTHOLE_AGENT_PASSWORD_FILE: '/run/pw',
        PORTHOLE_AGENT_ENROLLMENT_TOKEN_FILE: '/run/token',
        PORTHOLE_AGENT_TARGET: 'https://10.11.120.2',
      },
      readFile,
    });
    expect(r.ok).toBe(true);
    if (r.ok !== true) return;
    expect(r.config.serial).toBe('an12345678');
    expect(r.config.hubUrl.href).toBe('https://portal.example.io/');
    expect(r.config.target.href).toBe('https://10.11.120.2/');
    expect(r.config.expose).toEqual([
      { port: 22, host: '127.0.0.1', targetPort: 22 },
      { port: 5900, host: '::1', targetPort: 5900 },
    ]);
    expect(r.config.password).toBe('correct horse');
    expect(r.config.enrollmentToken).toBe('tok_abc');
    expect(r.config.listen).toEqual({ host: '127.0.0.1', port: 8088 });
    expect(r.config.stateDir).toBe('/var/lib/porthole-agent');
    expect(r.config.logRetentionDays).toBe(7);
  });

  it('reads comma-separated env lists', () => {
    const r = loadAgentConfig({
      argv: [],
      env: {
        PORTHOLE_AGENT_HUB_URL: 'http://127.0.0.1:8080',
        PORTHOLE_AGENT_SERIAL: 'dev-1',
        PORTHOLE_AGENT_EXPOSE: '22=127.0.0.1:22, 502=10.0.0.5:502',
        PORTHOLE_AGENT_LISTEN: 'off',
      },
      readFile,
    });
    expect(r.ok === true && r.config.expose.map((e) => e.port)).toEqual([22, 502]);
    expect(r.ok === true && r.config.listen).toBeUndefined();
  });

  it('reports every problem at once', () => {
    const r = loadAgentConfig({
      argv: ['--serial', '-bad-', '--target', 'ftp://x', '--expose', '22:127.0.0.1', '--expose', '80=127.0.0.1:8080', '--bogus', 'x', '--listen', 'nowhere', '--log-retention', '0', '--password-file', '/run/missing'],
      env: {},
      readFile,
    });
    expect(r.ok).toBe(false);
    if (r.ok !== false) return;
    expect(r.problems).toEqual([
      'unknown option --bogus',
      '--hub-url is required (PORTHOLE_AGENT_HUB_URL)',
      '--serial "-bad-" must be a DNS label: a-z, 0-9 and inner hyphens, 1–63 characters',
      '--target "ftp://x" must be http:// or https://',
      '--expose "22:127.0.0.1" must look like 22=127.0.0.1:22 or 502=127.0.0.1:502:modbus-read-only',
      '--expose "80=127.0.0.1:8080": overlay port 80 is the --target',
      '--listen "nowhere" must be HOST:PORT or "off"',
      '--password-file /run/missing cannot be read (ENOENT)',
      '--log-retention "0" must be a whole number of files, 1–3650',
    ]);
  });

  it('requires a password for the local UI and refuses both password sources', () => {
    const base = ['--hub-url', 'http://h', '--serial', 'a'];
    const r1 = loadAgentConfig({ argv: base, env: {}, readFile });
    expect(r1.ok === false && r1.problems).toEqual(['the local UI needs --password-file (or --password), or --listen off']);
    const r2 = loadAgentConfig({ argv: [...base, '--password', 'x'.repeat(9), '--password-file', '/run/pw'], env: {}, readFile });
    expect(r2.ok === false && r2.problems).toEqual(['--password and --password-file are both set; use one']);
    const r3 = loadAgentConfig({ argv: [...base, '--password-file', '/run/empty'], env: {}, readFile });
    expect(r3.ok === false && r3.problems[0]).toBe('--password-file /run/empty is empty');
  });

  it('refuses link-local (metadata) targets', () => {
    const r = loadAgentConfig({
      argv: ['--hub-url', 'http://h', '--serial', 'a', '--listen', 'off', '--target', 'http://169.254.169.254', '--expose', '22=[fe80::1]:22'],
      env: {},
      readFile,
    });
    expect(r.ok === false && r.problems).toEqual([
      '--target "http://169.254.169.254" is a link-local address; refused',
      '--expose "22=[fe80::1]:22": link-local targets are refused',
    ]);
  });

  it('answers --help with every option, its environment variable and its default', () => {
    expect(loadAgentConfig({ argv: ['--help'], env: {}, readFile }).ok).toBe('help');
    const text = usage();
    for (const o of OPTIONS) {
      expect(text).toContain(`--${o.flag} VALUE`);
      expect(text).toContain(`env ${o.env}${o.default !== undefined ? `, default ${o.default}` : ''}\n`);
    }
    expect(text).toContain('env PORTHOLE_AGENT_LISTEN, default 127.0.0.1:8088');
  });

  it('reads --expose PORT=HOST:PORT:modbus-read-only and keeps the control port reserved', () => {
    const base = ['--hub-url', 'http://h', '--serial', 'a', '--listen', 'off'];
    const r = loadAgentConfig({ argv: [...base, '--expose', '502=127.0.0.1:1502:modbus-read-only', '--expose', '22=127.0.0.1:22'], env: {}, readFile });
    expect(r.ok === true && r.config.expose).toEqual([
      { port: 502, host: '127.0.0.1', targetPort: 1502, mode: 'modbus-read-only' },
      { port: 22, host: '127.0.0.1', targetPort: 22 },
    ]);
    const bad = loadAgentConfig({ argv: [...base, '--expose', '502=127.0.0.1:1502:modbus', '--expose', '61820=127.0.0.1:22'], env: {}, readFile });
    expect(bad.ok === false && bad.problems).toEqual([
      '--expose "502=127.0.0.1:1502:modbus" must look like 22=127.0.0.1:22 or 502=127.0.0.1:502:modbus-read-only',
      "--expose \"61820=127.0.0.1:22\": overlay port 61820 is reserved for the hub's control channel",
    ]);
  });
});
