// `porthole links …`: installer links of a device — make one (its URL is printed once), list them
// with their uses, revoke one (sessions opened with it end) — over /api/v1/devices/<serial>/links.
import type { DeviceLink, NewDeviceLink } from '@porthole/api-contract';
import type { Command, OptionDef } from '../command.js';
import { formatRelative, formatTime, parseIntOption } from '../format.js';
import { deleteCommand, listCommand } from '../api-commands.js';
import type { Column } from '../table.js';

const seg = encodeURIComponent;

/** --read-only, for an installer link and for a grant alike: what such access allows. */
export const READ_ONLY_OPTION: OptionDef = { type: 'boolean', help: 'GET and HEAD only: no other method, no WebSocket, no TCP forwarding, no consoles' };

/** The ACCESS column of installer links and grants. */
export const ACCESS_COLUMN: Column<{ readOnly: boolean }> = { header: 'ACCESS', value: (r) => (r.readOnly ? 'read-only' : 'full') };

const create: Command = {
  path: 'links create',
  args: '<serial>',
  summary: 'Make an installer link: opens the device without an account for --hours (default 8), optionally --read-only.',
  options: {
    hours: { type: 'string', arg: 'N', help: 'how long the link works, 1 to 720 hours (default 8)' },
    'read-only': READ_ONLY_OPTION,
  },
  async run(ctx, args) {
    const serial = args.positionals[0]!;
    const hours = args.values.hours === undefined ? 8 : parseIntOption(args.values.hours as string, '--hours', 1, 720);
    const link = await ctx.client(args).post<NewDeviceLink>(`/devices/${seg(serial)}/links`, { hours, readOnly: args.values['read-only'] === true });
    if (args.values.json) return ctx.json(link);
    ctx.out(link.url);
    ctx.err(`Installer link ${link.id} for ${serial}${args.values['read-only'] ? ' (read-only)' : ''}, valid until ${formatTime(link.expiresAt)}. The URL is shown only now; anyone holding it opens the device.`);
  },
};

const list = listCommand<DeviceLink>(
  { path: 'links list', args: '<serial>', summary: 'List the installer links of a device: access, validity, uses (never their URLs).' },
  ([serial]) => `/devices/${seg(serial)}/links`,
  ([serial]) => `No installer links on ${serial}.`,
  (now) => [
    { header: 'ID', value: (l) => l.id },
    ACCESS_COLUMN,
    { header: 'STATE', value: (l) => (l.revokedAt ? 'revoked' : Date.parse(l.expiresAt) <= now.getTime() ? 'expired' : 'valid') },
    { header: 'UNTIL', value: (l) => `${formatTime(l.expiresAt)} (${formatRelative(l.expiresAt, now)})` },
    { header: 'USES', value: (l) => String(l.uses) },
    { header: 'MADE BY', value: (l) => l.createdBy ?? '' },
  ],
);

const revoke = deleteCommand(
  { path: 'links revoke', args: '<serial> <link-id>', summary: 'Revoke an installer link: it stops working and the sessions opened with it end.' },
  ([serial, id]) => `/devices/${seg(serial)}/links/${seg(id)}`,
  ([serial, id]) => [{ serial, id, revoked: true }, `Revoked installer link ${id} on ${serial}.`],
);

export const linkCommands: Command[] = [create, list, revoke];
