// Hub cluster state shared through the database: the nodes with their heartbeat leases, which node
// holds each device's WireGuard session, hub-wide settings every node must agree on (the hub's
// public key), and the one-time device-login tickets a cluster redeems. A single node writes the
// same rows (tickets apart); it just never finds another node in them.
import { boolean, index, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { users } from './accounts.js';
import { devices } from './devices.js';
import { at } from './columns.js';

export const clusterNodes = pgTable('cluster_nodes', {
  /** PORTHOLE_NODE_NAME. */
  name: text('name').primaryKey(),
  /** The node's WireGuard UDP endpoint (`host:port`) as agents dial it. */
  wgEndpoint: text('wg_endpoint').notNull(),
  /** Where the other nodes reach its internal listener (`http://host:port`); null: not in cluster mode. */
  clusterUrl: text('cluster_url'),
  startedAt: at('started_at').notNull(),
  lastSeenAt: at('last_seen_at').notNull(),
  /** The node counts as alive until then; each heartbeat moves it on, a leaving node sets it to now. */
  leaseExpiresAt: at('lease_expires_at').notNull(),
});

export const deviceHolders = pgTable(
  'device_holders',
  {
    deviceId: uuid('device_id')
      .primaryKey()
      .references(() => devices.id, { onDelete: 'cascade' }),
    /** The node with the device's newest WireGuard session (no foreign key: a node row may be pruned first). */
    nodeName: text('node_name').notNull(),
    /** That session's handshake time: a hold moves only to a newer handshake (compare-and-set). */
    heldSince: at('held_since').notNull(),
  },
  (t) => [index('device_holders_node_idx').on(t.nodeName)],
);

export const hubSettings = pgTable('hub_settings', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  updatedAt: at('updated_at').notNull().defaultNow(),
});

/**
 * One-time device-login tickets in cluster mode (a single node keeps them in memory): issued on one
 * node, redeemed on whichever node the visitor's redirect reaches, by one DELETE … RETURNING, so a
 * ticket is good once across the whole cluster. Kept only as the SHA-256 hash of the ticket.
 */
export const visitorTickets = pgTable(
  'visitor_tickets',
  {
    hash: text('hash').primaryKey(),
    /** Whose login it carries; null: a public device's single-host selection without a session. */
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    serial: text('serial').notNull(),
    /** A ticket for the single device host (it selects the device there), not for the serial's own host. */
    singleHost: boolean('single_host').notNull(),
    next: text('next').notNull(),
    expiresAt: at('expires_at').notNull(),
  },
  (t) => [index('visitor_tickets_expires_idx').on(t.expiresAt)],
);
