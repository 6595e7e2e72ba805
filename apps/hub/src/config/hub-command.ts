// The hub's command line: what `npm start -- …` accepts and the --help text. The settings part of
// the help comes from config-docs.ts, like the README's table; settings themselves are environment
// variables or the PORTHOLE_CONFIG file, never flags.
import { configHelp } from './config-docs.js';

export type HubCommand = 'start' | 'set-admin' | 'help' | 'version';

export function parseHubArgs(argv: readonly string[]): { command: HubCommand } | { error: string } {
  const [first, ...rest] = argv;
  const command: HubCommand | undefined =
    first === undefined || first === 'start' ? 'start'
    : first === 'set-admin' ? 'set-admin'
    : first === '--help' || first === '-h' || first === 'help' ? 'help'
    : first === '--version' || first === '-V' ? 'version'
    : undefined;
  if (!command) return { error: first!.startsWith('-') ? `unknown option ${first}` : `unknown command ${JSON.stringify(first)}` };
  if (rest.includes('--help') || rest.includes('-h')) return { command: 'help' };
  if (rest.length > 0) {
    return { error: `${command} takes no arguments (got ${rest.join(' ')}); settings are environment variables, see --help` };
  }
  return { command };
}

export function hubUsage(): string {
  return [
    'Usage: npm start -- [command]        (the same as: node --import tsx apps/hub/src/main.ts [command])',
    '',
    'The Porthole hub: WireGuard endpoint, device proxy, portal and admin API in one process.',
    '',
    'Commands:',
    '  start (or nothing)  start the hub; SIGTERM drains and stops it, SIGHUP reloads the TLS certificate',
    '  set-admin           create the admin account PORTHOLE_ADMIN_EMAIL names, or reset it (password',
    '                      PORTHOLE_ADMIN_PASSWORD, role admin, enabled, sessions ended), also on a',
    '                      database that has accounts; PORTHOLE_ADMIN_TOKEN, when set, becomes its API',
    '                      token. Reads the same settings as start; stop a hub on the same data directory first',
    '  --help, -h          this text',
    '  --version           the hub version',
    '',
    'Settings are environment variables, or keys of the JSON file named by PORTHOLE_CONFIG (a variable',
    'wins over the file; an empty variable counts as unset). Secrets may be given as a file path in',
    '<VARIABLE>_FILE instead. Problems are reported all at once (exit code 2).',
    '',
    configHelp(),
    '',
    'Exit codes: 0 stopped cleanly, 1 failed to start or to run (the message names the cause), 2 bad',
    'configuration or command line.',
    '',
  ].join('\n');
}
