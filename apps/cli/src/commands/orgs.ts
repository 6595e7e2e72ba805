// `porthole orgs list|create|members|add-member|remove-member|tokens|create-token|revoke-token`:
// organisations, their members' roles and organisation API tokens, over /api/v1/organizations. An
// organisation is named by id or by name; the global --org narrows any other command to one.
import type { Member, NewOrganizationToken, Organization, OrganizationToken } from '@porthole/api-contract';
import { ORGANIZATION_ROLE_NAMES } from '@porthole/api-contract';
import type { Command, ParsedArgs } from '../command.js';
import type { Context } from '../context.js';
import type { ApiClient } from '../api-client.js';
import { type CommandHead, listCommand } from '../api-commands.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { formatTime } from '../format.js';
import { expiresIn, printList, printNewToken, printResult } from '../output.js';

const seg = encodeURIComponent;
const ROLES_HELP = `role: ${ORGANIZATION_ROLE_NAMES.join(', ')} (owner: members and everything; admin: devices, tokens, peers; technician: open devices, forward TCP; viewer: lists and logs)`;

/** The organisation an argument names (its id, or its name in any case), among those the caller sees. */
async function resolveOrganization(client: ApiClient, idOrName: string): Promise<Organization> {
  const orgs = await client.get<Organization[]>('/organizations');
  const key = idOrName.trim().toLowerCase();
  const org = orgs.find((o) => o.id === key) ?? orgs.find((o) => o.name.toLowerCase() === key);
  if (!org) throw new CliError(`organization ${JSON.stringify(idOrName)} does not exist`, EXIT.notFound);
  return org;
}

/**
 * A command on one organisation, named first on its line: `run` gets the client and the organisation.
 * Options in `requires` must be given; their absence is a usage error before anything is asked of the hub.
 */
function onOrganization({ requires = [], ...head }: CommandHead & { requires?: string[] }, run: (ctx: Context, args: ParsedArgs, on: { client: ApiClient; org: Organization }) => Promise<void>): Command {
  return {
    ...head,
    async run(ctx, args) {
      for (const name of requires) if (args.values[name] === undefined) throw new UsageError(`--${name} is required`);
      const client = ctx.client(args);
      return run(ctx, args, { client, org: await resolveOrganization(client, args.positionals[0]!) });
    },
  };
}

function role(value: unknown): string {
  const r = String(value ?? '').toLowerCase();
  if (!(ORGANIZATION_ROLE_NAMES as readonly string[]).includes(r)) throw new UsageError(`--role must be one of ${ORGANIZATION_ROLE_NAMES.join(', ')}`);
  return r;
}

const list = listCommand<Organization>(
  { path: 'orgs list', summary: 'List organisations: all of them for a hub administrator, else yours, with your role.' },
  () => '/organizations',
  () => 'No organisations.',
  () => [
    { header: 'ID', value: (o) => o.id },
    { header: 'NAME', value: (o) => o.name },
    { header: 'YOUR ROLE', value: (o) => o.role ?? '(hub administrator)' },
    { header: 'CREATED', value: (o) => formatTime(o.createdAt) },
  ],
);

const create: Command = {
  path: 'orgs create',
  args: '<name>',
  summary: 'Create an organisation (hub administrators).',
  async run(ctx, args) {
    const org = await ctx.client(args).post<Organization>('/organizations', { name: args.positionals[0]! });
    printResult(ctx, args, org, `Created organisation ${org.name} (${org.id}). Add its first owner: porthole orgs add-member ${org.id} <email> --role owner`);
  },
};

const members = onOrganization({ path: 'orgs members', args: '<org>', summary: "List an organisation's members and their roles." }, async (ctx, args, { client, org }) => {
  const rows = await client.get<Member[]>(`/organizations/${seg(org.id)}/members`);
  printList(ctx, args, rows, `${org.name} has no members.`, [
    { header: 'USER ID', value: (m) => m.userId },
    { header: 'EMAIL', value: (m) => m.email },
    { header: 'ROLE', value: (m) => m.role },
    { header: 'SINCE', value: (m) => formatTime(m.createdAt) },
  ]);
});

