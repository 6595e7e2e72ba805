// Form bodies (url-encoded or multipart) read through hono's body cache, with a malformed body
// answered as the client's mistake: undici throws a TypeError for a multipart body it cannot
// parse, which would otherwise surface as a 500 (found by the hub fuzzer).
import type { Context } from 'hono';
import { ValidationError } from '../errors.js';

export async function readFormBody(c: Context, options: { all?: boolean } = {}): Promise<Record<string, unknown>> {
  try {
    return (await c.req.parseBody({ all: options.all ?? false })) as Record<string, unknown>;
  } catch (err) {
    throw new ValidationError('the form could not be read; reload the page and send it again', { cause: err });
  }
}
