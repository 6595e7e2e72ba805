// `porthole devices …`: list (filters, cursor paging, --all with progress on stderr), show,
// enable/disable/delete, access policy, and per-user grants — over /api/v1/devices.
import type { Device, DevicePage, Grant } from '@porthole/api-contract';
import type { Command, ParsedArgs } from '../command.js';
import type { Context } from '../context.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { formatBytes, formatRelative, formatTime, parseDuration, parseIntOption } from '../format.js';
import { ask } from '../prompt.js';
import { ACCESS_COLUMN, READ_ONLY_OPTION } from './links.js';
import { printList, printResult, printTable } from '../output.js';
import { renderFields, type Column } from '../table.js';

const MAX_PAGE = 500;
const seg = encodeURIComponent;

function deviceColumns(now: Date): Column<Device>[] {
  return [
    { header: 'SERIAL', value: (d) => d.serial },
    { header: 'STATE', value: (d) => (d.status === 'disabled' ? 'disabled' : d.online ? 'online' : 'offline') },
    { header: 'LAST SEEN', value: (d) => formatRelative(d.lastHandshakeAt, now) },
    { header: 'TUNNEL IP', value: (d) => d.tunnelIp },
    { header: 'POLICY', value: (d) => d.accessPolicy },
    { header: 'OWNER', value: (d) => d.owner?.email },
    { header: 'TAGS', value: (d) => d.tags.join(',') },
  ];
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], option: string): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new UsageError(`${option} must be ${allowed.join(' or ')}, not ${JSON.stringify(value)}`);
  return value as T;
}

const list: Command = {
  path: 'devices list',
  summary: 'List devices in serial order, one page at a time (or every page with --all).',
  options: {
    status: { type: 'string', arg: 'enabled|disabled', help: 'only devices with this status' },
    online: { type: 'boolean', help: 'only devices with a recent tunnel handshake' },
    offline: { type: 'boolean', help: 'only devices without one' },
    tag: { type: 'string', arg: 'T', help: 'only devices with this tag' },
    search: { type: 'string', arg: 'Q', help: 'serial prefix search' },
    limit: { type: 'string', arg: 'N', help: `page size, 1-${MAX_PAGE} (default 50; ${MAX_PAGE} with --all)` },
    cursor: { type: 'string', arg: 'C', help: 'continue after a previous page (its nextCursor)' },
    all: { type: 'boolean', help: 'follow cursors and list every matching device' },
  },
  async run(ctx, args) {
    const { values: v } = args;
    if (v.online && v.offline) throw new UsageError('give --online or --offline, not both', 'devices list');
    const status = oneOf(v.status, ['enabled', 'disabled'] as const, '--status');
    const limit = v.limit !== undefined ? parseIntOption(v.limit as string, '--limit', 1, MAX_PAGE) : v.all ? MAX_PAGE : undefined;
    const client = ctx.client(args);
    const query = {
      status,
      online: v.online ? 'true' : v.offline ? 'false' : undefined,
      tag: v.tag as string | undefined,
      q: v.search as string | undefined,
      limit,
    };
    const devices: Device[] = [];
    let cursor = v.cursor as string | undefined;
    let pages = 0;
    for (;;) {
      const page = await client.get<DevicePage>('/devices', { ...query, cursor });
      devices.push(...page.devices);
      pages++;
      cursor = page.nextCursor ?? undefined;
      if (!v.all || !cursor) break;
      // Paging through a large fleet takes a while: say how far it got (stderr, so stdout stays clean).
      ctx.err(`… ${devices.length} devices so far (page ${pages})`);
    }
    if (v.json) {
      ctx.json({ devices, nextCursor: cursor ?? null });
      return;
    }
    printTable(ctx, devices, 'No devices match.', deviceColumns(ctx.now()));
    if (cursor) ctx.err(`More devices: add --all, or --cursor ${cursor} for the next page.`);
    else if (v.all && pages > 1) ctx.err(`${devices.length} devices in ${pages} pages.`);
  },
};

