// Typed domain errors of the registry. The db layer translates driver errors into these (a unique
// violation becomes ConflictError) so nobody above it inspects SQL codes; each app maps them to
// HTTP status and `{ error: { code, message, field? } }` in exactly one place.

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

/** The thing named does not exist (or the caller may not know that it does). */
export class NotFoundError extends DomainError {
  readonly code: string = 'not_found';
}

/** The request contradicts existing state: a duplicate serial, a key in use, a used-up token. */
export class ConflictError extends DomainError {
  readonly code: string = 'conflict';
}

/** The input is malformed or out of range. `field` names the offending field. */
export class ValidationError extends DomainError {
  readonly code: string = 'invalid_request';
}

/** No valid credentials were presented. */
export class UnauthorizedError extends DomainError {
  readonly code: string = 'unauthorized';
}

/** Valid credentials, but not allowed to do this. */
export class ForbiddenError extends DomainError {
  readonly code: string = 'forbidden';
}

/** Too many attempts; `retryAfterSeconds` tells the client when to try again. */
export class RateLimitedError extends DomainError {
  readonly code: string = 'rate_limited';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options: DomainErrorOptions = {},
  ) {
    super(message, options);
  }
}

/** A dependency (the database) is unreachable; the request may succeed later. */
export class UnavailableError extends DomainError {
  readonly code: string = 'unavailable';
}
