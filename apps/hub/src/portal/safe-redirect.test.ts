// The post-login `next` check against a corpus of tricks (each one a way some parser, browser or
// proxy turns a path into another host), plus a seeded random search: whatever goes in, what comes
// out resolves to the portal's own host when a browser follows it, and is stable under re-parsing.
import { describe, expect, it } from 'vitest';
import { safeNextPath } from './safe-redirect.js';

const PORTAL = 'https://portal.example.io';

/** Where a browser on the login page goes when it follows `Location: <value>`. */
function followedHost(location: string): string {
  return new URL(location, `${PORTAL}/login`).host;
}

describe('safeNextPath against open-redirect tricks', () => {
  it.each([
    '//evil.example',
    '/.//evil.example', // finding: normalised into //evil.example after the check
    '/./\\evil.example',
    '/%2e//evil.example',
    '/%2E%2E//evil.example',
    '/a/..//evil.example',
    '/a/%2e%2e//evil.example',
    '/..//evil.example',
    '/\\evil.example',
    '/\\/evil.example',
    '/%2f%2fevil.example',
    '/%2F/evil.example',
    '/%5cevil.example',
    '/%5C%5Cevil.example',
    '/\t/evil.example', // URL parsers drop tabs and newlines: //evil.example
    '/\n/evil.example',
    '/\r\n/evil.example',
    '/\u0000/evil.example',
    '\t//evil.example',
    ' //evil.example',
    'https://evil.example',
    'https:/\\evil.example',
    'https:evil.example',
    'http://portal.example.io@evil.example',
    '//portal.example.io@evil.example',
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'data:text/html,<script>1</script>',
    'evil.example',
    '%2f%2fevil.example',
    '%09//evil.example',
    '',
    `/${'a'.repeat(3000)}`,
  ])('%j → /', (input) => {
    expect(safeNextPath(input)).toBe('/');
  });

  it.each([
    ['/claim?code=BCDF-GHJK', '/claim?code=BCDF-GHJK'],
    ['/a/b#frag', '/a/b#frag'],
    ['/devices/an12345678?log=x', '/devices/an12345678?log=x'],
    ['/a/./b/../c', '/a/c'], // normalised, and the normalised form is what is returned
    ['/%09/evil.example', '/%09/evil.example'], // an encoded tab is a path segment on this host
    ['/x//y', '/x//y'],
    ['/a b', '/a%20b'],
  ])('%j → %j (stays on this host)', (input, expected) => {
    expect(safeNextPath(input)).toBe(expected);
    expect(followedHost(safeNextPath(input))).toBe('portal.example.io');
  });

  it('a seeded random search never yields a path that leaves the host', () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
    console.log(`safeNextPath random search: seed ${seed} (rerun with FUZZ_SEED=${seed})`);
    let state = seed >>> 0 || 1;
    const rand = (n: number) => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) % n;
    };
    const pieces = ['/', '//', '\\', '.', '..', '%2e', '%2f', '%5c', '%2F', '\t', '\n', ' ', '@', ':', 'evil.example', 'a', '?', '#', '%', '%09', 'http:', 'javascript:', '\u3002', '\uff0f', '\u2215'];
    for (let i = 0; i < 20_000; i++) {
      let input = rand(4) === 0 ? '' : '/';
      for (let n = rand(8); n >= 0; n--) input += pieces[rand(pieces.length)];
      const out = safeNextPath(input);
      expect(out.startsWith('/'), input).toBe(true);
      expect(followedHost(out), JSON.stringify(input)).toBe('portal.example.io');
      expect(safeNextPath(out), JSON.stringify(input)).toBe(out); // idempotent
    }
  });
});
