import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { ReplaceStream, Replacements, rewriteLocation, rewriteSetCookie, targetOrigins } from './rewrite.js';

describe('rewriteLocation', () => {
  const target = new URL('http://10.11.120.2:8080');
  const pub = 'https://an12345678.example.io';
  it.each([
    ['http://10.11.120.2:8080/a?b=1#c', `${pub}/a?b=1#c`],
    ['https://10.11.120.2/secure', `${pub}/secure`], // device upgrades itself to https
    ['http://10.11.120.2:9999/other-port', 'http://10.11.120.2:9999/other-port'],
    ['http://192.168.1.1/', 'http://192.168.1.1/'],
    ['/relative', '/relative'],
    ['https://portal.example.io/x', 'https://portal.example.io/x'],
  ])('%s → %s', (input, expected) => {
    expect(rewriteLocation(input, target, pub)).toBe(expected);
  });
  it('treats the default port as equal to no port', () => {
    expect(rewriteLocation('http://10.0.0.5:80/x', new URL('http://10.0.0.5'), pub)).toBe(`${pub}/x`);
    expect(targetOrigins(new URL('http://10.0.0.5'))).toEqual(['http://10.0.0.5', 'http://10.0.0.5:80']);
    expect(targetOrigins(new URL('https://10.0.0.5:8443'))).toEqual(['https://10.0.0.5:8443']);
  });
});

describe('rewriteSetCookie', () => {
  it('drops a Domain naming the target, keeps others', () => {
    const t = new URL('http://10.11.120.2');
    expect(rewriteSetCookie('sid=1; Path=/; Domain=10.11.120.2; HttpOnly', t)).toBe('sid=1; Path=/; HttpOnly');
    expect(rewriteSetCookie('sid=1; domain=.example.io', t)).toBe('sid=1; domain=.example.io');
  });
});

describe('ReplaceStream', () => {
  const input = 'a <a href="http://10.0.0.5/x">x</a> http://10.0.0.5:80/y http://10.0.0.5 end http://10.0.0';
  const expected = 'a <a href="https://pub.io/x">x</a> https://pub.io/y https://pub.io end http://10.0.0';
  const pairs: Array<[string, string]> = targetOrigins(new URL('http://10.0.0.5')).map((o) => [o, 'https://pub.io']);

  it('replaces needles split at every possible chunk boundary', async () => {
    for (let cut = 0; cut <= input.length; cut++) {
      for (const second of [cut, Math.min(input.length, cut + 3)]) {
        const chunks = [input.slice(0, cut), input.slice(cut, second), input.slice(second)].map((s) => Buffer.from(s));
        const out = await text(Readable.from(chunks).pipe(new ReplaceStream(pairs)));
        expect(out, `cut at ${cut}/${second}`).toBe(expected);
      }
    }
  });

  it('works one byte at a time', async () => {
    const out = await text(Readable.from([...Buffer.from(input)].map((b) => Buffer.from([b]))).pipe(new ReplaceStream(pairs)));
    expect(out).toBe(expected);
  });
});

describe('Replacements', () => {
  const replacements = new Replacements(targetOrigins(new URL('http://10.0.0.5')).map((o) => [o, 'https://pub.io']));

  it('replaces every needle of a whole body, the longest form first', () => {
    const out = replacements.replaceAll(Buffer.from('<a href="http://10.0.0.5:80/a">http://10.0.0.5/b</a> http://10.0.0'));
    expect(out.toString()).toBe('<a href="https://pub.io/a">https://pub.io/b</a> http://10.0.0');
  });

  it('returns a body without needles as it is', () => {
    const body = Buffer.from('<p>no self-links here</p>');
    expect(replacements.replaceAll(body)).toBe(body);
  });
});
