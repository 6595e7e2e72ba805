// Unattended registration with an enrollment token: `POST /api/v1/devices/register` at start,
// retried with backoff while the hub is unreachable or rate-limits; a refused token is reported
// once and not retried. Owns the retry timer; the agent changes phase on its reports.
import { HubError, HubUnreachableError, type HubClient } from '../hub/hub-client.js';
import type { Logger } from '../log/logger.js';
import type { Registration } from '../registration.js';
import type { Timers } from '../timers.js';
import { backoffDelayMs } from '../tunnel/backoff.js';

export interface EnrollmentOptions {
  hub: HubClient;
  timers: Timers;
  logger: Logger;
  serial: string;
  /** The register body, taken fresh per attempt. */
  request(): Parameters<HubClient['register']>[0];
  onRetrying(error: string): void;
  onSucceeded(registration: Registration): void;
  onRefused(error: string): void;
}

export interface Enrollment {
  start(): void;
  cancel(): void;
}

export function createEnrollment(o: EnrollmentOptions): Enrollment {
  let generation = 0;
  let timer: unknown;

  async function attempt(gen: number, n: number): Promise<void> {
    try {
      const reg = await o.hub.register(o.request());
      if (gen !== generation) return;
      if (reg.serial !== o.serial) throw new HubError(200, 'serial_mismatch', `hub registered "${reg.serial}"`);
      o.onSucceeded(reg);
    } catch (err) {
      if (gen !== generation) return;
      const retry = err instanceof HubUnreachableError || (err instanceof HubError && err.status === 429);
      const error = `Registration failed: ${(err as Error).message}`;
      if (!retry) {
        o.logger.error('registration refused', { err });
        o.onRefused(error);
        return;
      }
      const delay = backoffDelayMs(n, o.timers.random, { maxMs: 300_000 });
      o.logger.warn('registration failed; retrying', { err, retryInMs: delay });
      timer = o.timers.setTimeout(() => void attempt(gen, n + 1), delay);
      o.onRetrying(error);
    }
  }

  return {
    start() {
      const gen = ++generation;
      void attempt(gen, 0);
    },
    cancel() {
      generation++;
      o.timers.clearTimeout(timer);
    },
  };
}
