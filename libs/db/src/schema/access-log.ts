// Who reached which device, when, from where, and how it went. Append-only; queried by device serial
// and time range. The serial (not a foreign key) is kept so history survives a device's deletion.
import { bigint, bigserial, index, integer, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { at } from './columns.js';

export const accessLog = pgTable(
  'access_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: at('at').notNull(),
    serial: text('serial').notNull(),
    /** The device's organisation when the entry was written (no foreign key, like the serial). */
    organizationId: uuid('organization_id').notNull(),
    userId: uuid('user_id'),
    /** The installer link a visitor without an account used (device_links.id); userId is then null. */
    linkId: uuid('link_id'),
    /** From the socket, never from client-supplied headers. */
    clientIp: text('client_ip').notNull(),
    method: text('method').notNull(),
    path: text('path').notNull(),
    status: integer('status').notNull(),
    bytesIn: bigint('bytes_in', { mode: 'number' }).notNull().default(0),
    bytesOut: bigint('bytes_out', { mode: 'number' }).notNull().default(0),
    durationMs: integer('duration_ms').notNull().default(0),
  },
  (t) => [index('access_log_serial_at_idx').on(t.serial, t.at, t.id), index('access_log_at_idx').on(t.at), index('access_log_organization_at_idx').on(t.organizationId, t.at)],
);
