// One-time tickets carrying a portal login to a device host (shared contract "Visitor auth at the
// proxy"): 32 random bytes, 60 s, single use, bound to one serial and to the kind of host it opens
// (the device's own host, or the single device host where it also selects the device); kept only
// as SHA-256 hashes so a heap dump or a database dump does not yield usable tickets. The portal's
// /auth/device issues, the proxy redeems. Where they are kept is the backend's business: this
// process's memory on a single node, the database in a cluster (cluster-tickets.ts), where one
// DELETE … RETURNING makes a ticket good once on whichever node the visitor's redirect reaches.
import { createHash, randomBytes } from 'node:crypto';

export const TICKET_TTL_MS = 60_000;

export interface TicketGrant {
  userId: string;
  /** Where to send the visitor on the device host (an origin-form path, validated again on use). */
  next: string;
}

/** A ticket for the single device host: it selects `serial` there, with a device session for `userId` when set. */
export interface SingleHostGrant {
  serial: string;
  /** Null: the device is public and the visitor has no access of their own, so no session. */
  userId: string | null;
  next: string;
}

export interface TicketStore {
  /** A fresh ticket (base64url) for `userId` to enter device `serial` on its own host. */
  issue(userId: string, serial: string, next: string): Promise<string>;
  /** A fresh ticket that selects `serial` on the single device host. */
  issueForSingleHost(grant: SingleHostGrant): Promise<string>;
  /** The grant, exactly once, while unexpired and only for the serial it was issued for. */
  redeem(ticket: string, serial: string): Promise<TicketGrant | undefined>;
  /** A single-host grant, exactly once, while unexpired; a serial host's ticket is refused here (and the reverse). */
  redeemForSingleHost(ticket: string): Promise<SingleHostGrant | undefined>;
}

/** A ticket as a backend keeps it, under the ticket's hash. */
export interface TicketEntry {
  userId: string | null;
  next: string;
  serial: string;
  singleHost: boolean;
  expiresMs: number;
}

/** Where tickets are kept. */
export interface TicketBackend {
  /** Keeps a new ticket; resolves once any node can take it. */
  put(hash: string, entry: TicketEntry): Promise<void>;
  /** Removes the ticket and answers what it was, to exactly one caller however many race for it. */
  take(hash: string): Promise<TicketEntry | undefined>;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

const TICKET = /^[A-Za-z0-9_-]{43}$/;

export interface TicketStoreOptions {
  now?: () => number;
  ttlMs?: number;
}

/** Tickets over `backend`: issuing, and the checks a redemption makes (format, expiry, kind, serial). */
export function ticketStoreOver(backend: TicketBackend, options: TicketStoreOptions = {}): TicketStore {
  const now = options.now ?? Date.now;
  const ttlMs = options.ttlMs ?? TICKET_TTL_MS;

  async function add(entry: Omit<TicketEntry, 'expiresMs'>): Promise<string> {
    const ticket = randomBytes(32).toString('base64url');
    await backend.put(hashSecret(ticket), { ...entry, expiresMs: now() + ttlMs });
    return ticket;
  }

  async function take(ticket: string): Promise<TicketEntry | undefined> {
    if (typeof ticket !== 'string' || !TICKET.test(ticket)) return undefined;
    // Consumed by any attempt, even a wrong-host one: a leaked ticket is worth one try at most.
    const entry = await backend.take(hashSecret(ticket));
    return entry && entry.expiresMs > now() ? entry : undefined;
  }

  return {
    issue: (userId, serial, next) => add({ userId, serial, next, singleHost: false }),
    issueForSingleHost: (grant) => add({ ...grant, singleHost: true }),
    async redeem(ticket, serial) {
      const entry = await take(ticket);
      if (!entry || entry.singleHost || entry.serial !== serial || entry.userId === null) return undefined;
      return { userId: entry.userId, next: entry.next };
    },
    async redeemForSingleHost(ticket) {
      const entry = await take(ticket);
      if (!entry?.singleHost) return undefined;
      return { serial: entry.serial, userId: entry.userId, next: entry.next };
    },
  };
}

export interface MemoryTicketOptions extends TicketStoreOptions {
  /** Outstanding tickets kept at most; the oldest go first (each is a login that was not finished). */
  maxEntries?: number;
}

/** A single node's tickets, in this process's memory. */
export function createTicketStore(options: MemoryTicketOptions = {}): TicketStore & { readonly size: number } {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 100_000;
  const tickets = new Map<string, TicketEntry>();
  const backend: TicketBackend = {
    async put(hash, entry) {
      // Insertion order is expiry order (fixed TTL), so expired entries are at the front.
      const nowMs = now();
      for (const [key, old] of tickets) {
        if (old.expiresMs > nowMs) break;
        tickets.delete(key);
      }
      tickets.set(hash, entry);
      if (tickets.size > maxEntries) tickets.delete(tickets.keys().next().value!);
    },
    async take(hash) {
      const entry = tickets.get(hash);
      tickets.delete(hash);
      return entry;
    },
  };
  return {
    ...ticketStoreOver(backend, options),
    get size() {
      return tickets.size;
    },
  };
}
