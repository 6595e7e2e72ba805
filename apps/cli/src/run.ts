// `run(argv, io)`: the whole CLI as a function — finds the command, parses its arguments, runs it
// and turns any failure into one line on stderr and an exit code (0 ok, 1 failure, 2 usage,
// 3 auth, 4 not found). main.ts calls it with process streams; tests call it directly.
import { type Command, GLOBAL_OPTIONS, HelpRequested, helpText, optionFlag, type OptionDef, parseCommandArgs } from './command.js';
import { allCommands } from './commands/index.js';
import { createContext } from './context.js';
import { CliError, EXIT, UsageError } from './errors.js';
import type { CliIo } from './io.js';

export const VERSION = '0.1.0';

export const commands: readonly Command[] = allCommands;

/** The global options and the settings behind them, for the top-level help. */
function settingsHelp(configFile: string): string[] {
  const flags = Object.entries(GLOBAL_OPTIONS).map(([name, o]) => [optionFlag(name, o), o.help] as const);
  const width = Math.max(...flags.map(([f]) => f.length));
  return [
    'Global options (anywhere on the line):',
    ...flags.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`),
    '',
    'Settings (environment):',
    '  PORTHOLE_HUB         the hub URL when --hub is not given; default: the stored login',
    '  PORTHOLE_TOKEN       the API token when --token is not given; default: the stored login',
    '  XDG_CONFIG_HOME      where the stored login lives (porthole login writes it); default ~/.config,',
    `                       here ${configFile}`,
    '  NODE_EXTRA_CA_CERTS  a PEM file of extra CAs, for a hub with a private certificate; default: none',
    '',
  ];
}

function groupHelp(prefix: string, configFile: string): string {
  const matching = commands.filter((c) => prefix === '' || c.path === prefix || c.path.startsWith(`${prefix} `));
  const width = Math.max(...matching.map((c) => `${c.path}${c.args ? ` ${c.args}` : ''}`.length));
  return [
    `Usage: porthole ${prefix ? `${prefix} ` : ''}<command> [options]`,
    '',
    ...(prefix === '' ? ['Remote access to field devices through a Porthole hub.', ''] : []),
    'Commands:',
    ...matching.map((c) => `  ${`${c.path}${c.args ? ` ${c.args}` : ''}`.padEnd(width)}  ${c.summary.split(/(?<=\.)\s+(?=[A-Z])/)[0]}`),
    '',
    ...(prefix === '' ? settingsHelp(configFile) : []),
    `Run porthole <command> --help for its options. Exit codes: 0 ok, 1 failure, 2 usage, 3 auth, 4 not found.`,
    '',
  ].join('\n');
}

/** The global option a token names (`--hub`, `--hub=URL`, `-h`), if any. */
function globalOption(token: string): OptionDef | undefined {
  if (token.startsWith('--')) return Object.hasOwn(GLOBAL_OPTIONS, token.slice(2).split('=')[0]!) ? GLOBAL_OPTIONS[token.slice(2).split('=')[0]!] : undefined;
  return token.length === 2 ? Object.values(GLOBAL_OPTIONS).find((o) => o.short === token[1]) : undefined;
}

/**
 * Moves global options found among the command's words to just after them, where the command's
 * parser reads them: `--json devices list --tag x` becomes `devices list --json --tag x`. Only
 * tokens before the first non-global option or non-command word move, so a command's own values
 * (and `ssh`'s pass-through arguments) are never touched.
 */
export function hoistGlobalOptions(argv: readonly string[]): string[] {
  const words: string[] = [];
  const moved: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const token = argv[i]!;
    const global = globalOption(token);
    if (global) {
      moved.push(token);
      if (global.type === 'string' && !token.includes('=') && i + 1 < argv.length) moved.push(argv[++i]!);
      continue;
    }
    const next = [...words, token].join(' ');
    if (token.startsWith('-') || !commands.some((c) => c.path === next || c.path.startsWith(`${next} `))) break;
    words.push(token);
  }
  return [...words, ...moved, ...argv.slice(i)];
}

/** The command named by the longest prefix of argv's words, and the rest of argv. */
function findCommand(argv: readonly string[]): { cmd?: Command; rest: string[]; prefix: string } {
  let best: Command | undefined;
  let words = 0;
  for (const cmd of commands) {
    const parts = cmd.path.split(' ');
    if (parts.length > words && parts.every((p, i) => argv[i] === p)) {
      best = cmd;
      words = parts.length;
    }
  }
  if (best) return { cmd: best, rest: argv.slice(words), prefix: best.path };
  // The longest prefix that names a group ("devices", "tokens api"), for its help.
  let prefix = '';
  for (let i = 1; i <= argv.length; i++) {
    const p = argv.slice(0, i).join(' ');
    if (commands.some((c) => c.path.startsWith(`${p} `))) prefix = p;
  }
  return { rest: argv.slice(prefix ? prefix.split(' ').length : 0), prefix };
}

export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const ctx = createContext(io);
  const { cmd, rest, prefix } = findCommand(hoistGlobalOptions(argv));
  if (!cmd) {
    if (rest[0] === '--version' || rest[0] === '-V') {
      ctx.out(VERSION);
      return EXIT.ok;
    }
    const wantsHelp = rest[0] === '--help' || rest[0] === '-h' || rest[0] === 'help';
    if (wantsHelp) {
      io.stdout.write(groupHelp(prefix, ctx.configPath));
      return EXIT.ok;
    }
    io.stderr.write(groupHelp(prefix, ctx.configPath));
    if (rest.length > 0) ctx.err(`porthole: unknown command ${JSON.stringify([prefix, rest[0]].filter(Boolean).join(' '))}`);
    return EXIT.usage;
  }
  try {
    const args = parseCommandArgs(cmd, rest);
    const code = await cmd.run(ctx, args);
    return code ?? EXIT.ok;
  } catch (err) {
    if (err instanceof HelpRequested) {
      io.stdout.write(helpText(cmd));
      return EXIT.ok;
    }
    if (err instanceof UsageError) {
      ctx.err(`porthole ${cmd.path}: ${err.message}`);
      ctx.err(`Run porthole ${cmd.path} --help for usage.`);
      return EXIT.usage;
    }
    if (err instanceof CliError) {
      ctx.err(`porthole ${cmd.path}: ${err.message}`);
      return err.exitCode;
    }
    // A bug, not a user error: say so, with the stack for the report.
    ctx.err(`porthole ${cmd.path}: unexpected error: ${(err as Error)?.stack ?? String(err)}`);
    return EXIT.failure;
  }
}
