// Webhooks: endpoints that receive signed JSON POSTs on device and access events, and the durable
// outbox of deliveries (also the delivery log admins read). The signing secret is kept encrypted
// with a key derived from the hub key (it must be usable to sign, so it cannot be hashed).
import { bigserial, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from './accounts.js';

export const webhooks = pgTable('webhooks', {
  id: uuid('id').primaryKey().defaultRandom(),
  url: text('url').notNull(),
  /** Event names this endpoint receives (webhook-events in the hub). */
  events: text('events').array().notNull(),
  /** AES-256-GCM of the secret: base64url(iv | ciphertext | tag). */
  secretSealed: text('secret_sealed').notNull(),
  /** The organisation whose events it receives; null = every event of the hub. */
  organizationId: uuid('organization_id'),
  createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * One event for one endpoint. `webhookId` null: the hub-wide endpoint from the configuration
 * (PORTHOLE_WEBHOOK_URL). Rows stay after delivery (the log) and are pruned after some days.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    webhookId: uuid('webhook_id').references(() => webhooks.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    event: text('event').notNull(),
    /** The JSON body exactly as signed and sent. */
    body: text('body').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    /** A node working on it holds it until then (a crashed node's claim runs out). */
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    /** Given up after the last attempt. */
    failedAt: timestamp('failed_at', { withTimezone: true }),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
  },
  (t) => [index('webhook_deliveries_due_idx').on(t.deliveredAt, t.failedAt, t.nextAttemptAt), index('webhook_deliveries_created_idx').on(t.createdAt)],
);
