import { describe, expect, it } from 'vitest';
import { canonicalEmail, emailLookupForms, emailProblem, normalizeEmail } from './email-address.js';

describe('canonicalEmail', () => {
  it.each([
    ['  Anna@Example.IO ', 'anna@example.io'],
    ['ＡＮＮＡ@example.io', 'anna@example.io'], // lookups fold full-width forms onto the plain account
    ['jose\u0301@example.io', 'jos\u00e9@example.io'], // combining accent composed
  ])('%j → %j', (input, expected) => expect(canonicalEmail(input)).toBe(expected));

  it('looks up the typed (legacy) form first, then the canonical one', () => {
    expect(emailLookupForms(' ａnna@Example.io')).toEqual(['ａnna@example.io', 'anna@example.io']);
    expect(emailLookupForms('anna@example.io')).toEqual(['anna@example.io']);
  });
});

describe('emailProblem: look-alikes are refused, ordinary addresses pass', () => {
  it.each([
    'anna@example.io',
    'Anna.Berg+meters@Example.IO',
    ' anna@example.io ',
    'иван@example.ru', // one script (Cyrillic) with letters that do not all imitate Latin
    'δημήτρης@example.gr',
    'josé@example.io',
    'jos\u0065\u0301@example.io', // decomposed accent: NFKC only composes it
    '田中taro@example.jp', // Latin + Han: a mix Japanese writing needs
    'user@xn--mnchen-3ya.de', // münchen.de
    'a1-b_2@sub-domain.example.io',
  ])('%j is accepted', (input) => expect(emailProblem(input)).toBeUndefined());

  it.each([
    ['pаypal@example.io', /mixes letters of Cyrillic and Latin/], // Cyrillic а among Latin
    ['paypal@exаmple.io', /domain must be letters/], // Unicode in the domain
    ['admin@xn--80ak6aa92e.com', /Cyrillic letters that look like Latin/], // аррӏе.com
    ['admin@xn--pple-43d.com', /mixes letters of Cyrillic and Latin/], // аpple.com, one Cyrillic а
    ['αdmin@example.io', /mixes letters of Greek and Latin/],
    ['аре@example.io', /Cyrillic letters that look like Latin/], // all Cyrillic, reads as "ape"
    ['ｐaypal@example.io', /full-width/],
    ['ＡＤＭＩＮ@example.io', /full-width/],
    ['oﬃce@example.io', /full-width|compatibility/], // ligature
    ['adm\u200bin@example.io', /invisible/], // zero-width space
    ['admin\u202e@example.io', /invisible/], // bidi override
    ['ad min@example.io', /spaces/],
    ['admin@@example.io', /e-mail address/],
    ['admin', /e-mail address/],
    ['@example.io', /e-mail address/],
    ['"admin"@example.io', /e-mail address/],
    ['admin@example..io', /domain/],
    ['admin@xn--zz.io', /punycode/],
    [`${'a'.repeat(65)}@example.io`, /e-mail address/],
    [`a@${Array.from({ length: 5 }, () => 'b'.repeat(60)).join('.')}.io`, /at most 254/],
    ['pay٣al@example.io', /mixes letters of Arabic and Latin/], // an Arabic-Indic digit among Latin letters
  ])('%j is refused (%s)', (input, why) => {
    expect(emailProblem(input)).toMatch(why);
    expect(() => normalizeEmail(input)).toThrow(why);
  });
});
