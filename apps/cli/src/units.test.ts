// Unit tests for the CLI's small pieces: table rendering and sanitising, durations and times,
// the config path and file modes, --listen parsing, ProxyCommand quoting, the hub's refusal
// pages, and filling the private key into a wg-quick file.
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { networkReason, normalizeHubUrl } from './api-client.js';
import { buildSshInvocation, proxyCommandWord } from './commands/ssh.js';
import { parseListen } from './commands/tcp.js';
import { configPath, readConfig, removeConfig, writeConfig } from './config-store.js';
import { tcpUrl } from './device-address.js';
import { formatBytes, formatRelative, formatTime, parseDuration, parseTime } from './format.js';
import { cell, displayWidth, renderFields, renderTable } from './table.js';
import { hoistGlobalOptions } from './run.js';
import { refusalText } from './tcp-tunnel.js';
import { generateWgKeyPair, withPrivateKey } from './wg-keys.js';

describe('table', () => {
  it('pads columns, right-aligns numbers, and leaves no trailing spaces', () => {
    const rows = [
      { a: 'an1', n: 5, t: 'x' },
      { a: 'an12345678', n: 1234, t: '' },
    ];
    expect(
      renderTable(rows, [
        { header: 'SERIAL', value: (r) => r.a },
        { header: 'N', value: (r) => r.n, align: 'right' },
        { header: 'TAGS', value: (r) => r.t },
      ]),
    ).toBe(['SERIAL         N  TAGS', 'an1            5  x', 'an12345678  1234  -'].join('\n'));
  });

  it('never passes terminal control characters through', () => {
    expect(cell('a\u001b[2Jb\rc\u009bd')).toBe('a\\x1b[2Jb\\x0dc\\x9bd');
    expect(cell(null)).toBe('-');
    expect(renderFields([['name', 'x\u0007'], ['long key', 0]])).toBe('name:     x\\x07\nlong key: 0');
  });

  it('counts wide characters as two columns', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('電表')).toBe(4);
    expect(renderTable([{ v: '電表' }, { v: 'ab' }], [{ header: 'V', value: (r) => r.v }, { header: 'X', value: () => 'x' }])).toBe('V     X\n電表  x\nab    x');
  });
});

