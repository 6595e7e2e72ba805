// Organisations and their members: created by a superadmin, members added by e-mail with a role
// (owner | admin | technician | viewer), listed and removed by the organisation's owners. Who sees
// what is decided in auth/authorization.ts; this module stores and reads.
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import {
  DEFAULT_ORGANIZATION_ID,
  ORGANIZATION_ROLES,
  organizationMembers,
  organizations,
  resultRows,
  users,
  type Executor,
  type OrganizationRole,
} from '@porthole/db';
import { ConflictError, NotFoundError, ValidationError, withDbErrors } from '../errors.js';
import { roleRank, rolesThatMay } from '../auth/authorization.js';
import type { RegistryContext } from './context.js';
import { findOrInviteAccount } from './accounts.js';
import { UUID_RE } from './devices.js';

export { DEFAULT_ORGANIZATION_ID };

export interface OrganizationInfo {
  id: string;
  name: string;
  createdAt: string;
}

export interface MemberInfo {
  userId: string;
  email: string;
  role: OrganizationRole;
  createdAt: string;
}

/** Printable, one line, no leading/trailing space; also how `--org` tells a name from an id. */
const NAME_RE = /^[\p{L}\p{N}][\p{L}\p{N} ._&()-]{0,62}[\p{L}\p{N}.)]?$/u;

export function normalizeOrganizationName(input: string): string {
  const name = input.trim().replace(/\s+/g, ' ');
  if (!NAME_RE.test(name) || UUID_RE.test(name)) {
    throw new ValidationError('name must be 1-64 letters, digits, spaces or . _ & ( ) -, starting with a letter or digit', { field: 'name' });
  }
  return name;
}

export function parseOrganizationRole(input: string, field = 'role'): OrganizationRole {
  if (!(ORGANIZATION_ROLES as readonly string[]).includes(input)) {
    throw new ValidationError(`${field} must be one of ${ORGANIZATION_ROLES.join(', ')}`, { field });
  }
  return input as OrganizationRole;
}

function toInfo(row: typeof organizations.$inferSelect): OrganizationInfo {
  return { id: row.id, name: row.name, createdAt: row.createdAt.toISOString() };
}

/** The same answer for an unknown id and one the caller may not see. */
export function organizationNotFound(id: string): NotFoundError {
  return new NotFoundError(`organization ${JSON.stringify(id.slice(0, 70))} does not exist`, { field: 'id' });
}

export async function createOrganization(ctx: RegistryContext, input: { name: string }): Promise<OrganizationInfo> {
  const name = normalizeOrganizationName(input.name);
  const [row] = await withDbErrors(
    () => ctx.db.insert(organizations).values({ name, createdAt: ctx.now() }).returning(),
    { organizations_name_unique: () => new ConflictError(`an organization named ${name} exists already`, { field: 'name' }) },
  );
  ctx.logger?.info('organization created', { organizationId: row!.id });
  return toInfo(row!);
}

/** Every organisation (`'all'`) or those with the given ids, by name. */
export async function listOrganizations(ctx: RegistryContext, ids: 'all' | readonly string[]): Promise<OrganizationInfo[]> {
  if (ids !== 'all' && ids.length === 0) return [];
  const rows = await ctx.db
    .select()
    .from(organizations)
    .where(ids === 'all' ? undefined : inArray(organizations.id, [...ids]))
    .orderBy(asc(sql`lower(${organizations.name})`));
  return rows.map(toInfo);
}

/** An organisation by id, or by name (case-insensitive): what `--org` names. */
export async function findOrganization(ctx: RegistryContext, idOrName: string): Promise<OrganizationInfo | undefined> {
  const key = idOrName.trim();
  const [row] = await ctx.db
    .select()
    .from(organizations)
    .where(UUID_RE.test(key) ? eq(organizations.id, key.toLowerCase()) : sql`lower(${organizations.name}) = lower(${key})`);
  return row ? toInfo(row) : undefined;
}

/** Organisation id → role, for one user. */
export async function membershipsOf(ex: Executor, userId: string): Promise<Map<string, OrganizationRole>> {
  const rows = await ex
    .select({ organizationId: organizationMembers.organizationId, role: organizationMembers.role })
    .from(organizationMembers)
    .where(eq(organizationMembers.userId, userId));
  return new Map(rows.map((r) => [r.organizationId, r.role]));
}

/**
 * Where a device a user claims lands: the organisation where the user has the highest role (the
 * oldest membership on a tie), else the default organisation (self-service owners outside any).
 */
export async function homeOrganizationOf(ex: Executor, userId: string | null): Promise<string> {
  if (!userId) return DEFAULT_ORGANIZATION_ID;
  const rows = await ex
    .select({ organizationId: organizationMembers.organizationId, role: organizationMembers.role, createdAt: organizationMembers.createdAt })
    .from(organizationMembers)
    .where(eq(organizationMembers.userId, userId))
    .orderBy(asc(organizationMembers.createdAt));
  let best: (typeof rows)[number] | undefined;
  for (const r of rows) if (!best || roleRank(r.role) > roleRank(best.role)) best = r;
  return best?.organizationId ?? DEFAULT_ORGANIZATION_ID;
}

