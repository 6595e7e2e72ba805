// Translates driver errors (postgres.js PostgresError, PGlite DatabaseError, both wrapped by drizzle's
// DrizzleQueryError) into what they mean for the data (a unique violation is a conflict, a lost
// connection means unavailable), so nobody above the db layer inspects SQL codes. Which domain error
// that is, and its message, is the app's business (apps/hub/src/errors.ts); the driver's text is
// never passed on: it can contain query parameters (hashes, e-mail addresses).

export interface PgErrorInfo {
  /** SQLSTATE (e.g. 23505) or a driver/socket code (ECONNREFUSED, CONNECTION_ENDED). */
  code: string;
  constraint?: string;
}

/** SQLSTATE classes and driver codes that mean "the database is not there right now". */
const UNAVAILABLE_CODES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

/** The SQLSTATE and constraint of a driver error, looking through wrapper `cause`s. */
export function pgErrorInfo(err: unknown): PgErrorInfo | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const candidate = e as { code?: unknown; constraint?: unknown; constraint_name?: unknown };
    if (typeof candidate.code === 'string') {
      const constraint = candidate.constraint_name ?? candidate.constraint;
      return typeof constraint === 'string' ? { code: candidate.code, constraint } : { code: candidate.code };
    }
  }
  return undefined;
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const info = pgErrorInfo(err);
  return info?.code === '23505' && (constraint === undefined || info.constraint === constraint);
}

/** Serialization failure or deadlock: the whole transaction may simply be retried. */
export function isRetryableTransactionError(err: unknown): boolean {
  const code = pgErrorInfo(err)?.code;
  return code === '40001' || code === '40P01';
}

/**
 * What a driver error means for the data: `conflict` (unique violation), `missing_reference`
 * (foreign key), `invalid_value` (check, not-null, malformed or out-of-range value), `busy`
 * (serialization failure or deadlock: retry the transaction) or `unavailable` (the database cannot
 * be reached or is shutting down).
 */
export type DbErrorKind = 'conflict' | 'missing_reference' | 'invalid_value' | 'busy' | 'unavailable';

export interface DbErrorMeaning {
  /** Undefined for a driver error that means none of the kinds (a bug: answer 500). */
  kind: DbErrorKind | undefined;
  /** The constraint the statement violated, for a per-constraint message. */
  constraint?: string;
}

function kindOf(code: string): DbErrorKind | undefined {
  switch (code) {
    case '23505':
      return 'conflict';
    case '23503':
      return 'missing_reference';
    case '23514':
    case '23502':
    case '22P02':
    case '22001':
    case '22003':
    case '22021': // character_not_in_repertoire: a NUL byte in text (found by the hub fuzzer: 500 before)
    case '22P05': // untranslatable_character
      return 'invalid_value';
    case '40001':
    case '40P01':
      return 'busy';
  }
  return UNAVAILABLE_CODES.has(code) || code.startsWith('08') ? 'unavailable' : undefined;
}

/** What `err` means if it is a driver error (looking through wrapper `cause`s); undefined otherwise. */
export function dbErrorMeaning(err: unknown): DbErrorMeaning | undefined {
  const info = pgErrorInfo(err);
  if (!info) return undefined;
  const kind = kindOf(info.code);
  return info.constraint ? { kind, constraint: info.constraint } : { kind };
}
