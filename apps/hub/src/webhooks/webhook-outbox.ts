// Webhook delivery: events go into the database outbox first (registry/webhooks.ts),
// then this worker claims due rows, POSTs them signed (webhook-signature.ts) and records each
// attempt. A failed attempt (no answer, timeout, non-2xx, a redirect) is retried with exponential
// backoff and jitter until `maxAttempts`; rows survive restarts, so nothing queued is lost.
import { randomUUID } from 'node:crypto';
import { failureStreak, type Logger } from '../ops/logger.js';
import type { ClaimedDelivery } from '../registry/webhooks.js';
import type { SecretBox } from './secret-box.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signatureHeader } from './webhook-signature.js';

export type WebhookEventName = 'device.online' | 'device.offline' | 'access.started' | 'window.ended';

export interface WebhookOutboxStore {
  enqueueWebhookEvent(event: string, body: string, options: { configured?: { url: string } | undefined; organizationId?: string | null }): Promise<number>;
  claimDueDeliveries(limit: number, leaseMs: number): Promise<ClaimedDelivery[]>;
  recordDeliveryAttempt(id: number, outcome: { delivered: boolean; status: number | null; error: string | null; nextAttemptAt?: Date; failed?: boolean }): Promise<void>;
  pruneWebhookDeliveries(before: Date): Promise<number>;
}

export interface WebhookOutboxOptions {
  store: WebhookOutboxStore;
  secrets: SecretBox;
  /** The hub-wide endpoint of the configuration (PORTHOLE_WEBHOOK_URL with its secret). */
  configured?: { url: string; secret: string } | undefined;
  logger?: Logger;
  /** How often due deliveries are looked for when nothing woke the worker. Default 2 s. */
  pollMs?: number;
  /** Per attempt. Default 10 s. */
  timeoutMs?: number;
  /** Attempts before a delivery is given up. Default 12 (about 17 hours of backoff). */
  maxAttempts?: number;
  /** Backoff before attempt n+1: base·2^(n-1), capped, then jittered to 50–100 %. Defaults 5 s and 1 h. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Finished deliveries are kept this long in the log. Default 7 days. */
  keepMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
  random?: () => number;
}

/** The delay before the next attempt after `attempts` failed ones ("equal jitter"). */
export function backoffMs(attempts: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempts - 1)));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function createWebhookOutbox(o: WebhookOutboxOptions) {
  const log = o.logger?.child({ component: 'webhooks' });
  // Polled every few seconds: an outage is one warning, not one per poll.
  const unavailable = failureStreak(log, { failed: 'webhook outbox unavailable', recovered: 'webhook outbox available again' });
  const pollMs = o.pollMs ?? 2_000;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const maxAttempts = o.maxAttempts ?? 12;
  const baseDelayMs = o.baseDelayMs ?? 5_000;
  const maxDelayMs = o.maxDelayMs ?? 3_600_000;
  const keepMs = o.keepMs ?? 7 * 86_400_000;
  const doFetch = o.fetch ?? fetch;
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  const BATCH = 20;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  let lastPruneMs = 0;

  async function attempt(d: ClaimedDelivery): Promise<void> {
    let status: number | null = null;
    let error: string | null = null;
    try {
      const secret = d.webhookId === null ? o.configured?.secret : d.secretSealed ? o.secrets.open(d.secretSealed) : undefined;
      if (secret === undefined) throw new Error('no signing secret for this endpoint (the configured webhook was removed?)');
      const res = await doFetch(d.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'porthole-hub-webhooks',
          [EVENT_HEADER]: d.event,
          [DELIVERY_HEADER]: String(d.id),
          [SIGNATURE_HEADER]: signatureHeader(secret, Math.floor(now() / 1000), d.body),
        },
        body: d.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.status;
      await res.body?.cancel().catch(() => undefined);
      if (status < 200 || status >= 300) error = `the endpoint answered ${status}`;
    } catch (err) {
      error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    }
    const attempts = d.attempts + 1;
    if (error === null) {
      await o.store.recordDeliveryAttempt(d.id, { delivered: true, status, error: null });
      log?.debug('webhook delivered', { delivery: d.id, event: d.event, attempts });
      return;
    }
    const failed = attempts >= maxAttempts;
    const nextAttemptAt = new Date(now() + backoffMs(attempts, baseDelayMs, maxDelayMs, random));
    await o.store.recordDeliveryAttempt(d.id, { delivered: false, status, error, ...(failed ? { failed } : { nextAttemptAt }) });
    (failed ? log?.warn : log?.info)?.call(log, failed ? 'webhook given up' : 'webhook attempt failed; retrying later', {
      delivery: d.id,
      event: d.event,
      attempts,
      error,
      ...(failed ? {} : { nextAttemptAt: nextAttemptAt.toISOString() }),
    });
  }

  async function drain(): Promise<void> {
    do {
      again = false;
      const batch = await o.store.claimDueDeliveries(BATCH, timeoutMs + 30_000);
      await Promise.all(batch.map((d) => attempt(d).catch((err: unknown) => log?.warn('webhook attempt not recorded', { delivery: d.id, err: String(err) }))));
      if (batch.length === BATCH) again = true;
    } while (again && !closed);
    if (now() - lastPruneMs > 3_600_000) {
      lastPruneMs = now();
      await o.store.pruneWebhookDeliveries(new Date(now() - keepMs));
    }
  }

  function schedule(delayMs: number): void {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(kick, delayMs);
    timer.unref();
  }

  /** Looks for due deliveries now (after an enqueue, or on the poll timer). */
  function kick(): void {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = drain()
      .then(() => unavailable.succeeded(), (err: unknown) => unavailable.failed(err))
      .finally(() => {
        running = undefined;
        schedule(again ? 0 : pollMs);
      });
  }

  return {
    /**
     * Queues an event for every endpoint that wants it; the body is `{id, event, at, ...data}`.
     * Resolves once it is in the outbox (or was dropped with a warning: the database is down).
     */
    async emit(event: WebhookEventName, data: Record<string, unknown>, scope: { organizationId?: string | null } = {}): Promise<void> {
      if (closed) return;
      const body = JSON.stringify({ id: randomUUID(), event, at: new Date(now()).toISOString(), ...data });
      try {
        const n = await o.store.enqueueWebhookEvent(event, body, { configured: o.configured && { url: o.configured.url }, ...scope });
        if (n > 0) kick();
      } catch (err) {
        log?.warn('webhook event not queued', { event, err: String(err) });
      }
    },
    start(): void {
      schedule(0);
    },
    kick,
    async close(): Promise<void> {
      closed = true;
      clearTimeout(timer);
      await running;
    },
  };
}

export type WebhookOutbox = ReturnType<typeof createWebhookOutbox>;
