// Webhook endpoints and their durable outbox: an event becomes one delivery row per
// endpoint that wants it, in the database, before anything is sent, so a restart loses nothing.
// Nodes claim due rows with a lease (FOR UPDATE SKIP LOCKED, then locked_until), so two nodes of a
// cluster never send the same delivery at once and a crashed node's claim runs out.
import { and, asc, desc, eq, inArray, isNull, lte, or, sql } from 'drizzle-orm';
import { webhookDeliveries, webhooks } from '@porthole/db';
import { NotFoundError } from '../errors.js';
import { inTransaction, type RegistryContext } from './context.js';
import { UUID_RE } from './devices.js';

export interface WebhookInfo {
  id: string;
  url: string;
  events: string[];
  createdAt: string;
  organizationId: string | null;
}

export interface WebhookDeliveryInfo {
  id: number;
  webhookId: string | null;
  url: string;
  event: string;
  createdAt: string;
  attempts: number;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  failedAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
}

/** A delivery a node has claimed: what to send, and the endpoint's sealed secret (null: the configured endpoint). */
export interface ClaimedDelivery {
  id: number;
  webhookId: string | null;
  url: string;
  event: string;
  body: string;
  attempts: number;
  secretSealed: string | null;
}

/** The hub-wide endpoint of the configuration (PORTHOLE_WEBHOOK_URL): every event. */
export interface ConfiguredWebhook {
  url: string;
}

const toInfo = (w: typeof webhooks.$inferSelect): WebhookInfo => ({ id: w.id, url: w.url, events: w.events, createdAt: w.createdAt.toISOString(), organizationId: w.organizationId });

export async function createWebhook(
  ctx: RegistryContext,
  input: { url: string; events: readonly string[]; secretSealed: string; organizationId?: string | null; createdBy: string | null },
): Promise<WebhookInfo> {
  const [row] = await ctx.db
    .insert(webhooks)
    .values({ url: input.url, events: [...new Set(input.events)], secretSealed: input.secretSealed, organizationId: input.organizationId ?? null, createdBy: input.createdBy, createdAt: ctx.now() })
    .returning();
  ctx.logger?.info('webhook added', { webhook: row!.id, events: row!.events });
  return toInfo(row!);
}

export async function listWebhooks(ctx: RegistryContext): Promise<WebhookInfo[]> {
  const rows = await ctx.db.select().from(webhooks).orderBy(asc(webhooks.createdAt));
  return rows.map(toInfo);
}

/** Removes an endpoint; its deliveries (pending and logged) go with it. */
export async function deleteWebhook(ctx: RegistryContext, id: string): Promise<void> {
  const missing = new NotFoundError(`no webhook ${JSON.stringify(id.slice(0, 64))}`, { field: 'id' });
  if (!UUID_RE.test(id)) throw missing;
  const deleted = await ctx.db.delete(webhooks).where(eq(webhooks.id, id)).returning({ id: webhooks.id });
  if (deleted.length === 0) throw missing;
}

/**
 * Queues `body` (the JSON as it will be signed) for every endpoint that wants `event`: the configured
 * one, and those of the database (an organisation's only for events of its devices). Returns how many.
 */
export async function enqueueWebhookEvent(
  ctx: RegistryContext,
  event: string,
  body: string,
  options: { configured?: ConfiguredWebhook | undefined; organizationId?: string | null } = {},
): Promise<number> {
  const now = ctx.now();
  const targets = await ctx.db
    .select({ id: webhooks.id, url: webhooks.url })
    .from(webhooks)
    .where(
      and(
        sql`${event} = any(${webhooks.events})`,
        options.organizationId ? or(isNull(webhooks.organizationId), eq(webhooks.organizationId, options.organizationId)) : isNull(webhooks.organizationId),
      ),
    );
  const rows: (typeof webhookDeliveries.$inferInsert)[] = targets.map((t) => ({ webhookId: t.id, url: t.url, event, body, createdAt: now, nextAttemptAt: now }));
  if (options.configured) rows.push({ webhookId: null, url: options.configured.url, event, body, createdAt: now, nextAttemptAt: now });
  if (rows.length > 0) await ctx.db.insert(webhookDeliveries).values(rows);
  return rows.length;
}

