// API tokens for automation (`Authorization: Bearer ph_api_…`): shown once, stored as SHA-256,
// scoped (`read`, `write`), optionally expiring, revocable, with a last-used time written at most
// once a minute. A personal token acts as its user (a superadmin, or a member with the user's roles);
// an organisation token acts for its organisation with its role, whoever made it.
import { and, desc, eq, isNull } from 'drizzle-orm';
import { API_TOKEN_SCOPES, apiTokens, users, type ApiTokenScope, type OrganizationRole } from '@porthole/db';
import { NotFoundError, ValidationError } from '../errors.js';
import type { RegistryContext } from '../registry/context.js';
import { UUID_RE } from '../registry/devices.js';
import { showRow } from '../registry/shown-row.js';
import { membershipsOf } from '../registry/organizations.js';
import { actorFor, type Actor } from './authorization.js';
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
  const shown = showRow(row, ['id', 'name', 'displayPrefix', 'scopes', 'userId', 'createdAt', 'lastUsedAt', 'expiresAt', 'revokedAt']);
  return { ...shown, scopes: row.scopes as ApiTokenScope[] };
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

/** What an organisation token's role may do with its scopes: the API by role, devices from technician up. */
export function scopesForRole(role: OrganizationRole): ApiTokenScope[] {
  return role === 'viewer' ? ['read'] : role === 'technician' ? ['connect', 'read'] : ['write'];
}

export interface OrganizationTokenInfo {
  id: string;
  organizationId: string;
  name: string;
  role: OrganizationRole;
  displayPrefix: string;
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

function toOrganizationTokenInfo(row: ApiTokenRow): OrganizationTokenInfo {
  return {
    id: row.id,
    organizationId: row.organizationId!,
    name: row.name,
    role: row.organizationRole!,
    displayPrefix: row.displayPrefix,
    createdBy: row.userId,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

/** A token that acts for `organizationId` with `role` (hashed at rest; the plaintext is returned once). */
export async function createOrganizationToken(
  ctx: RegistryContext,
  input: { organizationId: string; role: OrganizationRole; name: string; createdBy: string; expiresInSeconds?: number | null },
): Promise<{ token: string; info: OrganizationTokenInfo }> {
  const now = ctx.now();
  const secret = generateToken('api');
  const expiresAt = input.expiresInSeconds ? new Date(now.getTime() + input.expiresInSeconds * 1000) : null;
  const [row] = await ctx.db
    .insert(apiTokens)
    .values({
      userId: input.createdBy,
      organizationId: input.organizationId,
      organizationRole: input.role,
      name: input.name,
      tokenHash: secret.hash,
      displayPrefix: secret.displayPrefix,
      scopes: scopesForRole(input.role),
      createdAt: now,
      expiresAt,
    })
    .returning();
  ctx.logger?.info('organization token created', { tokenId: row!.id, organizationId: input.organizationId, role: input.role });
  return { token: secret.plaintext, info: toOrganizationTokenInfo(row!) };
}

export async function listOrganizationTokens(ctx: RegistryContext, organizationId: string): Promise<OrganizationTokenInfo[]> {
  const rows = await ctx.db
    .select()
    .from(apiTokens)
    .where(eq(apiTokens.organizationId, organizationId))
    .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id));
  return rows.map(toOrganizationTokenInfo);
}

export async function revokeOrganizationToken(ctx: RegistryContext, organizationId: string, id: string): Promise<OrganizationTokenInfo> {
  const notFound = () => new NotFoundError(`API token ${JSON.stringify(id.slice(0, 40))} does not exist`, { field: 'tokenId' });
  if (!UUID_RE.test(id)) throw notFound();
  const mine = and(eq(apiTokens.id, id), eq(apiTokens.organizationId, organizationId));
  const [row] = await ctx.db.update(apiTokens).set({ revokedAt: ctx.now() }).where(and(mine, isNull(apiTokens.revokedAt))).returning();
  if (row) {
    ctx.logger?.info('organization token revoked', { tokenId: id, organizationId });
    return toOrganizationTokenInfo(row);
  }
  const [existing] = await ctx.db.select().from(apiTokens).where(mine);
  if (!existing) throw notFound();
  return toOrganizationTokenInfo(existing);
}

/** Personal tokens (organisation tokens are listed per organisation): everyone's, or one user's. */
export async function listApiTokens(ctx: RegistryContext, userId?: string): Promise<ApiTokenInfo[]> {
  const personal = isNull(apiTokens.organizationId);
  const rows = await ctx.db
    .select()
    .from(apiTokens)
    .where(userId === undefined ? personal : and(personal, eq(apiTokens.userId, userId)))
    .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id));
  return rows.map(toInfo);
}

/** Revokes a personal token (of `userId` only, when given); organisation tokens are revoked per organisation. */
export async function revokeApiToken(ctx: RegistryContext, id: string, userId?: string): Promise<ApiTokenInfo> {
  if (!UUID_RE.test(id)) throw new NotFoundError(`API token ${JSON.stringify(id.slice(0, 40))} does not exist`, { field: 'id' });
  const mine = and(eq(apiTokens.id, id), isNull(apiTokens.organizationId), userId === undefined ? undefined : eq(apiTokens.userId, userId));
  const [row] = await ctx.db
    .update(apiTokens)
    .set({ revokedAt: ctx.now() })
    .where(and(mine, isNull(apiTokens.revokedAt)))
    .returning();
  if (row) {
    ctx.logger?.info('api token revoked', { tokenId: id });
    return toInfo(row);
  }
  const [existing] = await ctx.db.select().from(apiTokens).where(mine);
  if (!existing) throw new NotFoundError(`API token ${JSON.stringify(id.slice(0, 40))} does not exist`, { field: 'id' });
  return toInfo(existing);
}

export interface ApiPrincipal {
  /** A personal token's user; an organisation token's maker (it acts for the organisation, not for them). */
  user: SessionUser;
  tokenId: string;
  scopes: ApiTokenScope[];
  /** Set for an organisation token. */
  organizationId: string | null;
  /** Who the token acts as, for authorization (auth/authorization.ts). */
  actor: Actor;
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
  const user: SessionUser = { id: row.token.userId, email: row.email, role: row.role };
  const { organizationId, organizationRole } = row.token;
  const actor: Actor =
    organizationId && organizationRole
      ? { user, superadmin: false, memberships: new Map([[organizationId, organizationRole]]) }
      : actorFor(user, await membershipsOf(ctx.db, user.id));
  return { user, tokenId: row.token.id, scopes: row.token.scopes as ApiTokenScope[], organizationId, actor };
}
