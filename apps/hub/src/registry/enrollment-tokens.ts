// Fleet enrollment tokens: created by an admin (plaintext shown once), hashed at rest, expiring,
// with a use budget and tags for the devices they enroll. A use is taken by one atomic UPDATE in
// the registration's own transaction (Tailscale TS-2025-007: no check-then-consume window).
import { and, desc, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import { DEFAULT_ORGANIZATION_ID, enrollmentTokens, type Executor } from '@porthole/db';
import { NotFoundError, UnauthorizedError, ValidationError } from '../errors.js';
import { generateToken, hashToken, looksLikeToken } from '../auth/secret-token.js';
import type { RegistryContext } from './context.js';
import { UUID_RE } from './devices.js';

export const TAG_RE = /^[a-z0-9][a-z0-9_.:-]{0,63}$/;
export const MAX_TAGS = 20;
const DAY_S = 86_400;

export type EnrollmentTokenRow = typeof enrollmentTokens.$inferSelect;

export interface EnrollmentTokenInfo {
  id: string;
  organizationId: string;
  description: string;
  displayPrefix: string;
  tags: string[];
  maxUses: number;
  uses: number;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  state: 'active' | 'expired' | 'used' | 'revoked';
}

export interface CreateEnrollmentTokenInput {
  createdBy: string | null;
  /** Devices registered with the token belong to it; the default organisation when left out. */
  organizationId?: string;
  description?: string;
  tags?: string[];
  /** Default 1. */
  maxUses?: number;
  /** Default one day, at most one year. */
  expiresInSeconds?: number;
}

export function normalizeTags(tags: readonly string[], field = 'tags'): string[] {
  if (tags.length > MAX_TAGS) throw new ValidationError(`${field}: at most ${MAX_TAGS} tags`, { field });
  const out = [...new Set(tags.map((t) => t.toLowerCase()))];
  for (const tag of out) {
    if (!TAG_RE.test(tag)) {
      throw new ValidationError(`${field}: tag ${JSON.stringify(tag.slice(0, 70))} must be 1-64 of a-z 0-9 _ . : - starting with a letter or digit`, {
        field,
      });
    }
  }
  return out.sort();
}

export function enrollmentTokenInfo(row: EnrollmentTokenRow, now: Date): EnrollmentTokenInfo {
  const state = row.revokedAt ? 'revoked' : row.expiresAt <= now ? 'expired' : row.uses >= row.maxUses ? 'used' : 'active';
  return {
    id: row.id,
    organizationId: row.organizationId,
    description: row.description,
    displayPrefix: row.displayPrefix,
    tags: row.tags,
    maxUses: row.maxUses,
    uses: row.uses,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
    state,
  };
}

export async function createEnrollmentToken(
  ctx: RegistryContext,
  input: CreateEnrollmentTokenInput,
): Promise<{ token: string; info: EnrollmentTokenInfo }> {
  const maxUses = input.maxUses ?? 1;
  const ttl = input.expiresInSeconds ?? DAY_S;
  if (!Number.isInteger(maxUses) || maxUses < 1 || maxUses > 1_000_000) {
    throw new ValidationError('maxUses must be an integer from 1 to 1000000', { field: 'maxUses' });
  }
  if (!Number.isInteger(ttl) || ttl < 60 || ttl > 365 * DAY_S) {
    throw new ValidationError('expiresInSeconds must be an integer from 60 to 31536000 (one year)', { field: 'expiresInSeconds' });
  }
  const tags = normalizeTags(input.tags ?? []);
  const secret = generateToken('enrollment');
  const now = ctx.now();
  const [row] = await ctx.db
    .insert(enrollmentTokens)
    .values({
      organizationId: input.organizationId ?? DEFAULT_ORGANIZATION_ID,
      createdBy: input.createdBy,
      description: input.description ?? '',
      tokenHash: secret.hash,
      displayPrefix: secret.displayPrefix,
      tags,
      maxUses,
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttl * 1000),
    })
    .returning();
  ctx.logger?.info('enrollment token created', { tokenId: row!.id, maxUses, tags });
  return { token: secret.plaintext, info: enrollmentTokenInfo(row!, now) };
}

