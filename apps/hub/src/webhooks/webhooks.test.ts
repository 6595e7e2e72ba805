// Webhook signing, backoff and the outbox worker against an in-memory store and a fake endpoint:
// signatures verify (and fail on any change), attempts back off with jitter, a failing endpoint is
// retried until it answers, a delivery is given up after the last attempt, secrets are sealed.
import { describe, expect, it } from 'vitest';
import type { ClaimedDelivery } from '../registry/webhooks.js';
import { createSecretBox } from './secret-box.js';
import { backoffMs, createWebhookOutbox, type WebhookOutboxStore } from './webhook-outbox.js';
import { signatureHeader, verifySignature } from './webhook-signature.js';

describe('signatures', () => {
  const body = '{"event":"device.online"}';
  it('verify with the secret, the body and a recent timestamp only', () => {
    const header = signatureHeader('s3cret-s3cret-s3cret', 1_700_000_000, body);
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature('s3cret-s3cret-s3cret', header, body, 1_700_000_100)).toBe(true);
    expect(verifySignature('other-secret-other', header, body, 1_700_000_100)).toBe(false);
    expect(verifySignature('s3cret-s3cret-s3cret', header, `${body} `, 1_700_000_100)).toBe(false);
    expect(verifySignature('s3cret-s3cret-s3cret', header, body, 1_700_000_400)).toBe(false);
    expect(verifySignature('s3cret-s3cret-s3cret', header.replace('t=1700000000', 't=1700000001'), body, 1_700_000_000)).toBe(false);
    expect(verifySignature('s3cret-s3cret-s3cret', undefined, body, 1_700_000_000)).toBe(false);
  });
  it('a known answer: HMAC-SHA256 over "<t>.<body>"', () => {
    // echo -n '1.{}' | openssl dgst -sha256 -hmac key
    expect(signatureHeader('key', 1, '{}')).toBe('t=1,v1=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224');
  });
});

describe('backoff', () => {
  it('doubles from the base, is capped, and jitters between half and all of it', () => {
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffMs(4, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffMs(30, 1000, 60_000, () => 1)).toBe(60_000);
    expect(backoffMs(30, 1000, 60_000, () => 0)).toBe(30_000);
  });
});

describe('secret box', () => {
  it('seals and opens; another hub key cannot open it', () => {
    const box = createSecretBox(new Uint8Array(32).fill(1));
    const sealed = box.seal('whsec_abc');
    expect(sealed).not.toContain('whsec');
    expect(box.open(sealed)).toBe('whsec_abc');
    expect(() => createSecretBox(new Uint8Array(32).fill(2)).open(sealed)).toThrow();
  });
});

function memoryStore(now: () => number) {
  const rows: (ClaimedDelivery & { nextMs: number; delivered: boolean; failed: boolean; statuses: (number | null)[] })[] = [];
  const store: WebhookOutboxStore = {
    async enqueueWebhookEvent(event, body, options) {
      if (!options.configured) return 0;
      rows.push({ id: rows.length + 1, webhookId: null, url: options.configured.url, event, body, attempts: 0, secretSealed: null, nextMs: now(), delivered: false, failed: false, statuses: [] });
      return 1;
    },
    async claimDueDeliveries(limit) {
      return rows.filter((r) => !r.delivered && !r.failed && r.nextMs <= now()).slice(0, limit).map((r) => ({ ...r }));
    },
    async recordDeliveryAttempt(id, outcome) {
      const r = rows.find((x) => x.id === id)!;
      r.attempts++;
      r.statuses.push(outcome.status);
      if (outcome.delivered) r.delivered = true;
      else if (outcome.failed) r.failed = true;
      else r.nextMs = outcome.nextAttemptAt!.getTime();
    },
    async pruneWebhookDeliveries() {
      return 0;
    },
  };
  return { store, rows };
}

