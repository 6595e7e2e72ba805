// The hub's typed domain errors: what the registry, the portal, the API and sign-in throw, each with
// a stable `code` (part of the API contract: clients branch on it), a message naming the field and
// value, and a `cause`. http/error-response.ts maps them to a status and `{ error: { code, message,
// field? } }` in exactly one place. translateDbError says which of them a database error means: the
// db layer has already told what the driver's SQL code means (@porthole/db's dbErrorMeaning).
import { dbErrorMeaning } from '@porthole/db';

export interface DomainErrorOptions {
  /** The request field the error is about, e.g. "serial". */
  field?: string;
  cause?: unknown;
}

export abstract class DomainError extends Error {
  /** Stable machine-readable code, e.g. "not_found". Part of the API contract. */
  abstract readonly code: string;
  readonly field: string | undefined;

  constructor(message: string, options: DomainErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.field = options.field;
  }
}

/** The base of an error whose code is always `code`. */
function withCode(code: string) {
  return class extends DomainError {
    readonly code: string = code;
  };
}

/** The thing named does not exist (or the caller may not know that it does). */
export class NotFoundError extends withCode('not_found') {}

/** The request contradicts existing state: a duplicate serial, a key in use, a used-up token. */
export class ConflictError extends withCode('conflict') {}

/** The input is malformed or out of range. `field` names the offending field. */
export class ValidationError extends withCode('invalid_request') {}

/** No valid credentials were presented. */
export class UnauthorizedError extends withCode('unauthorized') {}

/** Valid credentials, but not allowed to do this. */
export class ForbiddenError extends withCode('forbidden') {}

/** Too many attempts; `retryAfterSeconds` tells the client when to try again. */
export class RateLimitedError extends withCode('rate_limited') {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options: DomainErrorOptions = {},
  ) {
    super(message, options);
  }
}

/** A dependency (the database) is unreachable; the request may succeed later. */
export class UnavailableError extends withCode('unavailable') {}

/** Per-constraint domain errors, e.g. `{ devices_serial_unique: () => new ConflictError('…') }`. */
export type ConstraintMessages = Record<string, () => DomainError>;

/** The domain error a database error means; anything else is returned unchanged (→ 500). */
export function translateDbError(err: unknown, messages: ConstraintMessages = {}): unknown {
  if (err instanceof DomainError) return err;
  const meaning = dbErrorMeaning(err);
  if (!meaning) return err;
  const specific = meaning.constraint ? messages[meaning.constraint] : undefined;
  if (specific) return Object.assign(specific(), { cause: err });
  const where = meaning.constraint ? ` (${meaning.constraint})` : '';
  switch (meaning.kind) {
    case 'conflict':
      return new ConflictError(`conflicts with an existing record${where}`, { cause: err });
    case 'missing_reference':
      return new NotFoundError(`refers to a record that does not exist${where}`, { cause: err });
    case 'invalid_value':
      return new ValidationError(`value out of range or malformed${where}`, { cause: err });
    case 'busy':
      return new UnavailableError('the database was busy; retry the request', { cause: err });
    case 'unavailable':
      return new UnavailableError('the database is unavailable; retry later', { cause: err });
  }
  return err;
}

/** Runs `fn`, rethrowing database errors as the domain errors they mean. */
export async function withDbErrors<T>(fn: () => Promise<T>, messages: ConstraintMessages = {}): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translateDbError(err, messages);
  }
}
