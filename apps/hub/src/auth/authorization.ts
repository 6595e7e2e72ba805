// The one place that answers "may this principal do this action in this organisation": the role
// matrix of organisations. A superadmin (users.role = 'admin') may do everything everywhere; a member's
// role in an organisation gives a fixed set of actions there; an organisation API token acts with
// its role in its organisation only. Whatever a principal may not even read does not exist for it:
// callers answer with the same NotFoundError as for an unknown serial or id.
import { ORGANIZATION_ROLES, type OrganizationRole } from '@porthole/db';
import { ForbiddenError } from '../errors.js';
import type { SessionUser } from './sessions.js';

/**
 * `read`: lists, device details, logs. `connect`: open devices, forward TCP (the proxy).
 * `devices`: change, delete, grant devices. `tokens`: enrollment and API tokens. `peers`: admin
 * WireGuard peers. `webhooks`: the organisation's webhook endpoints and their deliveries. `members`:
 * the organisation's members and their roles.
 */
export const ORGANIZATION_ACTIONS = ['read', 'connect', 'devices', 'tokens', 'peers', 'webhooks', 'members'] as const;
export type OrganizationAction = (typeof ORGANIZATION_ACTIONS)[number];

export const ROLE_ACTIONS: Readonly<Record<OrganizationRole, readonly OrganizationAction[]>> = {
  owner: ORGANIZATION_ACTIONS,
  admin: ['read', 'connect', 'devices', 'tokens', 'peers', 'webhooks'],
  technician: ['read', 'connect'],
  viewer: ['read'],
};

/** The roles that may do `action` (for queries that decide in SQL, such as the proxy's access check). */
export function rolesThatMay(action: OrganizationAction): OrganizationRole[] {
  return ORGANIZATION_ROLES.filter((role) => ROLE_ACTIONS[role].includes(action));
}

/** Rank for "the highest role wins" (owner highest). */
export function roleRank(role: OrganizationRole): number {
  return ORGANIZATION_ROLES.length - ORGANIZATION_ROLES.indexOf(role);
}

/** Who is asking, as authorization sees it. */
export interface Actor {
  user: SessionUser;
  /** A superadmin (users.role = 'admin') using a personal credential. */
  superadmin: boolean;
  /** Organisation id → the role the actor has there. An organisation token has exactly one entry. */
  memberships: ReadonlyMap<string, OrganizationRole>;
}

export function actorFor(user: SessionUser, memberships: Iterable<[string, OrganizationRole]>): Actor {
  return { user, superadmin: user.role === 'admin', memberships: new Map(memberships) };
}

/** May `actor` do `action` in organisation `organizationId`? */
export function may(actor: Actor, action: OrganizationAction, organizationId: string): boolean {
  if (actor.superadmin) return true;
  const role = actor.memberships.get(organizationId);
  return role !== undefined && ROLE_ACTIONS[role].includes(action);
}

/** The organisations whose resources `actor` can see at all; `all` for a superadmin. */
export function visibleOrganizations(actor: Actor): 'all' | string[] {
  return actor.superadmin ? 'all' : [...actor.memberships.keys()];
}

export function canSee(actor: Actor, organizationId: string): boolean {
  return may(actor, 'read', organizationId);
}

/**
 * Checks `action` on a resource of `organizationId`. A resource the actor cannot see gets
 * `notFound()` (the caller's exact unknown-resource error); one it sees but may not change, 403.
 */
export function authorize(actor: Actor, action: OrganizationAction, organizationId: string, notFound: () => Error): void {
  if (!canSee(actor, organizationId)) throw notFound();
  if (!may(actor, action, organizationId)) {
    const role = actor.memberships.get(organizationId);
    throw new ForbiddenError(`the ${role ?? 'member'} role may not do this (${action}) in this organisation`);
  }
}

/** Hub-wide operations (organisations, accounts, serial reservations): superadmins only. */
export function requireSuperadmin(actor: Actor): void {
  if (!actor.superadmin) throw new ForbiddenError('only hub administrators may do this');
}

/** The organisations where `actor` may do `action` (for choosing one, or scoping a list). */
export function organizationsWhere(actor: Actor, action: OrganizationAction): string[] {
  return [...actor.memberships].filter(([, role]) => ROLE_ACTIONS[role].includes(action)).map(([id]) => id);
}

/** Narrows an actor to one organisation (the CLI's --org): a superadmin keeps no hub-wide power. */
export function scopeActor(actor: Actor, organizationId: string): Actor {
  const role = actor.superadmin ? 'owner' : actor.memberships.get(organizationId);
  return { user: actor.user, superadmin: false, memberships: new Map(role ? [[organizationId, role]] : []) };
}
