import { describe, expect, it } from 'vitest';
import { parseHostHeader, routeHost } from './host-router.js';

const opts = { domain: 'example.io', portalHost: 'portal.example.io' };

describe('routeHost', () => {
  it.each([
    ['portal.example.io', { kind: 'portal', host: 'portal.example.io', port: undefined }],
    ['PORTAL.Example.IO.:8443', { kind: 'portal', host: 'portal.example.io', port: '8443' }],
    ['an12345678.example.io', { kind: 'device', serial: 'an12345678', host: 'an12345678.example.io', port: undefined }],
    ['AN12345678.EXAMPLE.IO.', { kind: 'device', serial: 'an12345678', host: 'an12345678.example.io', port: undefined }],
    ['an12345678.example.io:8080', { kind: 'device', serial: 'an12345678', host: 'an12345678.example.io', port: '8080' }],
    ['meter-7.example.io', { kind: 'device', serial: 'meter-7', host: 'meter-7.example.io', port: undefined }],
    ['example.io', { kind: 'unknown', host: 'example.io' }],
    ['a.b.example.io', { kind: 'unknown', host: 'a.b.example.io' }],
    ['an12345678.example.io.evil.com', { kind: 'unknown', host: 'an12345678.example.io.evil.com' }],
    ['-an1.example.io', { kind: 'unknown', host: '-an1.example.io' }],
    ['an1-.example.io', { kind: 'unknown', host: 'an1-.example.io' }],
    ['www.example.io', { kind: 'unknown', host: 'www.example.io' }],
    ['xn--an-ufa.example.io', { kind: 'device', serial: 'xn--an-ufa', host: 'xn--an-ufa.example.io', port: undefined }],
    [`${'a'.repeat(64)}.example.io`, { kind: 'unknown', host: `${'a'.repeat(64)}.example.io` }],
    ['127.0.0.1:8080', { kind: 'unknown', host: '127.0.0.1' }],
    ['[::1]:8080', { kind: 'unknown', host: '[::1]' }],
    ['an1.example.io:99999', { kind: 'invalid' }],
    ['an1.example.io:http', { kind: 'invalid' }],
    ['an1.example.io..', { kind: 'invalid' }],
    ['an1_x.example.io', { kind: 'invalid' }],
    ['an1.example.io/x', { kind: 'invalid' }],
    ['user@an1.example.io', { kind: 'invalid' }],
    ['', { kind: 'invalid' }],
    [undefined, { kind: 'invalid' }],
  ])('%s', (host, expected) => {
    expect(routeHost(host, opts)).toEqual(expected);
  });

  it('with the default setup (portal = domain = localhost) devices are <serial>.localhost', () => {
    const local = { domain: 'localhost', portalHost: 'localhost' };
    expect(routeHost('localhost:8080', local).kind).toBe('portal');
    expect(routeHost('an12345678.localhost:8080', local)).toMatchObject({ kind: 'device', serial: 'an12345678' });
  });

  it('agrees with a naive reference on seeded random host strings', () => {
    const seed = 0x5eed1234;
    console.log(`host-router random test seed: ${seed}`);
    let state = seed;
    const rnd = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const alphabet = 'aA0-._:9z[]@/ ';
    const naive = (h: string) => {
      // Reference: split on dots after normalising; exactly one label in front of the domain.
      const m = /^([^:]*)(?::(\d{1,5}))?$/.exec(h);
      if (!m) return 'other';
      const host = m[1]!.toLowerCase().replace(/\.$/, '');
      if (host === 'portal.example.io') return 'portal';
      const labels = host.split('.');
      if (labels.length === 3 && labels[1] === 'example' && labels[2] === 'io' && /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(labels[0]!) && labels[0] !== 'www' && labels[0] !== 'portal' && labels[0] !== 'admin' && labels[0] !== 'api' && labels[0] !== 'hub' && labels[0] !== 'wg' && labels[0] !== 'mail' && labels[0] !== 'static')
        return `device:${labels[0]}`;
      return 'other';
    };
    for (let i = 0; i < 20_000; i++) {
      const len = Math.floor(rnd() * 6);
      let prefix = '';
      for (let j = 0; j < len; j++) prefix += alphabet[Math.floor(rnd() * alphabet.length)];
      const tails = ['.example.io', '.Example.io.', '.example.io:80', 'example.io', '.portal.example.io', ''];
      const h = prefix + tails[Math.floor(rnd() * tails.length)]!;
      const got = routeHost(h, opts);
      const simple = got.kind === 'device' ? `device:${got.serial}` : got.kind === 'portal' ? 'portal' : 'other';
      expect(simple, `host ${JSON.stringify(h)}`).toBe(naive(h));
    }
  });
});

describe('parseHostHeader', () => {
  it('keeps IPv6 literals whole', () => {
    expect(parseHostHeader('[2001:db8::1]:443')).toEqual({ host: '[2001:db8::1]', port: '443' });
    expect(parseHostHeader('[2001:db8::1')).toBeUndefined();
  });
});
