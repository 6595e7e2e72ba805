// How a command is declared (options, positionals, help text) and how its argv is parsed: one
// `node:util` parseArgs call in strict mode, so an unknown or malformed option is a usage error
// (exit 2) naming the option, and `--help` works on every command.
import { parseArgs } from 'node:util';
import type { Context } from './context.js';
import { UsageError } from './errors.js';

export interface OptionDef {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder shown in help, e.g. "N" for `--limit N`. */
  arg?: string;
  help: string;
}

export interface Command {
  /** Words after `porthole`, e.g. "devices list". */
  path: string;
  summary: string;
  /**
   * Positional part of the usage line, e.g. "<serial> <email>". It is also what the command accepts:
   * each word is one positional, required unless the whole word is `[bracketed]`.
   */
  args?: string;
  /** Extra paragraph(s) for --help. */
  description?: string;
  options?: Record<string, OptionDef>;
  /** Accepts --json (default true). */
  json?: boolean;
  /** Talks to the hub: accepts --hub and --token (default true). */
  api?: boolean;
  /** After this many positionals the rest of argv is passed through unparsed (`ssh` arguments). */
  passThroughAfter?: number;
  run(ctx: Context, input: ParsedArgs): Promise<number | void>;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** argv after the pass-through point (only with passThroughAfter). */
  rest: string[];
}

const HUB_OPTIONS: Record<string, OptionDef> = {
  hub: { type: 'string', arg: 'URL', help: 'hub (portal) URL; default $PORTHOLE_HUB, then the stored login (http:// assumed for localhost, https:// otherwise)' },
  token: { type: 'string', arg: 'T', help: 'API token; default $PORTHOLE_TOKEN, then the stored login' },
  org: { type: 'string', arg: 'ID|NAME', help: 'act in this organisation only (for members of several); default $PORTHOLE_ORG' },
};
const JSON_OPTION: Record<string, OptionDef> = { json: { type: 'boolean', help: 'print JSON on stdout (for scripts)' } };
const HELP_OPTION: Record<string, OptionDef> = { help: { type: 'boolean', short: 'h', help: 'show this help' } };

/** Options every command takes, wherever they stand on the line (run.ts moves them after the command). */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionDef>> = { ...JSON_OPTION, ...HUB_OPTIONS, ...HELP_OPTION };

/** `--flag ARG` as help shows it. */
export function optionFlag(name: string, o: OptionDef): string {
  return `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.arg ?? 'VALUE'}` : ''}${o.multiple ? ' …' : ''}`;
}

export function allOptions(cmd: Command): Record<string, OptionDef> {
  return { ...cmd.options, ...(cmd.json === false ? {} : JSON_OPTION), ...(cmd.api === false ? {} : HUB_OPTIONS), ...HELP_OPTION };
}

export function helpText(cmd: Command): string {
  const opts = Object.entries(allOptions(cmd)).map(([name, o]) => [optionFlag(name, o), o.help] as const);
  const width = Math.max(...opts.map(([f]) => f.length));
  return [
    `Usage: porthole ${cmd.path}${cmd.args ? ` ${cmd.args}` : ''}${opts.length > 1 ? ' [options]' : ''}`,
    '',
    cmd.summary,
    ...(cmd.description ? ['', cmd.description] : []),
    '',
    'Options:',
    ...opts.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`),
    '',
  ].join('\n');
}

/** [min, max] positionals, from the words of the usage line (`args`). */
export function positionalRange(cmd: Command): [number, number] {
  const words = cmd.args?.match(/\[[^\]]*\]\S*|\S+/g) ?? [];
  const required = words.filter((w) => !/^\[[^\]]*\]$/.test(w)).length;
  return [required, words.length];
}

/** Splits argv at the pass-through point: porthole's own options and positionals, then the rest verbatim. */
function splitPassThrough(argv: readonly string[], options: Record<string, OptionDef>, after: number): [string[], string[]] {
  const takesValue = (token: string): boolean => {
    if (token.startsWith('--')) return !token.includes('=') && options[token.slice(2)]?.type === 'string';
    const short = Object.values(options).find((o) => o.short === token.slice(1, 2));
    return token.length === 2 && short?.type === 'string';
  };
  let seen = 0;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') return [argv.slice(0, i), argv.slice(i + 1)];
    if (token.startsWith('-') && token !== '-') {
      if (takesValue(token)) i++;
      continue;
    }
    if (++seen === after) return [argv.slice(0, i + 1), argv.slice(i + 1)];
  }
  return [[...argv], []];
}

export class HelpRequested extends Error {}

export function parseCommandArgs(cmd: Command, argv: readonly string[]): ParsedArgs {
  const options = allOptions(cmd);
  const [own, rest] = cmd.passThroughAfter ? splitPassThrough(argv, options, cmd.passThroughAfter) : [[...argv], []];
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: own,
      options: Object.fromEntries(
        Object.entries(options).map(([k, o]) => [k, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    // parseArgs messages name the option ("Unknown option '--foo'"); strip its own advice about '--'.
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(message.replace(/^./, (c) => c.toLowerCase()), cmd.path);
  }
  if (parsed.values.help) throw new HelpRequested();
  const [min, max] = positionalRange(cmd);
  const n = parsed.positionals.length;
  if (n < min) throw new UsageError(`missing argument${min - n > 1 ? 's' : ''}: porthole ${cmd.path} ${cmd.args ?? ''}`.trimEnd(), cmd.path);
  if (n > max) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[max])}`, cmd.path);
  return { values: parsed.values as ParsedArgs['values'], positionals: parsed.positionals, rest };
}
