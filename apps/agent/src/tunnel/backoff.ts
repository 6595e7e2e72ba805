// Reconnect delays: exponential with "equal jitter" (half fixed, half random), so a fleet that lost
// its hub at the same moment does not come back in lock-step, yet no retry is ever near-instant.
export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
}

export const DEFAULT_BACKOFF = { baseMs: 1_000, maxMs: 60_000 };

/** Delay before retry number `attempt` (0-based); `random` in [0, 1). */
export function backoffDelayMs(attempt: number, random: () => number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? DEFAULT_BACKOFF.baseMs;
  const max = options.maxMs ?? DEFAULT_BACKOFF.maxMs;
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
