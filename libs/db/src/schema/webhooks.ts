// Webhooks: endpoints that receive signed JSON POSTs on device and access events, and the durable
// outbox of deliveries (also the delivery log admins read). The signing secret is kept encrypted
// with a key derived from the hub key (it must be usable to sign, so it cannot be hashed).
import { bigserial, index, integer, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { users } from './accounts.js';
import { at, createdAt, doneBy, id } from './columns.js';

export const webhooks = pgTable('webhooks', {
  id: id(),
  url: text('url').notNull(),
  /** Event names this endpoint receives (webhook-events in the hub). */
  events: text('events').array().notNull(),
  /** AES-256-GCM of the secret: base64url(iv | ciphertext | tag). */
  secretSealed: text('secret_sealed').notNull(),
  /** The organisation whose events it receives; null = every event of the hub. */
  organizationId: uuid('organization_id'),
  createdBy: doneBy('created_by', () => users.id),
  createdAt: createdAt(),
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
    createdAt: createdAt(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: at('next_attempt_at').notNull().defaultNow(),
    /** A node working on it holds it until then (a crashed node's claim runs out). */
    lockedUntil: at('locked_until'),
    deliveredAt: at('delivered_at'),
    /** Given up after the last attempt. */
    failedAt: at('failed_at'),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
  },
  (t) => [index('webhook_deliveries_due_idx').on(t.deliveredAt, t.failedAt, t.nextAttemptAt), index('webhook_deliveries_created_idx').on(t.createdAt)],
);