describe('durations and times', () => {
  const now = new Date('2030-01-10T12:00:00Z');
  it('parses durations and rejects everything else as usage errors', () => {
    expect(parseDuration('48h', '--expires')).toBe(48 * 3600_000);
    expect(parseDuration('7d', '--expires')).toBe(7 * 86_400_000);
    expect(parseDuration('1d12h', '--expires')).toBe(36 * 3600_000);
    expect(parseDuration('90s', '--x')).toBe(90_000);
    for (const bad of ['', '48', 'h', '1y', '-1h', '0s', '1.5h']) expect(() => parseDuration(bad, '--expires'), bad).toThrow(/--expires/);
  });
  it('parses --since as a duration ago or an ISO date-time with a zone', () => {
    expect(parseTime('1h', '--since', now).toISOString()).toBe('2030-01-10T11:00:00.000Z');
    expect(parseTime('2030-01-01T00:00:00Z', '--since', now).toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(parseTime('2030-01-01T01:00:00+01:00', '--since', now).toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(parseTime('2030-01-02', '--since', now).toISOString()).toBe('2030-01-02T00:00:00.000Z');
    for (const bad of ['yesterday', '2030-01-01T00:00:00', '2030-13-45T00:00:00Z']) expect(() => parseTime(bad, '--since', now), bad).toThrow(/--since/);
  });
  it('formats times, relative times and sizes', () => {
    expect(formatTime('2030-01-10T11:59:58.123Z')).toBe('2030-01-10 11:59:58Z');
    expect(formatTime(null)).toBe('-');
    expect(formatRelative('2030-01-10T11:59:58Z', now)).toBe('just now');
    expect(formatRelative('2030-01-10T11:57:00Z', now)).toBe('3m ago');
    expect(formatRelative('2030-01-08T12:00:00Z', now)).toBe('2d ago');
    expect(formatRelative('2030-01-12T12:00:00Z', now)).toBe('in 2d');
    expect(formatRelative(null, now)).toBe('never');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
  });
});

describe('config store', () => {
  it('follows XDG_CONFIG_HOME (absolute only), else ~/.config', () => {
    expect(configPath({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/home/a' })).toBe('/x/cfg/porthole/config.json');
    expect(configPath({ XDG_CONFIG_HOME: 'relative', HOME: '/home/a' })).toBe('/home/a/.config/porthole/config.json');
    expect(configPath({ HOME: '/home/a' })).toBe('/home/a/.config/porthole/config.json');
  });

  it('writes 0600 in a 0700 directory (tightening an existing one), replaces atomically, reports damage', () => {
    const dir = mkdtempSync(join(tmpdir(), 'porthole-cfg-'));
    try {
      const path = join(dir, 'porthole', 'config.json');
      writeConfig(path, { hub: 'https://a.example', token: 't1' });
      writeFileSync(join(dir, 'ignored'), '');
      expect(statSync(path).mode & 0o777).toBe(0o600);
      writeConfig(path, { hub: 'https://b.example', token: 't2' });
      expect(readConfig(path)).toEqual({ hub: 'https://b.example', token: 't2' });
      expect(readdirSync(join(dir, 'porthole'))).toEqual(['config.json']);
      expect(statSync(join(dir, 'porthole')).mode & 0o777).toBe(0o700);
      writeFileSync(path, '{not json');
      expect(() => readConfig(path)).toThrow(/not valid JSON/);
      writeFileSync(path, '{"hub": 1}');
      expect(() => readConfig(path)).toThrow(/does not hold/);
      expect(removeConfig(path)).toBe(true);
      expect(removeConfig(path)).toBe(false);
      expect(readConfig(path)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hub URL and device address', () => {
  it('normalises hub URLs and refuses others', () => {
    expect(normalizeHubUrl('https://portal.example.io/')).toBe('https://portal.example.io');
    expect(normalizeHubUrl('portal.example.io')).toBe('https://portal.example.io');
    expect(normalizeHubUrl('http://localhost:8080/base//')).toBe('http://localhost:8080/base');
    for (const bad of ['ftp://x', 'https://u:p@x', 'https://x/?q=1', 'http://']) expect(() => normalizeHubUrl(bad), bad).toThrow();
  });
  it('assumes http:// for loopback hubs without a scheme, https:// for every other', () => {
    expect(normalizeHubUrl('localhost:8080')).toBe('http://localhost:8080');
    expect(normalizeHubUrl('portal.localhost:8080')).toBe('http://portal.localhost:8080');
    expect(normalizeHubUrl('127.0.0.1:8080/')).toBe('http://127.0.0.1:8080');
    expect(normalizeHubUrl('[::1]:8080')).toBe('http://[::1]:8080');
    expect(normalizeHubUrl('LOCALHOST')).toBe('http://localhost');
    expect(normalizeHubUrl('localhost.example.io')).toBe('https://localhost.example.io');
    expect(normalizeHubUrl('10.0.0.1:8080')).toBe('https://10.0.0.1:8080');
    expect(normalizeHubUrl('https://localhost:8443')).toBe('https://localhost:8443');
  });
  it('says why a connection failed in words, TLS problems included', () => {
    const url = new URL('https://portal.example.io');
    const fail = (code: string, message = 'raw') => networkReason(Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(message), { code }) }), url);
    expect(fail('ERR_SSL_WRONG_VERSION_NUMBER', 'C0:error:0A00010B:SSL routines:ssl3_get_record:wrong version number')).toBe(
      'it does not answer HTTPS on port 443 (a plain-HTTP hub? then use --hub http://portal.example.io)',
    );
    expect(fail('DEPTH_ZERO_SELF_SIGNED_CERT')).toMatch(/^its TLS certificate is not trusted here .* NODE_EXTRA_CA_CERTS/);
    expect(fail('UNABLE_TO_GET_ISSUER_CERT_LOCALLY')).toMatch(/not trusted here/);
    expect(fail('CERT_HAS_EXPIRED')).toBe('its TLS certificate has expired');
    expect(fail('ERR_TLS_CERT_ALTNAME_INVALID')).toBe('its TLS certificate is not for portal.example.io');
    expect(fail('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE')).toBe('the TLS handshake failed (ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE)');
    expect(fail('ENOTFOUND')).toBe('host portal.example.io not found');
    expect(networkReason(Object.assign(new Error('x'), { name: 'TimeoutError' }), url)).toBe('no answer in time');
  });
  it('moves global options from before the command to after its words, and nothing else', () => {
    expect(hoistGlobalOptions(['--json', 'devices', 'list'])).toEqual(['devices', 'list', '--json']);
    expect(hoistGlobalOptions(['--hub', 'h', 'devices', '--token=t', 'show', 'an1'])).toEqual(['devices', 'show', '--hub', 'h', '--token=t', 'an1']);
    expect(hoistGlobalOptions(['devices', 'list', '--json', '--tag', 'x'])).toEqual(['devices', 'list', '--json', '--tag', 'x']);
    // ssh's own arguments after the destination are passed through untouched.
    expect(hoistGlobalOptions(['--hub', 'h', 'ssh', 'root@an1', '--json'])).toEqual(['ssh', '--hub', 'h', 'root@an1', '--json']);
    expect(hoistGlobalOptions(['--version'])).toEqual(['--version']);
    expect(hoistGlobalOptions(['tokens', '--json', 'enrollment', 'list'])).toEqual(['tokens', 'enrollment', 'list', '--json']);
  });
  it('builds the tunnel URL from the device URL', () => {
    expect(tcpUrl('https://an1.example.io/', 22)).toBe('wss://an1.example.io/.porthole/tcp?port=22');
    expect(tcpUrl('http://an1.localhost:8080/', 5900)).toBe('ws://an1.localhost:8080/.porthole/tcp?port=5900');
    // A hub with a single device host: the device is named in the query.
    expect(tcpUrl('https://devices.example.io/.porthole/select?serial=an1', 22)).toBe('wss://devices.example.io/.porthole/tcp?port=22&serial=an1');
  });
  it('parses --listen', () => {
    expect(parseListen('127.0.0.1:2222')).toEqual({ host: '127.0.0.1', port: 2222 });
    expect(parseListen('2222')).toEqual({ host: '127.0.0.1', port: 2222 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListen('localhost:502')).toEqual({ host: 'localhost', port: 502 });
    for (const bad of ['', ':22', 'host:', '1.2.3.4:70000', 'a b:1']) expect(() => parseListen(bad), bad).toThrow(/--listen/);
  });
});

describe('ssh argv', () => {
  it('quotes ProxyCommand words for sh and doubles ssh’s % escape', () => {
    expect(proxyCommandWord('/usr/bin/node')).toBe('/usr/bin/node');
    expect(proxyCommandWord('/home/a b/porthole')).toBe("'/home/a b/porthole'");
    expect(proxyCommandWord("it's")).toBe("'it'\\''s'");
    expect(proxyCommandWord('/tmp/100%')).toBe('/tmp/100%%');
  });
  it('builds the exact argv and keeps the token out of it', () => {
    const inv = buildSshInvocation({ self: ['/opt/my porthole/bin'], destination: 'root@an12345678', sshArgs: ['-i', 'key', 'uptime'], hub: 'https://h', token: 'SECRET', deviceDomain: 'dev.example.io' });
    expect(inv.argv).toEqual(['-o', "ProxyCommand='/opt/my porthole/bin' tcp an12345678 %p --device-domain dev.example.io", 'root@an12345678', '-i', 'key', 'uptime']);
    expect(inv.argv.join(' ')).not.toContain('SECRET');
    expect(inv.env).toEqual({ PORTHOLE_HUB: 'https://h', PORTHOLE_TOKEN: 'SECRET' });
    for (const bad of ['an1;rm', 'an1.example.io', '', 'root@']) expect(() => buildSshInvocation({ self: ['p'], destination: bad, sshArgs: [], hub: 'h', token: 't' }), bad).toThrow();
  });
});

describe('refusal text', () => {
  it('takes plain text as one line and an HTML status page as "title: message"', () => {
    expect(refusalText('text/plain; charset=utf-8', 'port 23 is not open for forwarding on an1\n')).toBe('port 23 is not open for forwarding on an1');
    const page = '<!doctype html><html><head><title>x</title></head><body><h1>No access</h1><p>Your account does not have access to this device&#39;s page.</p><dl></dl></body></html>';
    expect(refusalText('text/html; charset=utf-8', page)).toBe("No access: Your account does not have access to this device's page.");
    expect(refusalText('text/plain', 'evil\u001b[2J\r\nline')).toBe('evil [2J line');
  });
});

describe('wg-quick private key', () => {
  it('replaces the placeholder, or inserts under [Interface]', () => {
    const keys = generateWgKeyPair();
    expect(keys.privateKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(keys.publicKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const priv = Buffer.from(keys.privateKey, 'base64');
    expect(priv[0]! & 7).toBe(0);
    expect(priv[31]! & 0xc0).toBe(0x40);
    const hubText = '[Interface]\n# PrivateKey = <the private key whose public key is X>\nAddress = 100.64.0.9/32\n\n[Peer]\nPublicKey = H\n';
    expect(withPrivateKey(hubText, keys.privateKey)).toBe(`[Interface]\nPrivateKey = ${keys.privateKey}\nAddress = 100.64.0.9/32\n\n[Peer]\nPublicKey = H\n`);
    expect(withPrivateKey('[Interface]\nAddress = 1.2.3.4/32\n', 'K')).toBe('[Interface]\nPrivateKey = K\nAddress = 1.2.3.4/32\n');
    expect(() => withPrivateKey('[Peer]\n', 'K')).toThrow(/no \[Interface\]/);
  });
});
