// Column builders the tables share, so that a kind of column is declared once: its SQL name, type,
// nullability and what happens to the row when the row it points at is deleted. Each call makes new
// builders (drizzle binds a builder to the table it is spread into).
import { bigint, text, timestamp, uuid, type AnyPgColumn } from 'drizzle-orm/pg-core';

/** The row's own id: a random UUID. */
export const id = () => uuid('id').primaryKey().defaultRandom();

/** A moment, with its time zone. */
export const at = (name: string) => timestamp(name, { withTimezone: true });

/** When the row was made. */
export const createdAt = () => at('created_at').notNull().defaultNow();

/** A required reference whose row goes when the referenced row is deleted. */
export const ownedBy = (name: string, target: () => AnyPgColumn) => uuid(name).notNull().references(target, { onDelete: 'cascade' });

/** An optional reference to who did something: it becomes null when that row is deleted. */
export const doneBy = (name: string, target: () => AnyPgColumn) => uuid(name).references(target, { onDelete: 'set null' });

/** A WireGuard peer's last handshake, endpoint and traffic, as the hub writes them back. */
export const peerActivity = () => ({
  lastHandshakeAt: at('last_handshake_at'),
  lastEndpoint: text('last_endpoint'),
  rxBytes: bigint('rx_bytes', { mode: 'number' }).notNull().default(0),
  txBytes: bigint('tx_bytes', { mode: 'number' }).notNull().default(0),
});

/** A secret held only as its hash, with the moment it was made, its absolute expiry and where from: browser and device sessions. */
export const sessionColumns = () => ({
  createdAt: createdAt(),
  /** Absolute expiry, never extended. */
  expiresAt: at('expires_at').notNull(),
  createdIp: text('created_ip'),
});
