// One-time tickets carrying a portal login to a device host (shared contract "Visitor auth at the
// proxy"): 32 random bytes, 60 s, single use, bound to one serial and to the kind of host it opens
// (the device's own host, or the single device host where it also selects the device); kept only
// as SHA-256 hashes so a heap dump does not yield usable tickets. The portal's /auth/device issues,
// the proxy redeems.
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
  issue(userId: string, serial: string, next: string): string;
  /** A fresh ticket that selects `serial` on the single device host. */
  issueForSingleHost(grant: SingleHostGrant): string;
  /** The grant, exactly once, while unexpired and only for the serial it was issued for. */
  redeem(ticket: string, serial: string): TicketGrant | undefined;
  /** A single-host grant, exactly once, while unexpired; a serial host's ticket is refused here (and the reverse). */
  redeemForSingleHost(ticket: string): SingleHostGrant | undefined;
  /**
   * In a cluster: resolves true once another node's ticket is known here (its notice may arrive
   * after the visitor's redirect), false after a short wait. Absent on a single node.
   */
  whenKnown?(ticket: string): Promise<boolean>;
}

/** A ticket as the store keeps it (what a cluster node passes to the others, by hash). */
export interface TicketEntry {
  userId: string | null;
  next: string;
  serial: string;
  singleHost: boolean;
  expiresMs: number;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

type Entry = TicketEntry;

export interface TicketStoreOptions {
  /** Called with each ticket issued here (by hash): a cluster node tells the others. */
  onIssued?(hash: string, entry: TicketEntry): void;
  /** Called with each ticket taken here (redeemed or burnt): the others forget it. */
  onTaken?(hash: string): void;
  now?: () => number;
  ttlMs?: number;
  /** Outstanding tickets kept at most; the oldest go first (each is a login that was not finished). */
  maxEntries?: number;
}

export interface SharedTicketStore extends TicketStore {
  readonly size: number;
  /** A ticket another node issued. */
  adopt(hash: string, entry: TicketEntry): void;
  /** A ticket another node took. */
  forget(hash: string): void;
  /** Whether a ticket is known here (a redirect may arrive before the issuing node's notice). */
  has(ticket: string): boolean;
}

export function createTicketStore(options: TicketStoreOptions = {}): SharedTicketStore {
  const now = options.now ?? Date.now;
  const ttlMs = options.ttlMs ?? TICKET_TTL_MS;
  const maxEntries = options.maxEntries ?? 100_000;
  const tickets = new Map<string, Entry>();

  function sweep(nowMs: number): void {
    // Insertion order is expiry order (fixed TTL), so expired entries are at the front.
    for (const [hash, entry] of tickets) {
      if (entry.expiresMs > nowMs) break;
      tickets.delete(hash);
    }
  }

  function add(entry: Omit<Entry, 'expiresMs'>): string {
    const nowMs = now();
    sweep(nowMs);
    const ticket = randomBytes(32).toString('base64url');
    const hash = hashSecret(ticket);
    const stored = { ...entry, expiresMs: nowMs + ttlMs };
    tickets.set(hash, stored);
    if (tickets.size > maxEntries) tickets.delete(tickets.keys().next().value!);
    options.onIssued?.(hash, stored);
    return ticket;
  }

  function take(ticket: string): Entry | undefined {
    if (typeof ticket !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(ticket)) return undefined;
    const hash = hashSecret(ticket);
    const entry = tickets.get(hash);
    if (!entry) return undefined;
    // Consumed by any attempt, even a wrong-host one: a leaked ticket is worth one try at most.
    tickets.delete(hash);
    options.onTaken?.(hash);
    return entry.expiresMs > now() ? entry : undefined;
  }

  return {
    issue: (userId, serial, next) => add({ userId, serial, next, singleHost: false }),
    issueForSingleHost: (grant) => add({ ...grant, singleHost: true }),
    redeem(ticket, serial) {
      const entry = take(ticket);
      if (!entry || entry.singleHost || entry.serial !== serial || entry.userId === null) return undefined;
      return { userId: entry.userId, next: entry.next };
    },
    redeemForSingleHost(ticket) {
      const entry = take(ticket);
      if (!entry?.singleHost) return undefined;
      return { serial: entry.serial, userId: entry.userId, next: entry.next };
    },
    get size() {
      return tickets.size;
    },
    adopt(hash, entry) {
      if (!/^[A-Za-z0-9_-]{43}$/.test(hash) || entry.expiresMs <= now()) return;
      sweep(now());
      tickets.set(hash, entry);
      if (tickets.size > maxEntries) tickets.delete(tickets.keys().next().value!);
    },
    forget(hash) {
      tickets.delete(hash);
    },
    has(ticket) {
      return typeof ticket === 'string' && tickets.has(hashSecret(ticket));
    },
    ...(options.onIssued
      ? {
          async whenKnown(ticket: string) {
            if (typeof ticket !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(ticket)) return false;
            const hash = hashSecret(ticket);
            for (let waited = 0; waited < ARRIVAL_WAIT_MS; waited += 25) {
              if (tickets.has(hash)) return true;
              await new Promise((r) => setTimeout(r, 25));
            }
            return tickets.has(hash);
          },
        }
      : {}),
  };
}

/** How long a node waits for another node's ticket notice (LISTEN/NOTIFY takes milliseconds). */
const ARRIVAL_WAIT_MS = 1_000;
