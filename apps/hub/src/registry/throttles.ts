// Attempt counters for everything that guesses a secret (passwords, claim codes), kept in the
// `throttles` table so every hub node sees the same counts. An attempt is counted *before* the
// guess is checked, in one transaction that locks the counters, so a burst of parallel guesses
// cannot all slip through while the first is still being verified; a success then clears or
// refunds it. Two kinds of rule:
//   backoff: `free` attempts, then each further one waits `baseDelayMs`, doubling up to `maxDelayMs`;
//            forgotten `forgetAfterMs` after the last attempt (or when cleared by a success).
//   budget:  at most `budget` attempts per fixed window of `windowMs`, then wait for the window's end.
// Keys never hold the plaintext of what they are about (an e-mail address, typed into the wrong
// field, can be a password): `throttleKey` hashes the subject.
import { createHash } from 'node:crypto';
import { and, asc, eq, inArray, lt, sql } from 'drizzle-orm';
import { throttles, type Executor } from '@porthole/db';
import { inTransaction, type RegistryContext } from './context.js';

export interface BackoffRule {
  kind: 'backoff';
  free: number;
  baseDelayMs: number;
  maxDelayMs: number;
  forgetAfterMs: number;
}

export interface BudgetRule {
  kind: 'budget';
  budget: number;
  windowMs: number;
}

export type ThrottleRule = BackoffRule | BudgetRule;

export interface ThrottleRow {
  count: number;
  windowStartedAt: Date;
  blockedUntil: Date | null;
  expiresAt: Date;
}

export interface ThrottleCounter {
  key: string;
  rule: ThrottleRule;
  /**
   * Whether this counter may hold the attempt back, given every counter's row before the attempt
   * (absent when fresh). Default: always. The attempt is counted either way.
   */
  enforce?: (rows: ReadonlyMap<string, ThrottleRow>) => boolean;
}

export type ThrottleDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** `<purpose>:<sha256 of the parts>`: stable, shared by nodes, free of plaintext. */
export function throttleKey(purpose: string, ...parts: string[]): string {
  return `${purpose}:${createHash('sha256').update(parts.join('\0')).digest('base64url')}`;
}

const PRUNE_EVERY_MS = 60_000;
const lastPruned = new WeakMap<RegistryContext, number>();

/** Deletes rows past their expiry, at most once a minute per registry. */
async function pruneExpired(ctx: RegistryContext, now: Date): Promise<void> {
  const last = lastPruned.get(ctx);
  if (last !== undefined && now.getTime() - last < PRUNE_EVERY_MS && now.getTime() >= last) return;
  lastPruned.set(ctx, now.getTime());
  await ctx.db.delete(throttles).where(lt(throttles.expiresAt, now));
}

/** A row as the rules see it at `now`: an expired row or a finished budget window counts as fresh. */
function live(row: ThrottleRow | undefined, rule: ThrottleRule, now: Date): ThrottleRow | undefined {
  if (!row || row.expiresAt <= now) return undefined;
  if (rule.kind === 'budget' && now.getTime() >= row.windowStartedAt.getTime() + rule.windowMs) return undefined;
  return row;
}

function waitSeconds(row: ThrottleRow | undefined, now: Date): number {
  return row?.blockedUntil && row.blockedUntil > now ? (row.blockedUntil.getTime() - now.getTime()) / 1000 : 0;
}

/** The row after one more attempt under `rule`. */
function counted(row: ThrottleRow | undefined, rule: ThrottleRule, now: Date): ThrottleRow {
  const count = (row?.count ?? 0) + 1;
  if (rule.kind === 'budget') {
    const windowStartedAt = row?.windowStartedAt ?? now;
    const windowEnd = new Date(windowStartedAt.getTime() + rule.windowMs);
    return { count, windowStartedAt, blockedUntil: count >= rule.budget ? windowEnd : null, expiresAt: windowEnd };
  }
  const over = count - rule.free;
  const blockedUntil = over > 0 ? new Date(now.getTime() + Math.min(rule.maxDelayMs, rule.baseDelayMs * 2 ** Math.min(over - 1, 40))) : null;
  return {
    count,
    windowStartedAt: row?.windowStartedAt ?? now,
    blockedUntil,
    expiresAt: new Date((blockedUntil ?? now).getTime() + rule.forgetAfterMs),
  };
}