/** Claims up to `limit` due deliveries for `leaseMs` (oldest first). */
export async function claimDueDeliveries(ctx: RegistryContext, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  const now = ctx.now();
  return inTransaction(ctx.db, async (tx) => {
    const due = await tx
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(
        and(
          isNull(webhookDeliveries.deliveredAt),
          isNull(webhookDeliveries.failedAt),
          lte(webhookDeliveries.nextAttemptAt, now),
          or(isNull(webhookDeliveries.lockedUntil), lte(webhookDeliveries.lockedUntil, now)),
        ),
      )
      .orderBy(asc(webhookDeliveries.nextAttemptAt), asc(webhookDeliveries.id))
      .limit(limit)
      .for('update', { skipLocked: true });
    if (due.length === 0) return [];
    const ids = due.map((d) => d.id);
    await tx
      .update(webhookDeliveries)
      .set({ lockedUntil: new Date(now.getTime() + leaseMs) })
      .where(inArray(webhookDeliveries.id, ids));
    const rows = await tx
      .select({
        id: webhookDeliveries.id,
        webhookId: webhookDeliveries.webhookId,
        url: webhookDeliveries.url,
        event: webhookDeliveries.event,
        body: webhookDeliveries.body,
        attempts: webhookDeliveries.attempts,
        secretSealed: webhooks.secretSealed,
      })
      .from(webhookDeliveries)
      .leftJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
      .where(inArray(webhookDeliveries.id, ids))
      .orderBy(asc(webhookDeliveries.id));
    return rows;
  });
}

/** Records one attempt's outcome: delivered, retried at `nextAttemptAt`, or given up (`failed`). */
export async function recordDeliveryAttempt(
  ctx: RegistryContext,
  id: number,
  outcome: { delivered: boolean; status: number | null; error: string | null; nextAttemptAt?: Date; failed?: boolean },
): Promise<void> {
  const now = ctx.now();
  await ctx.db
    .update(webhookDeliveries)
    .set({
      attempts: sql`${webhookDeliveries.attempts} + 1`,
      lastStatus: outcome.status,
      lastError: outcome.error === null ? null : outcome.error.slice(0, 500),
      lockedUntil: null,
      ...(outcome.delivered ? { deliveredAt: now } : outcome.failed ? { failedAt: now } : { nextAttemptAt: outcome.nextAttemptAt ?? now }),
    })
    .where(eq(webhookDeliveries.id, id));
}

/** The delivery log, newest first: all of it, or the deliveries of these organisations' endpoints. */
export async function listWebhookDeliveries(ctx: RegistryContext, limit = 100, organizationIds?: readonly string[]): Promise<WebhookDeliveryInfo[]> {
  if (organizationIds?.length === 0) return [];
  const ofOrganizations = organizationIds
    ? inArray(webhookDeliveries.webhookId, ctx.db.select({ id: webhooks.id }).from(webhooks).where(inArray(webhooks.organizationId, [...organizationIds])))
    : undefined;
  const rows = await ctx.db.select().from(webhookDeliveries).where(ofOrganizations).orderBy(desc(webhookDeliveries.id)).limit(limit);
  return rows.map((r) => ({
    id: r.id,
    webhookId: r.webhookId,
    url: r.url,
    event: r.event,
    createdAt: r.createdAt.toISOString(),
    attempts: r.attempts,
    nextAttemptAt: r.deliveredAt || r.failedAt ? null : r.nextAttemptAt.toISOString(),
    deliveredAt: r.deliveredAt?.toISOString() ?? null,
    failedAt: r.failedAt?.toISOString() ?? null,
    lastStatus: r.lastStatus,
    lastError: r.lastError,
  }));
}

/** Drops finished deliveries older than `before` (the log is kept for days, not forever). */
export async function pruneWebhookDeliveries(ctx: RegistryContext, before: Date): Promise<number> {
  const rows = await ctx.db
    .delete(webhookDeliveries)
    .where(and(lte(webhookDeliveries.createdAt, before), or(sql`${webhookDeliveries.deliveredAt} is not null`, sql`${webhookDeliveries.failedAt} is not null`)))
    .returning({ id: webhookDeliveries.id });
  return rows.length;
}
