// The fuzzer's seeded random source (the shared mulberry32 from @porthole/wireguard/testing) and the
// junk it draws from: strings and JSON values that have broken parsers and validators before.
import { seededRandom } from '@porthole/wireguard/testing';

export interface Random {
  next(): number;
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

/** The shared seeded PRNG (mulberry32): the same sequence for the same seed everywhere. */
export function createRandom(seed: number): Random {
  const next = seededRandom(seed);
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (items) => items[Math.floor(next() * items.length)]!,
    chance: (p) => next() < p,
  };
}

const JUNK = [
  '', ' ', 'a', '0', '-1', '1e309', 'null', 'true', '{}', '[]', '../../etc/passwd', '%00', '%2e%2e%2f', "' or 1=1 --", '<script>', '\u0000', '\r\n',
  '\u202e', '\ufeff', 'ｆｕｌｌ', 'pаypal@example.io', '😀', 'é', '\ud800', 'ph_api_' + 'x'.repeat(43), 'ph_ses_' + 'A'.repeat(43), 'ph_enr_' + 'B'.repeat(43),
  'ph_poll_' + 'C'.repeat(43), 'BCDF-GHJK', 'an12345678', '//evil.example', '/.//evil.example', 'javascript:alert(1)', 'x'.repeat(300), '00000000-0000-4000-8000-000000000000',
];

export function junkString(r: Random): string {
  switch (r.int(4)) {
    case 0:
      return r.pick(JUNK);
    case 1:
      return Array.from({ length: r.int(40) }, () => String.fromCharCode(32 + r.int(95))).join('');
    case 2:
      return Array.from({ length: r.int(12) }, () => String.fromCodePoint(r.chance(0.1) ? 0x10000 + r.int(0xfff) : r.int(0x3000))).join('');
    default:
      return r.pick(JUNK) + r.pick(JUNK);
  }
}

export function junkValue(r: Random, depth = 0): unknown {
  switch (r.int(depth > 3 ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick([0, -1, 1.5, 2 ** 53, -(2 ** 31), 1e308, 61, 1_000_000]);
    case 3:
    case 4:
      return junkString(r);
    case 5:
      return Array.from({ length: r.int(4) }, () => junkValue(r, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: r.int(4) }, () => [junkString(r).slice(0, 20), junkValue(r, depth + 1)]));
  }
}

/** encodeURIComponent for junk: lone surrogates become U+FFFD first (they have no UTF-8 form). */
export function enc(s: string): string {
  return encodeURIComponent(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));
}
