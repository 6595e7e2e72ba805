// The one place where the hub maps errors to HTTP: typed domain errors become their status and
// `{ error: { code, message, field? } }`; anything else is a 500 whose details stay in the log.
import type { ErrorBody } from '@porthole/api-contract';
import {
  ConflictError,
  DomainError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  translateDbError,
  UnauthorizedError,
  UnavailableError,
  ValidationError,
} from '../errors.js';

/** An error raised by the HTTP layer itself (body too large, unsupported media type…). */
export class HttpError extends DomainError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options: { field?: string; cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/**
 * A driver error that escaped the registry untranslated (the connection dropped mid-request) as
 * the domain error it means: a database outage answers 503 "the database is unavailable", not 500.
 */
export function domainErrorOf(err: unknown): unknown {
  return err instanceof DomainError ? err : translateDbError(err);
}

export function errorStatus(error: unknown): number {
  const err = domainErrorOf(error);
  if (err instanceof HttpError) return err.status;
  if (err instanceof ValidationError) return 400;
  if (err instanceof UnauthorizedError) return 401;
  if (err instanceof ForbiddenError) return 403;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ConflictError) return 409;
  if (err instanceof RateLimitedError) return 429;
  if (err instanceof UnavailableError) return 503;
  return 500;
}

export function errorBody(error: unknown): ErrorBody {
  const err = domainErrorOf(error);
  if (err instanceof DomainError) {
    const body: ErrorBody = { error: { code: err.code, message: err.message } };
    if (err.field !== undefined) body.error.field = err.field;
    return body;
  }
  return { error: { code: 'internal', message: 'Internal server error' } };
}

/**
 * Extra response headers an error implies (Retry-After for rate limits, WWW-Authenticate for 401).
 * A 413 closes the connection: the unread rest of the body is then never pulled off the wire,
 * where keep-alive would have the server read and discard all of it first.
 */
export function errorHeaders(err: unknown): Record<string, string> {
  if (err instanceof HttpError && err.status === 413) return { connection: 'close' };
  if (err instanceof RateLimitedError) return { 'retry-after': String(Math.max(1, Math.ceil(err.retryAfterSeconds))) };
  if (err instanceof UnauthorizedError) return { 'www-authenticate': 'Bearer realm="porthole"' };
  return {};
}

/** A complete JSON Response for an error; used by every hono app's onError. */
export function errorResponse(err: unknown): Response {
  return new Response(JSON.stringify(errorBody(err)), {
    status: errorStatus(err),
    headers: { 'content-type': 'application/json; charset=utf-8', ...errorHeaders(err) },
  });
}
