// A buffered access-log writer for the proxy's hot path (reliability-security §3.8 "Audit log"):
// `record()` never waits on the database; entries go out in batches on a timer; a bounded queue
// keeps memory flat while the database is down, counting what it had to drop.
import type { Logger } from '../ops/logger.js';
import type { AccessLogEntry } from './access-log.js';

export interface AccessLogWriterOptions {
  /** Entries held at most; beyond this new entries are dropped and counted. */
  maxQueue?: number;
  /** Entries per INSERT. */
  maxBatch?: number;
  /** How often the queue is flushed (the timer is unref'd). 0 disables the timer. */
  flushIntervalMs?: number;
  logger?: Logger;
}

export interface AccessLogWriterStats {
  queued: number;
  written: number;
  dropped: number;
  failedFlushes: number;
}

export function createAccessLogWriter(
  append: (entries: readonly AccessLogEntry[]) => Promise<void>,
  options: AccessLogWriterOptions = {},
) {
  const maxQueue = options.maxQueue ?? 10_000;
  const maxBatch = options.maxBatch ?? 500;
  let queue: AccessLogEntry[] = [];
  const stats = { written: 0, dropped: 0, failedFlushes: 0 };
  let flushing: Promise<void> | undefined;

  async function flushOnce(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      try {
        await append(batch);
      } catch (err) {
        // Keep the entries for the next attempt; the queue bound still applies to new ones.
        stats.failedFlushes++;
        options.logger?.warn('access log flush failed; will retry', { err, queued: queue.length });
        return;
      }
      queue = queue.slice(batch.length);
      stats.written += batch.length;
    }
  }

  function flush(): Promise<void> {
    flushing ??= flushOnce().finally(() => {
      flushing = undefined;
    });
    return flushing;
  }

  const interval = options.flushIntervalMs ?? 1000;
  const timer = interval > 0 ? setInterval(() => void flush(), interval) : undefined;
  timer?.unref();

  return {
    record(entry: AccessLogEntry): void {
      if (queue.length >= maxQueue) {
        stats.dropped++;
        return;
      }
      queue.push(entry);
    },
    flush,
    /** Stops the timer and writes what is queued (one attempt). */
    async close(): Promise<void> {
      if (timer) clearInterval(timer);
      await flush();
    },
    stats(): AccessLogWriterStats {
      return { queued: queue.length, ...stats };
    },
  };
}
