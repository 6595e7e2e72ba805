// `porthole tokens enrollment …` and `porthole tokens api …`: list, create (the plaintext is shown
// exactly once, set apart so it is easy to copy), revoke — over /api/v1/enrollment-tokens and
// /api/v1/api-tokens.
import type { ApiToken, EnrollmentToken } from '@porthole/api-contract';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { formatRelative, formatTime, parseIntOption } from '../format.js';
import { expiresIn, printNewToken } from '../output.js';
import { deleteCommand, listCommand } from '../api-commands.js';

const seg = encodeURIComponent;

const enrollmentList = listCommand<EnrollmentToken>(
  { path: 'tokens enrollment list', summary: 'List enrollment tokens (never their plaintext).' },
  () => '/enrollment-tokens',
  () => 'No enrollment tokens.',
  (now) => [
    { header: 'ID', value: (t) => t.id },
    { header: 'PREFIX', value: (t) => t.displayPrefix },
    { header: 'STATE', value: (t) => t.state },
    { header: 'USES', value: (t) => `${t.uses}/${t.maxUses}`, align: 'right' },
    { header: 'EXPIRES', value: (t) => `${formatTime(t.expiresAt)} (${formatRelative(t.expiresAt, now)})` },
    { header: 'TAGS', value: (t) => t.tags.join(',') },
    { header: 'DESCRIPTION', value: (t) => t.description },
  ],
);

const enrollmentCreate: Command = {
  path: 'tokens enrollment create',
  summary: 'Create an enrollment token that devices register with; prints the plaintext once.',
  options: {
    uses: { type: 'string', arg: 'N', help: 'how many devices may register with it (default: the hub’s, 1)' },
    expires: { type: 'string', arg: 'DURATION', help: 'valid for this long, 1m to 365d (default: the hub’s)' },
    tag: { type: 'string', arg: 'T', multiple: true, help: 'tag for devices enrolled with it (repeatable)' },
    description: { type: 'string', arg: 'D', help: 'what the token is for' },
  },
  async run(ctx, args) {
    const v = args.values;
    const body = {
      ...(v.description !== undefined ? { description: v.description } : {}),
      ...(v.tag ? { tags: v.tag } : {}),
      ...(v.uses !== undefined ? { maxUses: parseIntOption(v.uses as string, '--uses', 1, 1_000_000) } : {}),
      ...expiresIn(v.expires),
    };
    const t = await ctx.client(args).post<EnrollmentToken & { token: string }>('/enrollment-tokens', body);
    printNewToken(ctx, args, t, `Created enrollment token ${t.id}: ${t.maxUses} use${t.maxUses === 1 ? '' : 's'}, expires ${formatTime(t.expiresAt)}${t.tags.length ? `, tags ${t.tags.join(', ')}` : ''}.`);
  },
};

const enrollmentRevoke = deleteCommand<EnrollmentToken>(
  { path: 'tokens enrollment revoke', args: '<id>', summary: 'Revoke an enrollment token (devices it already enrolled stay registered).' },
  ([id]) => `/enrollment-tokens/${seg(id)}`,
  (_, t) => [t, `Revoked enrollment token ${t.id} (${t.displayPrefix}…).`],
);

const apiList = listCommand<ApiToken>(
  { path: 'tokens api list', summary: 'List API tokens (never their plaintext).' },
  () => '/api-tokens',
  () => 'No API tokens.',
  (now) => [
    { header: 'ID', value: (t) => t.id },
    { header: 'NAME', value: (t) => t.name },
    { header: 'PREFIX', value: (t) => t.displayPrefix },
    { header: 'SCOPES', value: (t) => t.scopes.join(',') },
    { header: 'LAST USED', value: (t) => formatRelative(t.lastUsedAt, now) },
    { header: 'EXPIRES', value: (t) => (t.expiresAt ? formatTime(t.expiresAt) : 'never') },
    { header: 'REVOKED', value: (t) => (t.revokedAt ? formatTime(t.revokedAt) : '') },
  ],
);

const apiCreate: Command = {
  path: 'tokens api create',
  summary: 'Create an API token for yourself; prints the plaintext once.',
  options: {
    name: { type: 'string', arg: 'N', help: 'what the token is for (required)' },
    scope: { type: 'string', arg: 'read|write', help: 'read: look only; write: also change (default read)' },
    expires: { type: 'string', arg: 'DURATION', help: 'valid for this long (default never)' },
  },
  async run(ctx, args) {
    const v = args.values;
    if (typeof v.name !== 'string' || v.name.trim() === '') throw new UsageError('give the token a name: --name N', 'tokens api create');
    const scope = (v.scope as string | undefined) ?? 'read';
    if (scope !== 'read' && scope !== 'write') throw new UsageError(`--scope must be read or write, not ${JSON.stringify(scope)}`, 'tokens api create');
    const body = { name: v.name, scopes: scope === 'write' ? ['read', 'write'] : ['read'], ...expiresIn(v.expires) };
    const t = await ctx.client(args).post<ApiToken & { token: string }>('/api-tokens', body);
    printNewToken(ctx, args, t, `Created API token ${t.id} "${t.name}" with scopes ${t.scopes.join(', ')}${t.expiresAt ? `, expires ${formatTime(t.expiresAt)}` : ''}.`);
  },
};

const apiRevoke = deleteCommand<ApiToken>(
  { path: 'tokens api revoke', args: '<id>', summary: 'Revoke an API token.' },
  ([id]) => `/api-tokens/${seg(id)}`,
  (_, t) => [t, `Revoked API token ${t.id} "${t.name}".`],
);

export const tokenCommands: Command[] = [enrollmentList, enrollmentCreate, enrollmentRevoke, apiList, apiCreate, apiRevoke];
