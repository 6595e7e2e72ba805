// `porthole reservations list|add|remove`: serial prefixes that only enrollment tokens may register
// (account claims of such serials are refused with serial_reserved), over /api/v1/serial-reservations.
import type { SerialReservation } from '@porthole/api-contract';
import type { Command } from '../command.js';
import { formatTime } from '../format.js';
import { printResult } from '../output.js';
import { deleteCommand, listCommand } from '../api-commands.js';

const list = listCommand<SerialReservation>(
  { path: 'reservations list', summary: 'List serial prefixes reserved for enrollment tokens.' },
  () => '/serial-reservations',
  () => 'No reserved serial prefixes: any account may claim any serial nobody registered yet.',
  () => [
    { header: 'PREFIX', value: (r) => r.prefix },
    { header: 'CREATED', value: (r) => formatTime(r.createdAt) },
    { header: 'BY', value: (r) => r.createdBy?.email ?? '' },
    { header: 'DESCRIPTION', value: (r) => r.description },
  ],
);

const add: Command = {
  path: 'reservations add',
  args: '<prefix>',
  summary: 'Reserve a serial prefix: serials starting with it register only with an enrollment token.',
  description:
    'Without a device CA (PORTHOLE_DEVICE_CA_FILE) serials are first come, first served; reserving a\n' +
    "fleet's prefix keeps accounts from claiming a genuine device's serial before the device registers.\n" +
    'Devices already registered are not affected.',
  options: { description: { type: 'string', arg: 'D', help: 'what the prefix is for, e.g. the product line' } },
  async run(ctx, args) {
    const description = args.values.description as string | undefined;
    const r = await ctx.client(args).post<SerialReservation>('/serial-reservations', {
      prefix: args.positionals[0]!,
      ...(description !== undefined ? { description } : {}),
    });
    printResult(ctx, args, r, `Reserved serial prefix ${r.prefix}: serials starting with it now register only with an enrollment token.`);
  },
};

const remove = deleteCommand(
  { path: 'reservations remove', args: '<prefix>', summary: 'Release a reserved serial prefix (accounts may claim such serials again).' },
  ([prefix]) => `/serial-reservations/${encodeURIComponent(prefix)}`,
  ([prefix]) => [{ prefix: prefix.toLowerCase(), removed: true }, `Released serial prefix ${prefix.toLowerCase()}.`],
);

export const reservationCommands: Command[] = [list, add, remove];
