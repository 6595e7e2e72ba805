// The hub's side of the device's access journal: the proxy's access-log entries, folded into
// visits (one visitor — user, or address for an anonymous one — on one port of one device, until
// it has been quiet for `idleMs`), sent to the device over the control channel when a visit starts,
// while it goes on (counts changed) and when it ends. A device that cannot be reached keeps its
// entries queued (bounded) until it can.
import { randomBytes } from 'node:crypto';
import type { JournalEntry } from '@porthole/device-control';
import type { AccessLogEntry, AccessLogSink } from '../proxy/contracts.js';
import type { Logger } from '../ops/logger.js';

export interface VisitJournalOptions {
  /** Sends entries to the device; resolves false (or rejects) when it could not: they are kept. */
  deliver(serial: string, entries: JournalEntry[]): Promise<boolean>;
  /** The visitor's e-mail address and organisation (null where the hub has none). */
  userInfo(userId: string): Promise<{ email: string; organisation: string | null } | undefined>;
  /** A visit's first request that reached the device (status below 400): the webhooks' "access started". */
  onVisitStarted?(entry: AccessLogEntry): void;
  /** Quiet time after which a visit has ended (default 5 minutes). */
  idleMs?: number;
  flushIntervalMs?: number;
  /** Unsent entries kept per device while it is unreachable; the oldest are dropped. */
  maxPendingPerDevice?: number;
  /** Visits followed at once, and devices with unsent entries: beyond these the oldest go (memory bound). */
  maxOpenVisits?: number;
  maxPendingDevices?: number;
  now?: () => number;
  logger?: Logger;
}

interface Visit {
  entry: JournalEntry;
  serial: string;
  userId: string | null;
  lastMs: number;
  dirty: boolean;
  /** onVisitStarted was called for it. */
  announced?: boolean;
}

/** Sign-in redirects and refusals before anyone is known are not visits (the hub's own log has them). */
function isAnonymousRefusal(e: AccessLogEntry): boolean {
  return e.userId === null && (e.status === 302 || e.status === 401 || e.status === 403);
}

export function createVisitJournal(o: VisitJournalOptions): AccessLogSink & { flush(): Promise<void>; close(): Promise<void>; readonly openVisits: number } {
  const idleMs = o.idleMs ?? 5 * 60_000;
  const maxPending = o.maxPendingPerDevice ?? 200;
  const maxOpen = o.maxOpenVisits ?? 50_000;
  const maxDevices = o.maxPendingDevices ?? 10_000;
  const now = o.now ?? Date.now;
  const visits = new Map<string, Visit>();
  const pending = new Map<string, Map<string, JournalEntry>>(); // serial → id → entry
  const users = new Map<string, { email: string; organisation: string | null } | null>();
  let flushing: Promise<void> | undefined;

  const timer = setInterval(() => void flush(), o.flushIntervalMs ?? 5_000);
  timer.unref();

  function record(e: AccessLogEntry): void {
    if (isAnonymousRefusal(e)) return;
    const port = e.port ?? 80;
    if (port < 1) return; // a refused /.porthole/tcp without a valid port reached nothing
    const key = `${e.deviceId}|${e.userId ?? `ip:${e.clientIp}`}|${e.kind}|${port}`;
    const at = e.at.getTime();
    let v = visits.get(key);
    if (v && at - v.lastMs > idleMs) v = undefined; // the old visit ended; the flush sends it
    if (!v) {
      const startedAt = e.at.toISOString();
      v = {
        serial: e.serial,
        userId: e.userId,
        lastMs: at,
        dirty: true,
        entry: {
          id: randomBytes(8).toString('hex'),
          startedAt,
          lastAt: startedAt, // rewritten from lastMs whenever the visit is queued (queueVisit)
          ended: false,
          user: null,
          clientIp: e.clientIp,
          kind: e.kind,
          port,
          requests: 0,
          refused: 0,
          bytesIn: 0,
          bytesOut: 0,
        },
      };
      const old = visits.get(key);
      if (old) endVisit(key, old);
      visits.set(key, v);
      if (visits.size > maxOpen) {
        const [oldestKey, oldest] = visits.entries().next().value!;
        endVisit(oldestKey, oldest);
      }
    }
    if (!v.announced && e.status < 400) {
      v.announced = true;
      o.onVisitStarted?.(e);
    }
    const entry = v.entry;
    entry.requests++;
    if (e.status === 403 || e.status === 429 || e.status >= 500) entry.refused++;
    entry.bytesIn += e.bytesIn;
    entry.bytesOut += e.bytesOut;
    // entry.lastAt is written from lastMs when the visit is queued (queueVisit), not per request.
    v.lastMs = Math.max(at, v.lastMs);
    v.dirty = true;
  }

  function queue(serial: string, entry: JournalEntry): void {
    let q = pending.get(serial);
    if (!q) {
      pending.set(serial, (q = new Map()));
      if (pending.size > maxDevices) pending.delete(pending.keys().next().value!);
    }
    q.delete(entry.id);
    q.set(entry.id, { ...entry, user: entry.user && { ...entry.user } });
    while (q.size > maxPending) q.delete(q.keys().next().value!);
  }

  /** Queues a copy of the visit's entry as it stands, its lastAt from the visit's last request. */
  function queueVisit(v: Visit): void {
    v.entry.lastAt = new Date(v.lastMs).toISOString();
    queue(v.serial, v.entry);
  }

  function endVisit(key: string, v: Visit): void {
    v.entry.ended = true;
    queueVisit(v);
    visits.delete(key);
  }

  async function whoIs(userId: string | null): Promise<JournalEntry['user']> {
    if (userId === null) return null;
    if (!users.has(userId)) {
      const info = await o.userInfo(userId).catch(() => undefined);
      if (!info) return { email: 'unknown user', organisation: null };
      users.set(userId, info);
      if (users.size > 10_000) users.delete(users.keys().next().value!);
    }
    return users.get(userId) ?? null;
  }

  async function drain(): Promise<void> {
    const t = now();
    for (const [key, v] of visits) {
      if (!v.entry.user && v.userId) v.entry.user = await whoIs(v.userId);
      if (t - v.lastMs > idleMs) endVisit(key, v);
      else if (v.dirty) {
        v.dirty = false;
        queueVisit(v);
      }
    }
    for (const [serial, q] of pending) {
      const entries = [...q.values()];
      let delivered = false;
      try {
        delivered = await o.deliver(serial, entries);
      } catch (err) {
        o.logger?.debug('journal not delivered; kept for later', { device: serial, err: String(err) });
      }
      if (!delivered) continue;
      for (const e of entries) if (q.get(e.id) === e || q.get(e.id)?.lastAt === e.lastAt) q.delete(e.id);
      if (q.size === 0) pending.delete(serial);
    }
  }

  function flush(): Promise<void> {
    flushing ??= drain().finally(() => {
      flushing = undefined;
    });
    return flushing;
  }

  return {
    record(entry) {
      try {
        record(entry);
      } catch (err) {
        o.logger?.warn('journal record failed', { err });
      }
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
    get openVisits() {
      return visits.size;
    },
  };
}