export async function listMembers(ctx: RegistryContext, organizationId: string): Promise<MemberInfo[]> {
  const rows = await ctx.db
    .select({ m: organizationMembers, email: users.email })
    .from(organizationMembers)
    .innerJoin(users, eq(users.id, organizationMembers.userId))
    .where(eq(organizationMembers.organizationId, organizationId))
    .orderBy(asc(users.email));
  return rows.map(({ m, email }) => ({ userId: m.userId, email, role: m.role, createdAt: m.createdAt.toISOString() }));
}

/**
 * Adds the account with `email` (an invited account when there is none yet, as grants do) or
 * changes its role. Returns the membership.
 */
export async function setMember(ctx: RegistryContext, organizationId: string, input: { email: string; role: string }): Promise<MemberInfo> {
  const role = parseOrganizationRole(input.role);
  const account = await findOrInviteAccount(ctx, input.email);
  const now = ctx.now();
  const [row] = await ctx.db
    .insert(organizationMembers)
    .values({ organizationId, userId: account.id, role, createdAt: now })
    .onConflictDoUpdate({ target: [organizationMembers.organizationId, organizationMembers.userId], set: { role } })
    .returning();
  ctx.logger?.info('organization member set', { organizationId, userId: account.id, role });
  return { userId: account.id, email: account.email, role: row!.role, createdAt: row!.createdAt.toISOString() };
}

/** Used by single sign-on: the role a rule gives, without inviting anyone (the account exists). */
export async function setMembership(ex: Executor, organizationId: string, userId: string, role: OrganizationRole, now: Date): Promise<void> {
  await ex
    .insert(organizationMembers)
    .values({ organizationId, userId, role, createdAt: now })
    .onConflictDoUpdate({ target: [organizationMembers.organizationId, organizationMembers.userId], set: { role } });
}

export async function removeMember(ctx: RegistryContext, organizationId: string, userId: string): Promise<void> {
  const notMember = () => new NotFoundError(`user ${JSON.stringify(userId.slice(0, 40))} is not a member of this organization`, { field: 'userId' });
  if (!UUID_RE.test(userId)) throw notMember();
  const removed = await ctx.db
    .delete(organizationMembers)
    .where(and(eq(organizationMembers.organizationId, organizationId), eq(organizationMembers.userId, userId)))
    .returning({ userId: organizationMembers.userId });
  if (removed.length === 0) throw notMember();
  ctx.logger?.info('organization member removed', { organizationId, userId });
}

/**
 * The organisations a new device of `user` may go into (where they may manage devices: owner or
 * admin; every organisation for a superadmin), by name, with the default (homeOrganizationOf) first.
 */
export async function organizationsForNewDevices(ex: Executor, user: { id: string; role: string }): Promise<{ organizations: OrganizationInfo[]; defaultId: string }> {
  const defaultId = await homeOrganizationOf(ex, user.id);
  const rows =
    user.role === 'admin'
      ? await ex.select().from(organizations).orderBy(asc(sql`lower(${organizations.name})`))
      : await ex
          .select({ id: organizations.id, name: organizations.name, createdAt: organizations.createdAt })
          .from(organizations)
          .innerJoin(organizationMembers, eq(organizationMembers.organizationId, organizations.id))
          .where(and(eq(organizationMembers.userId, user.id), inArray(organizationMembers.role, rolesThatMay('devices'))))
          .orderBy(asc(sql`lower(${organizations.name})`));
  return { organizations: rows.map(toInfo), defaultId };
}

/**
 * Deletes an organisation that holds nothing: 409 while it has devices, unrevoked enrollment tokens,
 * admin peers or webhooks (and always for the default organisation). Its members, organisation API
 * tokens and revoked enrollment tokens go with it; its access-log entries stay (they name the organisation only by id).
 */
export async function deleteOrganization(ctx: RegistryContext, id: string): Promise<void> {
  if (!UUID_RE.test(id)) throw organizationNotFound(id);
  if (id === DEFAULT_ORGANIZATION_ID) throw new ConflictError('the default organisation cannot be deleted', { field: 'id' });
  await ctx.db.transaction(async (tx) => {
    const ex = tx as unknown as Executor;
    const [row] = await ex.select({ id: organizations.id }).from(organizations).where(eq(organizations.id, id)).for('update');
    if (!row) throw organizationNotFound(id);
    const [held] = resultRows<{ devices: number; enrollment: number; peers: number; webhooks: number }>(
      await ex.execute(sql`select
        (select count(*)::int from devices where organization_id = ${id}) devices,
        (select count(*)::int from enrollment_tokens where organization_id = ${id} and revoked_at is null) enrollment,
        (select count(*)::int from admin_peers where organization_id = ${id}) peers,
        (select count(*)::int from webhooks where organization_id = ${id}) webhooks`),
    );
    const left = Object.entries(held!).filter(([, n]) => Number(n) > 0).map(([what, n]) => `${n} ${what === 'enrollment' ? 'enrollment tokens' : what === 'peers' ? 'admin peers' : what}`);
    if (left.length > 0) throw new ConflictError(`the organisation still has ${left.join(', ')}; remove them first`, { field: 'id' });
    await ex.delete(organizations).where(eq(organizations.id, id));
  });
  ctx.logger?.info('organization deleted', { organizationId: id });
}
