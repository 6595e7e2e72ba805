// A cluster's one-time device-login tickets, in the database (visitor_tickets): the portal on one
// node issues, and the visitor's redirect may reach any node. A redemption is one DELETE …
// RETURNING, so however many nodes race with the same ticket, exactly one gets its row. (Replicating
// tickets into every node's memory by notification left a window in which a node that had not yet
// heard of a redemption elsewhere accepted the same ticket again.) An INSERT has committed before
// the portal's redirect leaves, so no node waits for a ticket to arrive either.
import { sql } from 'drizzle-orm';
import { resultRows, type Database } from '@porthole/db';
import { timestampMs } from './cluster-store.js';
import { ticketStoreOver, type TicketBackend, type TicketStore, type TicketStoreOptions } from '../proxy/ticket-store.js';

/** Expired rows (logins never finished) are deleted at most this often, by whichever issue comes next. */
const SWEEP_EVERY_MS = 60_000;

interface TicketRow {
  user_id: string | null;
  serial: string;
  single_host: boolean;
  next: string;
  expires_at: string | Date;
}

export function createClusterTicketStore(db: Database, options: TicketStoreOptions = {}): TicketStore {
  const now = options.now ?? Date.now;
  let sweptMs = -Infinity;
  const backend: TicketBackend = {
    async put(hash, entry) {
      const nowMs = now();
      if (nowMs - sweptMs >= SWEEP_EVERY_MS) {
        sweptMs = nowMs;
        await db.execute(sql`delete from visitor_tickets where expires_at <= ${new Date(nowMs).toISOString()}`);
      }
      await db.execute(sql`
        insert into visitor_tickets (hash, user_id, serial, single_host, next, expires_at)
        values (${hash}, ${entry.userId}, ${entry.serial}, ${entry.singleHost}, ${entry.next}, ${new Date(entry.expiresMs).toISOString()})`);
    },
    async take(hash) {
      const [row] = resultRows<TicketRow>(
        await db.execute(sql`delete from visitor_tickets where hash = ${hash} returning user_id, serial, single_host, next, expires_at`),
      );
      if (!row) return undefined;
      return { userId: row.user_id, serial: row.serial, singleHost: row.single_host, next: row.next, expiresMs: timestampMs(row.expires_at) };
    },
  };
  return ticketStoreOver(backend, options);
}
