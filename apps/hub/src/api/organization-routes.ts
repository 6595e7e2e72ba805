// The hub's answers to the organisation operations of the contract: organisations (hub
// administrators create them; members list their own), members by e-mail with a role (owners), and
// organisation API tokens that act for the organisation with a role (admins and owners; shown once).
import type { OrganizationRole } from '@porthole/db';
import { authorize, requireSuperadmin, visibleOrganizations, type Actor } from '../auth/authorization.js';
import type { Registry } from '../registry/index.js';
import { organizationNotFound } from '../registry/organizations.js';
import type { RouteImpls } from './route-table.js';

type OrganizationRouteIds =
  | 'listOrganizations'
  | 'createOrganization'
  | 'deleteOrganization'
  | 'listOrganizationMembers'
  | 'addOrganizationMember'
  | 'removeOrganizationMember'
  | 'listOrganizationApiTokens'
  | 'createOrganizationApiToken'
  | 'revokeOrganizationApiToken';

/** An organisation the caller can see, by id; any other id answers like an unknown one. */
async function organizationFor(registry: Registry, actor: Actor, id: string, action: Parameters<typeof authorize>[1]) {
  const org = /^[0-9a-f-]{36}$/i.test(id) ? await registry.findOrganization(id) : undefined;
  if (!org) throw organizationNotFound(id);
  authorize(actor, action, org.id, () => organizationNotFound(id));
  return org;
}

export function organizationRoutes(registry: Registry): Pick<RouteImpls, OrganizationRouteIds> {
  return {
    listOrganizations: {
      handler: async ({ c, principal }) => {
        const { actor } = principal;
        const orgs = await registry.listOrganizations(visibleOrganizations(actor));
        return c.json(orgs.map((o) => ({ ...o, role: (actor.memberships.get(o.id) ?? null) as OrganizationRole | null })));
      },
    },
    createOrganization: {
      handler: async ({ c, body, principal }) => {
        requireSuperadmin(principal.actor);
        return c.json({ ...(await registry.createOrganization(body)), role: null }, 201);
      },
    },
    deleteOrganization: {
      handler: async ({ c, params, principal }) => {
        const org = await organizationFor(registry, principal.actor, params.id, 'read');
        requireSuperadmin(principal.actor);
        await registry.deleteOrganization(org.id);
        return c.body(null, 204);
      },
    },
    listOrganizationMembers: {
      handler: async ({ c, params, principal }) => {
        const org = await organizationFor(registry, principal.actor, params.id, 'read');
        return c.json(await registry.listMembers(org.id));
      },
    },
    addOrganizationMember: {
      handler: async ({ c, params, body, principal }) => {
        const org = await organizationFor(registry, principal.actor, params.id, 'members');
        return c.json(await registry.setMember(org.id, body), 201);
      },
    },
    removeOrganizationMember: {
      handler: async ({ c, params, principal }) => {
        const org = await organizationFor(registry, principal.actor, params.id, 'members');
        await registry.removeMember(org.id, params.userId);
        return c.body(null, 204);
      },
    },
    listOrganizationApiTokens: {
      handler: async ({ c, params, principal }) => {
        const org = await organizationFor(registry, principal.actor, params.id, 'tokens');
        return c.json(await registry.listOrganizationTokens(org.id));
      },
    },
    createOrganizationApiToken: {
      handler: async ({ c, params, body, principal }) => {
        const org = await organizationFor(registry, principal.actor, params.id, 'tokens');
        // A token never gets more than its maker has: only owners (and hub administrators) make owner tokens.
        if (body.role === 'owner') authorize(principal.actor, 'members', org.id, () => organizationNotFound(params.id));
        const { token, info } = await registry.createOrganizationToken({
          organizationId: org.id,
          role: body.role,
          name: body.name,
          createdBy: principal.user.id,
          expiresInSeconds: body.expiresInSeconds ?? null,
        });
        return c.json({ ...info, token }, 201);
      },
    },
    revokeOrganizationApiToken: {
      handler: async ({ c, params, principal }) => {
        const org = await organizationFor(registry, principal.actor, params.id, 'tokens');
        await registry.revokeOrganizationToken(org.id, params.tokenId);
        return c.body(null, 204);
      },
    },
  };
}