/** "yes: <subject>, issued by <issuer>, <time>" or "no" (devices of hubs without a device CA). */
function attestation(d: Device): string {
  if (!d.attested) return 'no';
  const who = d.attestationSubject ? `${d.attestationSubject}${d.attestationIssuer ? `, issued by ${d.attestationIssuer}` : ''}` : 'certificate details not recorded';
  return `yes: ${who}${d.attestedAt ? ` (${formatTime(d.attestedAt)})` : ''}`;
}

/** The owner's exposure window as the device reported it. */
export function exposureWindow(d: Device, now: Date): string {
  if (d.exposureEndedAt) return `ended ${formatTime(d.exposureEndedAt)} (${formatRelative(d.exposureEndedAt, now)})`;
  if (d.exposureUntil) {
    const past = Date.parse(d.exposureUntil) <= now.getTime();
    return `${past ? 'ended' : 'open until'} ${formatTime(d.exposureUntil)} (${formatRelative(d.exposureUntil, now)})`;
  }
  return d.online ? 'until turned off' : 'not reported';
}

function showDevice(ctx: Context, d: Device): void {
  const now = ctx.now();
  ctx.out(
    renderFields([
      ['serial', d.serial],
      ['state', d.status === 'disabled' ? 'disabled' : d.online ? 'online' : 'offline'],
      ['url', d.url],
      ['access window', exposureWindow(d, now)],
      ['tunnel IP', d.tunnelIp],
      ['access policy', d.accessPolicy],
      ['owner', d.owner?.email ?? 'none'],
      ['tags', d.tags.join(', ')],
      ['agent version', d.agentVersion],
      ['attested', attestation(d)],
      ['last handshake', d.lastHandshakeAt ? `${formatTime(d.lastHandshakeAt)} (${formatRelative(d.lastHandshakeAt, now)})` : 'never'],
      ['last endpoint', d.lastEndpoint],
      ['traffic', `${formatBytes(d.rxBytes)} received, ${formatBytes(d.txBytes)} sent`],
      ['registered', formatTime(d.registeredAt)],
      ['created', formatTime(d.createdAt)],
      ['public key', d.publicKey],
    ]),
  );
}

const show: Command = {
  path: 'devices show',
  args: '<serial>',
  summary: 'Show one device: state, URL, tunnel IP, policy, owner, agent version, traffic.',
  async run(ctx, args) {
    const d = await ctx.client(args).get<Device>(`/devices/${seg(args.positionals[0]!)}`);
    if (args.values.json) ctx.json(d);
    else showDevice(ctx, d);
  },
};

function patchCommand(path: string, summary: string, body: (args: ParsedArgs) => Record<string, string>, done: (d: Device) => string, extra: Partial<Command> = {}): Command {
  return {
    path,
    summary,
    args: '<serial>',
    ...extra,
    async run(ctx, args) {
      const d = await ctx.client(args).patch<Device>(`/devices/${seg(args.positionals[0]!)}`, body(args));
      printResult(ctx, args, d, done(d));
    },
  };
}

const disable = patchCommand(
  'devices disable',
  'Disable remote access to a device: the hub drops its tunnel and refuses visitors within a second.',
  () => ({ status: 'disabled' }),
  (d) => `${d.serial}: disabled (remote access is off).`,
);
const enable = patchCommand('devices enable', 'Enable remote access to a device again.', () => ({ status: 'enabled' }), (d) => `${d.serial}: enabled.`);
const policy = patchCommand(
  'devices policy',
  'Set who may open a device: owners (owner, grantees, admins; the default) or public (the device’s own login protects it).',
  (args) => ({ accessPolicy: oneOf(args.positionals[1], ['owners', 'public'] as const, 'the policy')! }),
  (d) => `${d.serial}: access policy ${d.accessPolicy}.`,
  { args: '<serial> owners|public' },
);

