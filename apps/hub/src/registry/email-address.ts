// E-mail addresses as account names: one canonical form (trimmed, NFKC, lowercase) for storage and
// lookup, and a rule that refuses look-alikes of other addresses when an address is first named
// (sign-up, admin bootstrap, grants). The rule, after UTS #39's "highly restrictive" level:
//   1. No invisible, control, format (zero-width, bidi), private-use, unassigned or space
//      characters anywhere; exactly one `@`; local part 1-64, whole address at most 254 characters.
//   2. NFKC must not change it beyond composing accents: full-width letters (`ａ`), ligatures
//      (`ﬁ`), superscripts and other compatibility forms are refused rather than silently folded.
//   3. The domain is ASCII letters, digits and hyphens (IDNs in their `xn--` form); each label,
//      decoded from punycode, obeys rule 4.
//   4. The local part and each domain label use one script, apart from digits and punctuation,
//      or one of the mixes Japanese, Chinese and Korean writing needs with Latin (Latin + Han +
//      Hiragana + Katakana, Latin + Han + Bopomofo, Latin + Han + Hangul). Cyrillic or Greek
//      letters among Latin ones (`pаypal`, with a Cyrillic а) are refused.
//   5. A Cyrillic, Greek or Armenian part made only of letters that look like Latin letters
//      (`аре`, `сосо` in Cyrillic) is refused: it reads as a Latin name it is not.
// Rows stored before this rule were only trimmed and lowercased; lookups try both forms so those
// accounts keep working.
import { domainToUnicode } from 'node:url';
import { ValidationError } from '../errors.js';

export const MAX_EMAIL_LENGTH = 254;

/** The stored form: trimmed, NFKC, lowercased (NFKC again: case mapping can leave a form unnormalised). */
export function canonicalEmail(input: string): string {
  return input.trim().normalize('NFKC').toLowerCase().normalize('NFKC');
}

/** How rows were stored before canonical forms: trimmed and lowercased only. */
export function legacyEmail(input: string): string {
  return input.trim().toLowerCase();
}

/**
 * The forms an existing account named by `input` may be stored under, the typed one first; none for
 * input no account can have (control characters, which PostgreSQL would refuse to compare anyway).
 */
export function emailLookupForms(input: string): string[] {
  if (/[\u0000-\u001f\u007f]/.test(input)) return [];
  return [...new Set([legacyEmail(input), canonicalEmail(input)])].filter((e) => e.length > 0 && e.length <= MAX_EMAIL_LENGTH * 4);
}

const SCRIPTS = [
  'Latin', 'Greek', 'Cyrillic', 'Armenian', 'Georgian', 'Hebrew', 'Arabic', 'Syriac', 'Thaana', 'Devanagari', 'Bengali',
  'Gurmukhi', 'Gujarati', 'Tamil', 'Telugu', 'Kannada', 'Malayalam', 'Sinhala', 'Thai', 'Lao', 'Tibetan', 'Myanmar',
  'Ethiopic', 'Cherokee', 'Khmer', 'Mongolian', 'Han', 'Hiragana', 'Katakana', 'Bopomofo', 'Hangul',
] as const;
const SCRIPT_RES = SCRIPTS.map((name) => [name, new RegExp(`^\\p{Script=${name}}$`, 'u'), new RegExp(`^\\p{Script_Extensions=${name}}$`, 'u')] as const);

/** Scripts that may share a label with Latin (UTS #39 "highly restrictive"). */
const ALLOWED_MIXES: readonly (readonly string[])[] = [
  ['Latin', 'Han', 'Hiragana', 'Katakana'],
  ['Latin', 'Han', 'Bopomofo'],
  ['Latin', 'Han', 'Hangul'],
];

/** Lowercase letters of other scripts that render like Latin ones (from UTS #39 confusables). */
const LATIN_LOOKALIKES = new Set([
  // Cyrillic
  ...'аеорсухіјѕһԁԛԝӏкԍ',
  // Greek
  ...'αεικνορτυχϲϳ',
  // Armenian
  ...'օսոհցզ',
]);

/** The script of a letter or digit; undefined for punctuation, marks and ASCII digits (they go with any script). */
function scriptOf(ch: string): string | undefined {
  if (!/^[\p{L}\p{N}]$/u.test(ch) || /^[0-9]$/.test(ch)) return undefined;
  for (const [name, re] of SCRIPT_RES) if (re.test(ch)) return name;
  // Digits of other writing systems are Script=Common; their Script_Extensions name the script.
  for (const [name, , scx] of SCRIPT_RES) if (scx.test(ch)) return name;
  return 'Other';
}

/** Why one part (the local part, or a domain label) mixes scripts or imitates Latin; undefined if fine. */
function partProblem(part: string, what: string): string | undefined {
  const scripts = new Set<string>();
  for (const ch of part) {
    const script = scriptOf(ch);
    if (script) scripts.add(script);
  }
  if (scripts.size > 1 && !ALLOWED_MIXES.some((mix) => [...scripts].every((s) => mix.includes(s)))) {
    return `${what} mixes letters of ${[...scripts].sort().join(' and ')}, which makes it look like another address`;
  }
  const [only] = scripts;
  if (scripts.size === 1 && (only === 'Cyrillic' || only === 'Greek' || only === 'Armenian')) {
    const letters = [...part].filter((ch) => scriptOf(ch) !== undefined);
    if (letters.every((ch) => LATIN_LOOKALIKES.has(ch))) return `${what} is written in ${only} letters that look like Latin ones`;
  }
  return undefined;
}

const LOCAL_FORBIDDEN = /["<>()[\]\\,;:@]/;
const DOMAIN_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Why `input` cannot name a new account or grant (rules in the file header), or undefined. The
 * message names the rule, never whether an account exists.
 */
export function emailProblem(input: string): string | undefined {
  const trimmed = input.trim();
  if (trimmed.length === 0) return 'email must not be empty';
  if (/[\p{C}\p{Z}]/u.test(trimmed)) return 'email must not contain spaces, invisible or control characters';
  if (trimmed.normalize('NFKC') !== trimmed.normalize('NFC')) {
    return 'email contains full-width letters, ligatures or other compatibility characters; type it with ordinary letters';
  }
  const email = canonicalEmail(trimmed);
  if (email.length > MAX_EMAIL_LENGTH) return `email must have at most ${MAX_EMAIL_LENGTH} characters`;
  const at = email.indexOf('@');
  if (at < 0 || email.indexOf('@', at + 1) >= 0) return 'email must be an e-mail address (name@example.com)';
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.length === 0 || local.length > 64 || LOCAL_FORBIDDEN.test(local)) return 'email must be an e-mail address (name@example.com)';
  const labels = domain.split('.');
  if (labels.some((l) => !DOMAIN_LABEL.test(l))) {
    return 'email: the domain must be letters, digits and hyphens (write an international domain in its xn-- form)';
  }
  const localProblem = partProblem(local, 'the part before @');
  if (localProblem) return `email: ${localProblem}`;
  for (const label of labels) {
    if (!label.startsWith('xn--')) continue;
    const decoded = domainToUnicode(label);
    if (decoded === '' || decoded === label) return `email: the domain label ${label} is not valid punycode`;
    const problem = partProblem(decoded, `the domain label ${decoded}`);
    if (problem) return `email: ${problem}`;
  }
  return undefined;
}

/** The canonical form of an address that may name a new account or grant; ValidationError otherwise. */
export function normalizeEmail(input: string): string {
  const problem = emailProblem(input);
  if (problem) throw new ValidationError(problem, { field: 'email' });
  return canonicalEmail(input);
}
