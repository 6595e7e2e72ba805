// The overlay's own state: admin WireGuard peers, the tunnel-address allocator (one counter row per
// pool + a free list of deleted addresses) and the peer change feed the hub's data plane follows.
import { bigint, bigserial, index, inet, pgTable, smallint, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from './accounts.js';
import { organizations } from './organizations.js';
import { at, createdAt, doneBy, id, ownedBy, peerActivity } from './columns.js';

export const adminPeers = pgTable(
  'admin_peers',
  {
    id: id(),
    name: text('name').notNull(),
    /** The peer reaches this organisation's devices only. */
    organizationId: ownedBy('organization_id', () => organizations.id),
    publicKey: text('public_key').notNull(),
    tunnelIp: inet('tunnel_ip').notNull(),
    createdBy: doneBy('created_by', () => users.id),
    createdAt: createdAt(),
    ...peerActivity(),
  },
  (t) => [
    uniqueIndex('admin_peers_public_key_unique').on(t.publicKey),
    uniqueIndex('admin_peers_tunnel_ip_unique').on(t.tunnelIp),
  ],
);

/**
 * One row per overlay CIDR: the next never-used address. Allocation locks this row
 * (`UPDATE … RETURNING`) until commit, so two transactions can never hand out the same address.
 */
export const overlayPools = pgTable('overlay_pools', {
  cidr: text('cidr').primaryKey(),
  nextAddress: inet('next_address').notNull(),
});

/** Addresses given back by a deliberate delete; reused (lowest first) before the counter moves on. */
export const freeTunnelIps = pgTable('free_tunnel_ips', {
  address: inet('address').primaryKey(),
  cidr: text('cidr').notNull(),
  freedAt: at('freed_at').notNull().defaultNow(),
});

/**
 * The version counter of the peer set (single row, id = 1). Every transaction that changes peers
 * bumps it last, holding the row lock until commit, so versions become visible in order.
 */
export const registryState = pgTable('registry_state', {
  id: smallint('id').primaryKey(),
  version: bigint('version', { mode: 'number' }).notNull(),
});

export const PEER_KINDS = ['device', 'admin'] as const;
export type PeerKind = (typeof PEER_KINDS)[number];
export const PEER_CHANGE_OPS = ['upsert', 'remove'] as const;
export type PeerChangeOp = (typeof PEER_CHANGE_OPS)[number];

export const peerChanges = pgTable(
  'peer_changes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    version: bigint('version', { mode: 'number' }).notNull(),
    kind: text('kind', { enum: PEER_KINDS }).notNull(),
    op: text('op', { enum: PEER_CHANGE_OPS }).notNull(),
    publicKey: text('public_key').notNull(),
    tunnelIp: inet('tunnel_ip').notNull(),
    /** Device serial or admin peer name. */
    name: text('name').notNull(),
    /** The peer's organisation (the overlay router keeps admin peers to their own organisation's devices); null in rows from before it was recorded. */
    organizationId: uuid('organization_id'),
    at: at('at').notNull().defaultNow(),
  },
  (t) => [index('peer_changes_version_idx').on(t.version)],
);
