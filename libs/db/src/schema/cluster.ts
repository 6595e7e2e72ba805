// Hub cluster state shared through the database: the nodes with their heartbeat leases, which node
// holds each device's WireGuard session, and hub-wide settings every node must agree on (the hub's
// public key). A single node writes the same rows; it just never finds another node in them.
import { index, pgTable, text, uuid } from 'drizzle-orm/pg-core';
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