const addMember = onOrganization(
  {
    path: 'orgs add-member',
    args: '<org> <email>',
    summary: "Add an account to an organisation with a role, or change its role (owners).",
    description: `An address without an account gets an invited one, as a grant does. ${ROLES_HELP}.`,
    options: { role: { type: 'string', arg: 'ROLE', help: ROLES_HELP } },
    requires: ['role'],
  },
  async (ctx, args, { client, org }) => {
    const m = await client.post<Member>(`/organizations/${seg(org.id)}/members`, { email: args.positionals[1]!, role: role(args.values.role) });
    printResult(ctx, args, m, `${m.email} is now ${m.role} of ${org.name}.`);
  },
);

const removeMember = onOrganization({ path: 'orgs remove-member', args: '<org> <email|user-id>', summary: 'Remove a member from an organisation (owners).' }, async (ctx, args, { client, org }) => {
  const who = args.positionals[1]!.trim().toLowerCase();
  const rows = await client.get<Member[]>(`/organizations/${seg(org.id)}/members`);
  const m = rows.find((r) => r.userId === who || r.email === who);
  if (!m) throw new CliError(`${args.positionals[1]} is not a member of ${org.name}`, EXIT.notFound);
  await client.delete(`/organizations/${seg(org.id)}/members/${seg(m.userId)}`);
  printResult(ctx, args, { organizationId: org.id, userId: m.userId, removed: true }, `Removed ${m.email} from ${org.name}.`);
});

const tokens = onOrganization({ path: 'orgs tokens', args: '<org>', summary: "List an organisation's API tokens (never their plaintext)." }, async (ctx, args, { client, org }) => {
  const rows = await client.get<OrganizationToken[]>(`/organizations/${seg(org.id)}/api-tokens`);
  printList(ctx, args, rows, `${org.name} has no API tokens.`, [
    { header: 'ID', value: (t) => t.id },
    { header: 'NAME', value: (t) => t.name },
    { header: 'ROLE', value: (t) => t.role },
    { header: 'PREFIX', value: (t) => t.displayPrefix },
    { header: 'STATE', value: (t) => (t.revokedAt ? 'revoked' : t.expiresAt && t.expiresAt <= ctx.now().toISOString() ? 'expired' : 'active') },
    { header: 'LAST USED', value: (t) => (t.lastUsedAt ? formatTime(t.lastUsedAt) : 'never') },
  ]);
});

const createToken = onOrganization(
  {
    path: 'orgs create-token',
    args: '<org> <name>',
    summary: 'Make a token that acts for the organisation with a role (automation); prints it once.',
    options: {
      role: { type: 'string', arg: 'ROLE', help: ROLES_HELP },
      expires: { type: 'string', arg: 'DURATION', help: 'e.g. 90d; default never' },
    },
    requires: ['role'],
  },
  async (ctx, args, { client, org }) => {
    const t = await client.post<NewOrganizationToken>(`/organizations/${seg(org.id)}/api-tokens`, {
      name: args.positionals[1]!,
      role: role(args.values.role),
      ...expiresIn(args.values.expires),
    });
    printNewToken(ctx, args, t, `Created ${t.role} token ${t.name} (${t.id}) for ${org.name}.`);
  },
);

const revokeToken = onOrganization({ path: 'orgs revoke-token', args: '<org> <token-id>', summary: 'Revoke an organisation API token.' }, async (ctx, args, { client, org }) => {
  await client.delete(`/organizations/${seg(org.id)}/api-tokens/${seg(args.positionals[1]!)}`);
  printResult(ctx, args, { organizationId: org.id, id: args.positionals[1], revoked: true }, `Revoked token ${args.positionals[1]} of ${org.name}.`);
});

export const organizationCommands: Command[] = [list, create, members, addMember, removeMember, tokens, createToken, revokeToken];
