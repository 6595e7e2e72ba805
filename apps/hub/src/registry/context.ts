// What every registry service shares: the database, the clock, the overlay pool, the hub's own
// WireGuard identity, how device URLs look, and the post-commit change listeners.
import { isRetryableTransactionError, isUniqueViolation, recordPeerChanges, type Database, type Executor, type PeerChange } from '@porthole/db';
import type { Logger } from '../ops/logger.js';
import type { OverlayPool } from './overlay-pool.js';

export interface HubIdentity {
  /** The hub's WireGuard public key (base64). */
  publicKey: string;
  /** host:port devices dial, e.g. `hub.example.io:51820`. */
  endpoint: string;
  /** The hub's overlay address (the pool's first host address). */
  tunnelIp: string;
}

export interface RegistryContext {
  db: Database;
  now: () => Date;
  pool: OverlayPool;
  hub: HubIdentity;
  deviceUrl: (serial: string) => string;
  logger: Logger | undefined;
  /** Tells in-process listeners (the hub's data plane) about committed peer changes. */
  emit: (changes: PeerChange[]) => void;
}

export const PERSISTENT_KEEPALIVE_SECONDS = 25;

/** A change the registry records: it always knows the peer's organisation. */
export type PendingPeerChange = Omit<PeerChange, 'version' | 'organizationId'> & { organizationId: string };

/** Records `pending` under a new version inside `tx` (nothing when empty); returns them versioned for emit(). */
export async function recordChanges(tx: Executor, pending: readonly PendingPeerChange[]): Promise<PeerChange[]> {
  if (pending.length === 0) return [];
  const version = await recordPeerChanges(tx, [...pending]);
  return pending.map((c) => ({ ...c, version }));
}

/**
 * Runs `fn` in one transaction; retries (a bounded number of times) when a concurrent transaction
 * made it fail in a way a fresh attempt resolves: serialization failures, deadlocks, and unique
 * violations on the constraints named in `retryOnConstraints` (two first registrations of a serial).
 */
export async function inTransaction<T>(
  db: Database,
  fn: (tx: Executor) => Promise<T>,
  retryOnConstraints: readonly string[] = [],
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction((tx) => fn(tx as unknown as Executor));
    } catch (err) {
      const retry = isRetryableTransactionError(err) || retryOnConstraints.some((c) => isUniqueViolation(err, c));
      if (!retry || attempt >= 3) throw err;
    }
  }
}