const remove: Command = {
  path: 'devices delete',
  args: '<serial>',
  summary: 'Delete a device registration; its tunnel IP returns to the pool. Asks first unless --yes.',
  options: { yes: { type: 'boolean', short: 'y', help: 'do not ask for confirmation' } },
  async run(ctx, args) {
    const serial = args.positionals[0]!;
    const client = ctx.client(args);
    if (!args.values.yes) {
      await client.get<Device>(`/devices/${seg(serial)}`); // unknown serial: exit 4 before asking
      const answer = await ask(ctx.io, `Delete device ${serial}? It must register again with an enrollment token. [y/N] `);
      if (!/^\s*y(es)?\s*$/i.test(answer ?? '')) throw new CliError(`not deleted: ${serial} (confirm with y, or pass --yes)`, EXIT.failure);
    }
    await client.delete(`/devices/${seg(serial)}`);
    printResult(ctx, args, { deleted: serial }, `Deleted ${serial}.`);
  },
};

const grant: Command = {
  path: 'devices grant',
  args: '<serial> <email>',
  summary: 'Give a user (by e-mail; the account must exist) access to a device, e.g. an installer for 48h.',
  options: {
    expires: { type: 'string', arg: 'DURATION', help: 'access ends after this long (48h, 7d); default never' },
    'read-only': READ_ONLY_OPTION,
  },
  async run(ctx, args) {
    const [serial, email] = args.positionals as [string, string];
    const expiresAt = args.values.expires ? new Date(ctx.now().getTime() + parseDuration(args.values.expires as string, '--expires')).toISOString() : null;
    const g = await ctx.client(args).post<Grant>(`/devices/${seg(serial)}/grants`, { email, expiresAt, ...(args.values['read-only'] ? { readOnly: true } : {}) });
    printResult(ctx, args, g, `Granted ${g.email} ${g.readOnly ? 'read-only ' : ''}access to ${serial} ${g.expiresAt ? `until ${formatTime(g.expiresAt)} (${formatRelative(g.expiresAt, ctx.now())})` : 'with no expiry'}.`);
  },
};

const grants: Command = {
  path: 'devices grants',
  args: '<serial>',
  summary: 'List the users granted access to a device.',
  async run(ctx, args) {
    const list = await ctx.client(args).get<Grant[]>(`/devices/${seg(args.positionals[0]!)}/grants`);
    const now = ctx.now();
    printList(ctx, args, list, `No grants on ${args.positionals[0]}.`, [
      { header: 'EMAIL', value: (g) => g.email },
      ACCESS_COLUMN,
      { header: 'USER ID', value: (g) => g.userId },
      { header: 'GRANTED', value: (g) => formatTime(g.createdAt) },
      { header: 'EXPIRES', value: (g) => (g.expiresAt ? `${formatTime(g.expiresAt)} (${formatRelative(g.expiresAt, now)})` : 'never') },
    ]);
  },
};

const revoke: Command = {
  path: 'devices revoke',
  args: '<serial> <user-id|email>',
  summary: 'Take away a user’s grant on a device (give the e-mail address or the user id).',
  async run(ctx, args) {
    const [serial, user] = args.positionals as [string, string];
    const client = ctx.client(args);
    let userId = user;
    let email: string | undefined;
    if (user.includes('@')) {
      const match = (await client.get<Grant[]>(`/devices/${seg(serial)}/grants`)).find((g) => g.email.toLowerCase() === user.toLowerCase());
      if (!match) throw new CliError(`${user} has no grant on ${serial}`, EXIT.notFound);
      userId = match.userId;
      email = match.email;
    }
    await client.delete(`/devices/${seg(serial)}/grants/${seg(userId)}`);
    printResult(ctx, args, { serial, userId, ...(email ? { email } : {}), revoked: true }, `Revoked ${email ?? userId}’s access to ${serial}.`);
  },
};

export const deviceCommands: Command[] = [list, show, disable, enable, remove, policy, grant, grants, revoke];