describe('the outbox worker', () => {
  it('signs each POST, retries a failing endpoint with growing delays, then delivers', async () => {
    let now = 1_700_000_000_000;
    const { store, rows } = memoryStore(() => now);
    const answers = [500, 503, 200];
    const seen: { headers: Headers; body: string }[] = [];
    const outbox = createWebhookOutbox({
      store,
      secrets: createSecretBox(new Uint8Array(32)),
      configured: { url: 'http://127.0.0.1:9/hook', secret: 'a-secret-of-16-chars' },
      now: () => now,
      random: () => 1,
      baseDelayMs: 1000,
      pollMs: 3_600_000,
      fetch: (async (_url: string, init: RequestInit) => {
        seen.push({ headers: new Headers(init.headers), body: String(init.body) });
        return new Response(null, { status: answers.shift() ?? 200 });
      }) as typeof fetch,
    });
    await outbox.emit('device.online', { device: { serial: 'an1' } });
    await outbox.close(); // waits for the running drain
    expect(rows[0]).toMatchObject({ attempts: 1, delivered: false, statuses: [500] });
    expect(rows[0]!.nextMs - now).toBe(1000);
    const body = JSON.parse(seen[0]!.body) as Record<string, unknown>;
    expect(body).toMatchObject({ event: 'device.online', device: { serial: 'an1' } });
    expect(seen[0]!.headers.get('x-porthole-event')).toBe('device.online');
    expect(verifySignature('a-secret-of-16-chars', seen[0]!.headers.get('x-porthole-signature') ?? undefined, seen[0]!.body, now / 1000)).toBe(true);

    const again = createWebhookOutbox({ store, secrets: createSecretBox(new Uint8Array(32)), configured: { url: 'http://127.0.0.1:9/hook', secret: 'a-secret-of-16-chars' }, now: () => now, random: () => 1, baseDelayMs: 1000, pollMs: 3_600_000, fetch: (async (_u: string, init: RequestInit) => (seen.push({ headers: new Headers(init.headers), body: String(init.body) }), new Response(null, { status: answers.shift() ?? 200 }))) as typeof fetch });
    now += 1000;
    again.kick();
    await again.close();
    expect(rows[0]).toMatchObject({ attempts: 2, delivered: false, statuses: [500, 503] });
    expect(rows[0]!.nextMs - now).toBe(2000);
    now += 2000;
    const third = createWebhookOutbox({ store, secrets: createSecretBox(new Uint8Array(32)), configured: { url: 'http://127.0.0.1:9/hook', secret: 'a-secret-of-16-chars' }, now: () => now, pollMs: 3_600_000, fetch: (async (_u: string, init: RequestInit) => (seen.push({ headers: new Headers(init.headers), body: String(init.body) }), new Response(null, { status: answers.shift() ?? 200 }))) as typeof fetch });
    third.kick();
    await third.close();
    expect(rows[0]).toMatchObject({ attempts: 3, delivered: true, statuses: [500, 503, 200] });
    // The same event each time: one id for the receiver to deduplicate by.
    expect(new Set(seen.map((s) => s.body)).size).toBe(1);
  });

  it('gives a delivery up after the last attempt; a redirect counts as a failure', async () => {
    const now = 1_700_000_000_000;
    const { store, rows } = memoryStore(() => now);
    const outbox = createWebhookOutbox({
      store,
      secrets: createSecretBox(new Uint8Array(32)),
      configured: { url: 'http://127.0.0.1:9/hook', secret: 'a-secret-of-16-chars' },
      now: () => now,
      maxAttempts: 1,
      pollMs: 3_600_000,
      fetch: (async () => new Response(null, { status: 302, headers: { location: 'http://elsewhere/' } })) as unknown as typeof fetch,
    });
    await outbox.emit('window.ended', {});
    await outbox.close();
    expect(rows[0]).toMatchObject({ attempts: 1, failed: true, delivered: false, statuses: [302] });
  });
});