export async function listEnrollmentTokens(ctx: RegistryContext): Promise<EnrollmentTokenInfo[]> {
  const rows = await ctx.db.select().from(enrollmentTokens).orderBy(desc(enrollmentTokens.createdAt), desc(enrollmentTokens.id));
  const now = ctx.now();
  return rows.map((r) => enrollmentTokenInfo(r, now));
}

export async function revokeEnrollmentToken(ctx: RegistryContext, id: string): Promise<EnrollmentTokenInfo> {
  if (!UUID_RE.test(id)) throw new NotFoundError(`enrollment token ${JSON.stringify(id.slice(0, 40))} does not exist`, { field: 'id' });
  const now = ctx.now();
  const [row] = await ctx.db
    .update(enrollmentTokens)
    .set({ revokedAt: sql`coalesce(${enrollmentTokens.revokedAt}, ${now.toISOString()}::timestamptz)` })
    .where(eq(enrollmentTokens.id, id))
    .returning();
  if (!row) throw new NotFoundError(`enrollment token ${id} does not exist`, { field: 'id' });
  ctx.logger?.info('enrollment token revoked', { tokenId: id });
  return enrollmentTokenInfo(row, now);
}

/** Why `row` cannot enroll a new device now, or undefined if it can. */
function unusableReason(row: EnrollmentTokenRow | undefined, now: Date): string | undefined {
  if (!row) return 'enrollmentToken is not valid';
  if (row.revokedAt) return 'enrollmentToken has been revoked';
  if (row.expiresAt <= now) return 'enrollmentToken has expired';
  if (row.uses >= row.maxUses) return 'enrollmentToken has no uses left';
  return undefined;
}

async function findByPlaintext(ex: Executor, plaintext: string): Promise<EnrollmentTokenRow | undefined> {
  if (!looksLikeToken('enrollment', plaintext)) return undefined;
  const [row] = await ex.select().from(enrollmentTokens).where(eq(enrollmentTokens.tokenHash, hashToken(plaintext)));
  return row;
}

/** Takes one use of the token atomically; throws UnauthorizedError naming why it cannot. */
export async function consumeEnrollmentToken(ex: Executor, plaintext: string, now: Date): Promise<EnrollmentTokenRow> {
  if (looksLikeToken('enrollment', plaintext)) {
    const [row] = await ex
      .update(enrollmentTokens)
      .set({ uses: sql`${enrollmentTokens.uses} + 1` })
      .where(
        and(
          eq(enrollmentTokens.tokenHash, hashToken(plaintext)),
          isNull(enrollmentTokens.revokedAt),
          gt(enrollmentTokens.expiresAt, now),
          lt(enrollmentTokens.uses, enrollmentTokens.maxUses),
        ),
      )
      .returning();
    if (row) return row;
  }
  const reason = unusableReason(await findByPlaintext(ex, plaintext), now) ?? 'enrollmentToken is not valid';
  throw new UnauthorizedError(reason, { field: 'enrollmentToken' });
}

/**
 * Checks a token presented for a repeated registration (same serial, same key), which spends no
 * use: the token that enrolled the device stays good for it even when used up or expired; any
 * other token must still be able to enroll. Revoked tokens never pass.
 */
export async function checkEnrollmentTokenForRepeat(
  ex: Executor,
  plaintext: string,
  enrolledWith: string | null,
  now: Date,
): Promise<void> {
  const row = await findByPlaintext(ex, plaintext);
  if (row && !row.revokedAt && row.id === enrolledWith) return;
  const reason = unusableReason(row, now);
  if (reason) throw new UnauthorizedError(reason, { field: 'enrollmentToken' });
}
