// One-time device-login tickets (contract "Visitor auth at the proxy"): the portal issues one after
// checking the user may reach the device, the proxy redeems it on the device host and sets its own
// host-only cookie. The proxy owns the real store; this interface is what the portal needs, and the
// in-memory store below serves tests and single-process setups.
import { createHash, randomBytes } from 'node:crypto';

export interface TicketStore {
  /** A fresh ticket (random 32 bytes) for `userId` to enter device `deviceSerial` at path `next`. */
  issue(userId: string, deviceSerial: string, next: string): Promise<string>;
}

export interface RedeemedTicket {
  userId: string;
  deviceSerial: string;
  next: string;
}

export const TICKET_TTL_MS = 60_000;

/** Tickets kept as SHA-256 in memory, valid 60 s, single use, bound to one device. */
export function createMemoryTicketStore(options: { ttlMs?: number; now?: () => number; maxTickets?: number } = {}) {
  const ttlMs = options.ttlMs ?? TICKET_TTL_MS;
  const now = options.now ?? Date.now;
  const maxTickets = options.maxTickets ?? 10_000;
  const tickets = new Map<string, RedeemedTicket & { expiresAt: number }>();
  const digest = (ticket: string) => createHash('sha256').update(ticket).digest('hex');

  return {
    async issue(userId: string, deviceSerial: string, next: string): Promise<string> {
      const t = now();
      for (const [k, v] of tickets) if (v.expiresAt <= t) tickets.delete(k);
      // Bounded: the oldest unredeemed tickets go first.
      while (tickets.size >= maxTickets) tickets.delete(tickets.keys().next().value!);
      const ticket = randomBytes(32).toString('base64url');
      tickets.set(digest(ticket), { userId, deviceSerial, next, expiresAt: t + ttlMs });
      return ticket;
    },
    /** Consumes `ticket` if it is live and was issued for `deviceSerial`. */
    redeem(ticket: string, deviceSerial: string): RedeemedTicket | undefined {
      const key = digest(ticket);
      const entry = tickets.get(key);
      if (!entry) return undefined;
      tickets.delete(key);
      if (entry.expiresAt <= now() || entry.deviceSerial !== deviceSerial) return undefined;
      return { userId: entry.userId, deviceSerial: entry.deviceSerial, next: entry.next };
    },
    get size() {
      return tickets.size;
    },
  };
}
