// Secret redaction for log records, applied before pino serialises anything. Two nets: values under
// credential-like field names are replaced whole, and every string (messages, nested values, error
// messages) is scrubbed of credential-shaped text, so `log.warn(`login failed: ${err.message}`)`
// cannot leak a token or a database password (headscale CVE-2023-47390 class).

export type LogFields = Record<string, unknown>;

export const REDACTED = '[redacted]';

/** Field names never written as given: anything that may hold a credential. */
const SECRET_KEY_RE = /pass(word|wd|phrase)?|pwd|secret|token|ticket|cookie|authorization|private|preshared|credential|session|api[-_]?key/i;

/**
 * Credential-shaped text inside strings, each with what stays visible. Order matters: a PEM block
 * goes before anything could match inside it.
 */
const SCRUBBERS: Array<[RegExp, string]> = [
  // PEM private keys (PKCS#8, RSA, EC, OpenSSH), also when cut off before the END line.
  [/-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g, '[redacted private key]'],
  // The hub's bearer secrets: `ph_api_…`, `ph_ses_…`, `ph_enr_…`, `ph_poll_…` (the display prefix
  // of 4 characters that lists show stays readable).
  [/\b(ph_[a-z]{2,8}_)[A-Za-z0-9_-]{5,}/g, `$1${REDACTED}`],
  // URL user info with a password: postgres://user:pw@host, https://user:pw@proxy.
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*):[^\s/?#@]*@/gi, `$1:${REDACTED}@`],
  // HTTP credentials as they appear in header dumps or messages.
  [/\b(bearer|basic|digest)\s+[A-Za-z0-9._~+/-]{6,}=*/gi, `$1 ${REDACTED}`],
  [/\b((?:set-)?cookie|(?:proxy-)?authorization)\s*:\s*[^\r\n]*/gi, `$1: ${REDACTED}`],
  // Our cookies in a Cookie header or a Set-Cookie value.
  [/\b((?:__Host-|__Secure-)?porthole_[A-Za-z0-9_]+)=[^;\s,]+/g, `$1=${REDACTED}`],
  // key=value and "key": "value" pairs whose key names a credential (query strings, form bodies,
  // connection strings, a WireGuard config's `PrivateKey = …`, JSON echoed into an error message).
  [
    /\b([A-Za-z0-9_-]*(?:pass(?:word|wd|phrase)?|pwd|secret|token|ticket|api[_-]?key|private[_-]?key|preshared[_-]?key)[A-Za-z0-9_-]*)(["']?\s*[:=]\s*["']?)(?!\[redacted\])[^\s&;,"'}]+/gi,
    `$1$2${REDACTED}`,
  ],
];

/** Cheap pre-check: strings without any of these words skip the scrubbers. */
const MAYBE_SECRET_RE = /ph_|:\/\/|bearer|basic|digest|cookie|authoriz|private|preshared|porthole_|pass|pwd|secret|token|ticket|api.?key/i;

const MAX_STRING = 2048;
const MAX_DEPTH = 4;
const MAX_ARRAY = 50;

/** Replaces credential-shaped text in `text`; strings without any stay the same object. */
export function scrubString(text: string): string {
  // A long string is cut before scrubbing (regexes over megabytes are slow) but after more than
  // what is kept, so a secret that straddles the cut is still recognised by its prefix.
  let s = text.length > MAX_STRING * 4 ? text.slice(0, MAX_STRING * 4) : text;
  if (MAYBE_SECRET_RE.test(s)) for (const [re, replacement] of SCRUBBERS) s = s.replace(re, replacement);
  return s.length > MAX_STRING ? `${s.slice(0, MAX_STRING)}…` : s;
}

/**
 * Names that only refer to a credential (`tokenId`, `tokenPrefix`, `sessionCount`, `tokenExpiresAt`)
 * stay readable: audit lines need them, and a credential passed there by mistake is still caught
 * by the scrubbers when it has a recognisable shape. Not for sessions and cookies, whose ids may be
 * the credential itself.
 */
const REFERENCE_KEY_RE = /(?:Id|Ids|Count|Prefix|At)$/;
const NEVER_REFERENCE_RE = /session|cookie/i;

function isSecretKey(key: string): boolean {
  return SECRET_KEY_RE.test(key) && !(REFERENCE_KEY_RE.test(key) && !NEVER_REFERENCE_RE.test(key));
}

/** An Error as a plain object: name, scrubbed message and the errno code; never the stack. */
function errorFields(err: Error, depth: number): LogFields {
  const out: LogFields = { name: err.name, message: scrubString(err.message) };
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined) out.code = typeof code === 'string' ? scrubString(code) : code;
  if (err.cause !== undefined && depth < MAX_DEPTH) out.cause = cleanValue(err.cause, depth + 1);
  return out;
}

/** One value made safe to log: scrubbed, bounded in size and depth, JSON-serialisable. */
export function cleanValue(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return value;
  switch (typeof value) {
    case 'string':
      return scrubString(value);
    case 'number':
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (value instanceof Error) return errorFields(value, depth);
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (depth >= MAX_DEPTH) return '[…]';
  if (Array.isArray(value)) return value.slice(0, MAX_ARRAY).map((v) => cleanValue(v, depth + 1));
  if (value instanceof Map) return redactFields(Object.fromEntries(value), depth + 1);
  if (value instanceof Set) return [...value].slice(0, MAX_ARRAY).map((v) => cleanValue(v, depth + 1));
  return redactFields(value as LogFields, depth + 1);
}

/**
 * Copies `fields` for logging: values under credential-like keys become "[redacted]" (booleans and
 * absent values stay: `hasToken: true` says nothing), every other value goes through cleanValue.
 */
export function redactFields(fields: LogFields, depth = 0): LogFields {
  const out: LogFields = {};
  for (const key of Object.keys(fields)) {
    const v = fields[key];
    out[key] = isSecretKey(key) && v !== undefined && v !== null && typeof v !== 'boolean' ? REDACTED : cleanValue(v, depth);
  }
  return out;
}
