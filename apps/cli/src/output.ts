// How commands print what they got: a list as JSON (--json) or as a table with a sentence for none,
// and a new token's plaintext set apart on lines of its own so it is easy to copy; and the expiry
// field the create commands send.
import type { ParsedArgs } from './command.js';
import type { Context } from './context.js';
import { parseDuration } from './format.js';
import { renderTable, type Column } from './table.js';

/** The rows as a table, or `empty` when there are none. */
export function printTable<T>(ctx: Context, rows: readonly T[], empty: string, columns: readonly Column<T>[]): void {
  ctx.out(rows.length === 0 ? empty : renderTable(rows, columns));
}

/** A command's result: `value` as JSON with --json, else the sentence `text`. */
export function printResult(ctx: Context, args: ParsedArgs, value: unknown, text: string): void {
  if (args.values.json) ctx.json(value);
  else ctx.out(text);
}

/** A list command's result: the rows as JSON with --json, else as printTable shows them. */
export function printList<T>(ctx: Context, args: ParsedArgs, rows: readonly T[], empty: string, columns: readonly Column<T>[]): void {
  if (args.values.json) ctx.json(rows);
  else printTable(ctx, rows, empty, columns);
}

/** A token just made: as JSON with --json, else `summary` and then its plaintext, set apart. */
export function printNewToken(ctx: Context, args: ParsedArgs, created: { token: string }, summary: string): void {
  if (args.values.json) return ctx.json(created);
  ctx.out(summary);
  showPlaintextOnce(ctx, created.token);
}

/** A token's plaintext, the one time the hub returns it. */
function showPlaintextOnce(ctx: Context, token: string): void {
  ctx.out('');
  ctx.out('Copy the token now: it is shown only this once and cannot be retrieved later.');
  ctx.out('');
  ctx.out(`    ${token}`);
  ctx.out('');
}

/** The `expiresInSeconds` field of a create request from --expires (a duration), or nothing without it. */
export function expiresIn(value: unknown): { expiresInSeconds?: number } {
  return value === undefined ? {} : { expiresInSeconds: Math.round(parseDuration(value as string, '--expires') / 1000) };
}
