// Bearer secrets (API, enrollment, session, poll tokens): 256 random bits, base64url, behind a type
// prefix so secret scanners and humans recognise them (`ph_api_…`). Stored only as SHA-256 hex: a
// fast hash suffices for high-entropy tokens; lookups go by hash, so no plaintext comparison exists.
import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_PREFIXES = {
  api: 'ph_api_',
  enrollment: 'ph_enr_',
  session: 'ph_ses_',
  poll: 'ph_poll_',
  link: 'ph_link_',
} as const;
export type TokenKind = keyof typeof TOKEN_PREFIXES;

export interface NewToken {
  /** Shown to the user once, never stored. */
  plaintext: string;
  /** SHA-256 hex of the plaintext: what the database keeps. */
  hash: string;
  /** Prefix plus 4 characters, safe to list. */
  displayPrefix: string;
}

export function generateToken(kind: TokenKind): NewToken {
  const plaintext = `${TOKEN_PREFIXES[kind]}${randomBytes(32).toString('base64url')}`;
  return { plaintext, hash: hashToken(plaintext), displayPrefix: plaintext.slice(0, TOKEN_PREFIXES[kind].length + 4) };
}

export function hashToken(plaintext: string): string {
  return createHash('sha256').update(plaintext).digest('hex');
}

/** True when `value` has the shape of a token of `kind` (cheap pre-check before any lookup). */
export function looksLikeToken(kind: TokenKind, value: string): boolean {
  const prefix = TOKEN_PREFIXES[kind];
  return value.length === prefix.length + 43 && value.startsWith(prefix) && /^[A-Za-z0-9_-]{43}$/.test(value.slice(prefix.length));
}
