// Translates driver errors (postgres.js PostgresError, PGlite DatabaseError, both wrapped by drizzle's
// DrizzleQueryError) into the typed domain errors, so nobody above the db layer inspects SQL codes.
// Messages never echo the driver's text: it can contain query parameters (hashes, e-mail addresses).
import { ConflictError, DomainError, NotFoundError, UnavailableError, ValidationError } from './errors.js';

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

/** Per-constraint domain errors, e.g. `{ devices_serial_unique: () => new ConflictError('…') }`. */
export type ConstraintMessages = Record<string, () => DomainError>;

/** Maps a driver error to a domain error; anything unrecognised is returned unchanged (→ 500). */
export function translateDbError(err: unknown, messages: ConstraintMessages = {}): unknown {
  if (err instanceof DomainError) return err;
  const info = pgErrorInfo(err);
  if (!info) return err;
  const specific = info.constraint ? messages[info.constraint] : undefined;
  if (specific) {
    const domain = specific();
    return Object.assign(domain, { cause: err });
  }
  const where = info.constraint ? ` (${info.constraint})` : '';
  switch (info.code) {
    case '23505':
      return new ConflictError(`conflicts with an existing record${where}`, { cause: err });
    case '23503':
      return new NotFoundError(`refers to a record that does not exist${where}`, { cause: err });
    case '23514':
    case '23502':
    case '22P02':
    case '22001':
    case '22003':
    case '22021': // character_not_in_repertoire: a NUL byte in text (found by the hub fuzzer: 500 before)
    case '22P05': // untranslatable_character
      return new ValidationError(`value out of range or malformed${where}`, { cause: err });
    case '40001':
    case '40P01':
      return new UnavailableError('the database was busy; retry the request', { cause: err });
  }
  if (UNAVAILABLE_CODES.has(info.code) || info.code.startsWith('08')) {
    return new UnavailableError('the database is unavailable; retry later', { cause: err });
  }
  return err;
}

/** Runs `fn`, rethrowing driver errors as domain errors. */
export async function withDbErrors<T>(fn: () => Promise<T>, messages: ConstraintMessages = {}): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translateDbError(err, messages);
  }
}
