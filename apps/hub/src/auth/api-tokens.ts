// API tokens for automation (`Authorization: Bearer ph_api_…`): shown once, stored as SHA-256,
// scoped (`read`, `write`), optionally expiring, revocable, with a last-used time written at most
// once a minute. Only admins' tokens may use the admin API (checked by the API layer).
import { and, desc, eq, isNull } from 'drizzle-orm';
import { API_TOKEN_SCOPES, apiTokens, users, type ApiTokenScope } from '@porthole/db';
import { NotFoundError, ValidationError } from '../errors.js';
import type { RegistryContext } from '../registry/context.js';
import { UUID_RE } from '../registry/devices.js';
import type { SessionUser } from './sessions.js';
import { generateToken, hashToken } from './secret-token.js';

const TOUCH_EVERY_MS = 60_000;
/** Operator-supplied tokens (PORTHOLE_ADMIN_TOKEN) need not carry our prefix, but must be long. */
export const MIN_CUSTOM_TOKEN_LENGTH = 32;

export interface ApiTokenInfo {
  id: string;
  name: string;
  displayPrefix: string;
  scopes: ApiTokenScope[];
  userId: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

type ApiTokenRow = typeof apiTokens.$inferSelect;

function toInfo(row: ApiTokenRow): ApiTokenInfo {
  return {
    id: row.id,
    name: row.name,
    displayPrefix: row.displayPrefix,
    scopes: row.scopes as ApiTokenScope[],
    userId: row.userId,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

export interface CreateApiTokenInput {
  userId: string;
  name: string;
  scopes: ApiTokenScope[];
  expiresInSeconds?: number | null;
  /** Store this plaintext instead of generating one (the bootstrap admin token). */
  plaintext?: string;
}

export async function createApiToken(ctx: RegistryContext, input: CreateApiTokenInput): Promise<{ token: string; info: ApiTokenInfo }> {
  const scopes = [...new Set(input.scopes)].sort() as ApiTokenScope[];
  if (scopes.length === 0 || scopes.some((s) => !API_TOKEN_SCOPES.includes(s))) {
    throw new ValidationError(`scopes must be a non-empty list of ${API_TOKEN_SCOPES.join(', ')}`, { field: 'scopes' });
  }
  const now = ctx.now();
  let secret = generateToken('api');
  if (input.plaintext !== undefined) {
    if (input.plaintext.length < MIN_CUSTOM_TOKEN_LENGTH) {
      throw new ValidationError(`the admin token must have at least ${MIN_CUSTOM_TOKEN_LENGTH} characters`, { field: 'adminToken' });
    }
    secret = { plaintext: input.plaintext, hash: hashToken(input.plaintext), displayPrefix: `${input.plaintext.slice(0, 4)}…` };
  }
  const expiresAt = input.expiresInSeconds ? new Date(now.getTime() + input.expiresInSeconds * 1000) : null;
  const [row] = await ctx.db
    .insert(apiTokens)
    .values({ userId: input.userId, name: input.name, tokenHash: secret.hash, displayPrefix: secret.displayPrefix, scopes, createdAt: now, expiresAt })
    .returning();
  ctx.logger?.info('api token created', { tokenId: row!.id, userId: input.userId, scopes });
  return { token: secret.plaintext, info: toInfo(row!) };
}

export async function listApiTokens(ctx: RegistryContext): Promise<ApiTokenInfo[]> {
  const rows = await ctx.db.select().from(apiTokens).orderBy(desc(apiTokens.createdAt), desc(apiTokens.id));
  return rows.map(toInfo);
}

export async function revokeApiToken(ctx: RegistryContext, id: string): Promise<ApiTokenInfo> {
  if (!UUID_RE.test(id)) throw new NotFoundError(`API token ${JSON.stringify(id.slice(0, 40))} does not exist`, { field: 'id' });
  const [row] = await ctx.db
    .update(apiTokens)
    .set({ revokedAt: ctx.now() })
    .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
    .returning();
  if (row) {
    ctx.logger?.info('api token revoked', { tokenId: id });
    return toInfo(row);
  }
  const [existing] = await ctx.db.select().from(apiTokens).where(eq(apiTokens.id, id));
  if (!existing) throw new NotFoundError(`API token ${id} does not exist`, { field: 'id' });
  return toInfo(existing);
}

export interface ApiPrincipal {
  user: SessionUser;
  tokenId: string;
  scopes: ApiTokenScope[];
}

/** The user and scopes behind a bearer token, or undefined when unknown, revoked, expired or its account disabled. */
export async function authenticateApiToken(ctx: RegistryContext, token: string): Promise<ApiPrincipal | undefined> {
  if (token.length < MIN_CUSTOM_TOKEN_LENGTH || token.length > 512) return undefined;
  const now = ctx.now();
  const [row] = await ctx.db
    .select({ token: apiTokens, email: users.email, role: users.role, disabledAt: users.disabledAt })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(eq(apiTokens.tokenHash, hashToken(token)));
  // A disabled account's tokens stop working with it (and work again if it is enabled).
  if (!row || row.disabledAt || row.token.revokedAt || (row.token.expiresAt && row.token.expiresAt <= now)) return undefined;
  if (!row.token.lastUsedAt || now.getTime() - row.token.lastUsedAt.getTime() >= TOUCH_EVERY_MS) {
    await ctx.db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, row.token.id));
  }
  return {
    user: { id: row.token.userId, email: row.email, role: row.role },
    tokenId: row.token.id,
    scopes: row.token.scopes as ApiTokenScope[],
  };
}
