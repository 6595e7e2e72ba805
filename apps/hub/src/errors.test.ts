// What a database error means as a domain error: the db layer's meaning (kind, constraint) picks the
// class, a per-constraint message wins, the driver's own text never reaches the message, and
// anything that is not a driver error passes through unchanged (it becomes a 500).
import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, translateDbError, UnavailableError, ValidationError, withDbErrors } from './errors.js';

/** A driver error as postgres.js or PGlite raise it, wrapped the way drizzle wraps it. */
function driverError(code: string, constraint?: string): Error {
  const pg = Object.assign(new Error('duplicate key value violates unique constraint, Key (email)=(a@example.io)'), { code, constraint_name: constraint });
  return new Error('Failed query: insert into "users" …', { cause: pg });
}

describe('translateDbError', () => {
  it.each([
    ['23505', ConflictError, 'conflicts with an existing record (users_email_unique)'],
    ['23503', NotFoundError, 'refers to a record that does not exist (users_email_unique)'],
    ['23514', ValidationError, 'value out of range or malformed (users_email_unique)'],
    ['40001', UnavailableError, 'the database was busy; retry the request'],
    ['57P01', UnavailableError, 'the database is unavailable; retry later'],
    ['08006', UnavailableError, 'the database is unavailable; retry later'],
  ])('SQLSTATE %s is a %o', (code, type, message) => {
    const err = driverError(code, 'users_email_unique');
    const domain = translateDbError(err);
    expect(domain).toBeInstanceOf(type);
    expect((domain as Error).message).toBe(message);
    expect((domain as Error).cause).toBe(err);
  });

  it('a per-constraint message wins, and the driver text stays out of it', async () => {
    const err = driverError('23505', 'users_email_unique');
    const domain = await withDbErrors(() => Promise.reject(err), {
      users_email_unique: () => new ConflictError('an account with this e-mail address exists', { field: 'email' }),
    }).catch((e: unknown) => e);
    expect(domain).toBeInstanceOf(ConflictError);
    expect(domain).toMatchObject({ field: 'email', message: 'an account with this e-mail address exists', cause: err });
    expect((translateDbError(err) as Error).message).not.toContain('a@example.io');
  });

  it('passes domain errors, unknown SQL states and other errors through unchanged', () => {
    const domain = new NotFoundError('device an1 does not exist');
    expect(translateDbError(domain)).toBe(domain);
    const unknown = driverError('XX000');
    expect(translateDbError(unknown)).toBe(unknown);
    const plain = new TypeError('a bug');
    expect(translateDbError(plain)).toBe(plain);
  });
});
