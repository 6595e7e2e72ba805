// A recurring job (a sync loop, a heartbeat, an outbox poll) that fails on every round while a
// dependency is away would log the same warning every second for as long as the outage lasts,
// burying what else happened. Its log: the first failure of a streak as a warning, the repeats at
// debug with a reminder warning each `remindMs`, and one line when it works again.
import type { Logger } from './logger.js';

export interface FailureStreak {
  /** One more failed round; logged as described above. */
  failed(err: unknown, fields?: Record<string, unknown>): void;
  /** A round worked: ends a streak with one info line (how many failures, how long). */
  succeeded(): void;
  /** Failures in the current streak (0 when the last round worked). */
  readonly failures: number;
}

export interface FailureStreakOptions {
  /** A reminder warning while the streak lasts, at most this often (default 60 s). */
  remindMs?: number;
  /** Milliseconds, monotonic; for tests. */
  now?: () => number;
}

export interface FailureStreakMessages {
  /** The warning of a failed round, e.g. 'peer sync failed; keeping the current peer set'. */
  failed: string;
  /** The line that ends a streak, e.g. 'peer sync works again'. */
  recovered: string;
}

export function failureStreak(logger: Logger | undefined, messages: FailureStreakMessages, options: FailureStreakOptions = {}): FailureStreak {
  const message = messages.failed;
  const remindMs = options.remindMs ?? 60_000;
  const now = options.now ?? (() => performance.now());
  let failures = 0;
  let since = 0;
  let warnedAt = 0;
  return {
    failed(err, fields = {}) {
      failures++;
      const t = now();
      const line = { ...fields, err: String(err) };
      if (failures === 1) {
        since = warnedAt = t;
        logger?.warn(message, line);
      } else if (t - warnedAt >= remindMs) {
        warnedAt = t;
        logger?.warn(message, { ...line, failures, failingForMs: Math.round(t - since) });
      } else {
        logger?.debug(message, { ...line, failures });
      }
    },
    succeeded() {
      if (failures === 0) return;
      logger?.info(messages.recovered, { failures, failedForMs: Math.round(now() - since) });
      failures = 0;
    },
    get failures() {
      return failures;
    },
  };
}
