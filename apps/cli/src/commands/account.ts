// `porthole login`, `logout`, `whoami`: the stored hub URL and API token. login
// verifies the token against GET /api/v1/whoami before it writes anything.
import { ApiClient, ApiError, normalizeHubUrl } from '../api-client.js';
import type { WhoAmI } from '@porthole/api-contract';
import type { Command } from '../command.js';
import { printResult } from '../output.js';
import { removeConfig, writeConfig } from '../config-store.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { ask } from '../prompt.js';

export const login: Command = {
  path: 'login',
  summary: 'Check an API token against the hub and store it with the hub URL in your config directory (mode 0600).',
  description:
    'Without --token the token is read from stdin (a hidden prompt on a terminal), so it stays out of your\n' +
    'shell history: `porthole login --hub https://portal.example.io < token.txt`.',
  api: false,
  options: {
    hub: { type: 'string', arg: 'URL', help: 'hub (portal) URL, e.g. https://portal.example.io; default $PORTHOLE_HUB' },
    token: { type: 'string', arg: 'T', help: 'API token; default $PORTHOLE_TOKEN, then stdin' },
  },
  async run(ctx, { values }) {
    const hubInput = (values.hub as string | undefined) ?? ctx.io.env.PORTHOLE_HUB;
    if (!hubInput) throw new UsageError('give the hub URL: porthole login --hub https://portal.example.io', 'login');
    const hub = normalizeHubUrl(hubInput);
    let token = (values.token as string | undefined) ?? ctx.io.env.PORTHOLE_TOKEN;
    token ??= await ask(ctx.io, `API token for ${hub}: `, { secret: true });
    token = token?.trim();
    if (!token) throw new UsageError('no API token given (pass --token, set PORTHOLE_TOKEN or write it to stdin)', 'login');

    let me: WhoAmI;
    try {
      me = await new ApiClient({ hub, token }).get<WhoAmI>('/whoami');
    } catch (err) {
      if (err instanceof ApiError && err.exitCode === EXIT.auth) throw new CliError(`the hub refused the token: ${err.message}`, EXIT.auth);
      throw err;
    }
    writeConfig(ctx.configPath, { hub, token });
    if (values.json) {
      ctx.json({ hub, user: me.user, scopes: me.scopes, configPath: ctx.configPath });
    } else {
      ctx.out(`Logged in to ${hub} as ${me.user.email} (${me.user.role}; token scopes: ${me.scopes.join(', ')}).`);
      ctx.out(`Saved to ${ctx.configPath}`);
    }
  },
};

export const logout: Command = {
  path: 'logout',
  summary: 'Forget the stored hub URL and API token (the token itself stays valid: revoke it with porthole tokens api revoke).',
  api: false,
  async run(ctx, { values }) {
    const removed = removeConfig(ctx.configPath);
    if (values.json) ctx.json({ removed, configPath: ctx.configPath });
    else ctx.out(removed ? `Logged out: removed ${ctx.configPath}` : `Not logged in (no ${ctx.configPath}).`);
  },
};

export const whoami: Command = {
  path: 'whoami',
  summary: 'Show the account and scopes behind the API token in use.',
  async run(ctx, args) {
    const client = ctx.client(args);
    const me = await client.get<WhoAmI>('/whoami');
    printResult(ctx, args, { hub: client.hub, ...me }, `${me.user.email} (${me.user.role}) at ${client.hub}; token scopes: ${me.scopes.join(', ')}`);
  },
};
