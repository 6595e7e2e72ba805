// Request-body validation with zod: unknown fields refused, every problem named by field, and the
// result turned into the hub's ValidationError so it reaches the client as a 400 in one shape.
import type { z } from 'zod';
import { ValidationError } from '../errors.js';
import { readBodyLimited } from './read-body.js';

/** Validates `value` against a (strict) zod schema; throws ValidationError naming the first bad field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  let path = issue.path.map(String).join('.');
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys?: string[] }).keys ?? [];
    path = [path, keys[0]].filter(Boolean).join('.');
    message = `unknown field${keys.length > 1 ? 's' : ''}: ${keys.join(', ')}`;
  }
  const where = path === '' ? 'request body' : path;
  throw new ValidationError(`${where}: ${message}`, path === '' ? {} : { field: path });
}

/**
 * Reads a JSON request body, refusing non-JSON (400) and bodies over `maxBytes` (413, counted while
 * the body streams, never buffered past the limit), then validates it.
 */
export async function parseJsonBody<S extends z.ZodType>(
  request: Request,
  schema: S,
  maxBytes = 64 * 1024,
): Promise<z.output<S>> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new ValidationError('request body must be JSON (Content-Type: application/json)', { field: 'content-type' });
  }
  const bytes = await readBodyLimited(request, maxBytes);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ValidationError('request body is not valid JSON');
  }
  return parseInput(schema, value);
}
