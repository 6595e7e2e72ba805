// Commands that are one API call and its report: a list (GET, then a table or JSON) and a removal
// (DELETE, then a sentence or JSON). Commands with more steps than that write their run out.
import type { Command } from './command.js';
import { printList, printResult } from './output.js';
import type { Column } from './table.js';

/** A command's declaration without its run: path, usage, summary, options. */
export type CommandHead = Omit<Command, 'run'>;

/** The command's positionals, as many as its usage line asks for (the parser has checked). */
type Words = string[];

/** GET `url` and print the rows: JSON with --json, else a table of `columns`, or `empty` when there are none. */
export function listCommand<T>(head: CommandHead, url: (p: Words) => string, empty: (p: Words) => string, columns: (now: Date) => readonly Column<T>[]): Command {
  return {
    ...head,
    async run(ctx, args) {
      const rows = await ctx.client(args).get<T[]>(url(args.positionals));
      printList(ctx, args, rows, empty(args.positionals), columns(ctx.now()));
    },
  };
}

/** DELETE `url`, then report what `done` makes of it: its JSON with --json, else its sentence. */
export function deleteCommand<T = undefined>(head: CommandHead, url: (p: Words) => string, done: (p: Words, deleted: T) => [json: unknown, text: string]): Command {
  return {
    ...head,
    async run(ctx, args) {
      const deleted = await ctx.client(args).delete<T>(url(args.positionals));
      printResult(ctx, args, ...done(args.positionals, deleted));
    },
  };
}