async function readRows(ex: Executor, keys: string[], lock: boolean): Promise<Map<string, ThrottleRow>> {
  const query = ex.select().from(throttles).where(inArray(throttles.key, keys)).orderBy(asc(throttles.key));
  const rows = lock ? await query.for('update') : await query;
  return new Map(rows.map((r) => [r.key, r]));
}

function refusal(counters: readonly ThrottleCounter[], rows: Map<string, ThrottleRow>, now: Date): ThrottleDecision | undefined {
  const fresh = new Map<string, ThrottleRow>();
  for (const c of counters) {
    const row = live(rows.get(c.key), c.rule, now);
    if (row) fresh.set(c.key, row);
  }
  let wait = 0;
  for (const c of counters) {
    const w = waitSeconds(fresh.get(c.key), now);
    if (w > 0 && (c.enforce?.(fresh) ?? true)) wait = Math.max(wait, w);
  }
  return wait > 0 ? { allowed: false, retryAfterSeconds: wait } : undefined;
}

/**
 * Counts one attempt on every counter, unless one of them (that `enforce`s) is still waiting: then
 * nothing is counted and the answer says how long to wait.
 */
export async function takeAttempt(ctx: RegistryContext, counters: readonly ThrottleCounter[]): Promise<ThrottleDecision> {
  const now = ctx.now();
  await pruneExpired(ctx, now);
  const keys = [...new Set(counters.map((c) => c.key))].sort();
  // A held-back attempt costs one read and writes nothing.
  const early = refusal(counters, await readRows(ctx.db, keys, false), now);
  if (early) return early;
  return inTransaction(ctx.db, async (tx) => {
    await tx
      .insert(throttles)
      .values(keys.map((key) => ({ key, count: 0, windowStartedAt: now, blockedUntil: null, expiresAt: now })))
      .onConflictDoNothing();
    const rows = await readRows(tx, keys, true);
    const refused = refusal(counters, rows, now);
    if (refused) return refused;
    for (const c of counters) {
      const next = counted(live(rows.get(c.key), c.rule, now), c.rule, now);
      await tx.update(throttles).set(next).where(eq(throttles.key, c.key));
    }
    return { allowed: true } as const;
  });
}

/** Forgets counters (a success proves the secret: the guesses before it were the owner's). */
export async function clearThrottles(ctx: RegistryContext, keys: readonly string[]): Promise<void> {
  if (keys.length > 0) await ctx.db.delete(throttles).where(inArray(throttles.key, [...keys]));
}

/**
 * Gives back one counted attempt (a success should not spend the budget). A wait already running
 * stays: otherwise a guesser holding one valid secret could interleave it to lift every wait.
 */
export async function refundAttempt(ctx: RegistryContext, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await ctx.db
    .update(throttles)
    .set({ count: sql`greatest(${throttles.count} - 1, 0)` })
    .where(and(inArray(throttles.key, [...keys]), sql`${throttles.count} > 0`));
}

/** What takeAttempt would answer now, counting nothing (one read). */
export async function peekAttempt(ctx: RegistryContext, counters: readonly ThrottleCounter[]): Promise<ThrottleDecision> {
  const keys = [...new Set(counters.map((c) => c.key))].sort();
  return refusal(counters, await readRows(ctx.db, keys, false), ctx.now()) ?? { allowed: true };
}

/** A per-key budget in the throttles table, so every node of a cluster counts against the same one. */
export interface SharedBudget {
  /** Counts one attempt for `key` unless the budget is spent (then counts nothing). */
  take(key: string): Promise<ThrottleDecision>;
  /** What take would answer, counting nothing. */
  peek(key: string): Promise<ThrottleDecision>;
}

/**
 * The throttles-table form of an in-memory token bucket (`capacity` at once, `refillPerSecond`
 * back): `capacity` attempts per window of capacity / refillPerSecond, the same long-run rate.
 */
export function sharedBudget(ctx: RegistryContext, purpose: string, o: { capacity: number; refillPerSecond: number }): SharedBudget {
  const rule: BudgetRule = { kind: 'budget', budget: Math.max(1, Math.floor(o.capacity)), windowMs: Math.ceil((o.capacity / o.refillPerSecond) * 1000) };
  const counter = (key: string): ThrottleCounter[] => [{ key: throttleKey(purpose, key), rule }];
  return {
    take: (key) => takeAttempt(ctx, counter(key)),
    peek: (key) => peekAttempt(ctx, counter(key)),
  };
}
