// `porthole peers list|delete`: the admin WireGuard peers of the organisations the caller manages
// (GET and DELETE /api/v1/admin-peers); `porthole wg-config` adds one (with --org, into that
// organisation). A peer reaches only its own organisation's devices.
import type { AdminPeer, Organization } from '@porthole/api-contract';
import type { Command } from '../command.js';
import { formatTime } from '../format.js';
import { printList } from '../output.js';
import { deleteCommand } from '../api-commands.js';

const list: Command = {
  path: 'peers list',
  summary: "List admin WireGuard peers: every organisation's for a hub administrator, else your organisations'.",
  async run(ctx, args) {
    const client = ctx.client(args);
    const [peers, orgs] = await Promise.all([client.get<AdminPeer[]>('/admin-peers'), client.get<Organization[]>('/organizations')]);
    const orgName = new Map(orgs.map((o) => [o.id, o.name]));
    printList(ctx, args, peers, 'No admin peers.', [
      { header: 'ID', value: (p) => p.id },
      { header: 'NAME', value: (p) => p.name },
      { header: 'ORGANIZATION', value: (p) => orgName.get(p.organizationId) ?? p.organizationId },
      { header: 'TUNNEL IP', value: (p) => p.tunnelIp },
      { header: 'LAST HANDSHAKE', value: (p) => (p.lastHandshakeAt ? formatTime(p.lastHandshakeAt) : 'never') },
    ]);
  },
};

const remove = deleteCommand(
  { path: 'peers delete', args: '<id>', summary: 'Remove an admin WireGuard peer (its tunnel address is freed; its laptop loses the overlay at once).' },
  ([id]) => `/admin-peers/${encodeURIComponent(id)}`,
  ([id]) => [{ id, deleted: true }, `Deleted admin peer ${id}.`],
);

export const peerCommands: Command[] = [list, remove];
