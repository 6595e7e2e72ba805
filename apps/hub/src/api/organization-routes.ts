// The hub's answers to the organisation operations of the contract: organisations (hub
// administrators create them; members list their own), members by e-mail with a role (owners), and
// organisation API tokens that act for the organisation with a role (admins and owners; shown once).
import type { OrganizationRole } from '@porthole/db';
import { authorize, requireSuperadmin, visibleOrganizations, type Actor, type OrganizationAction } from '../auth/authorization.js';
import type { OrganizationInfo, Registry } from '../registry/index.js';
import { organizationNotFound } from '../registry/organizations.js';
import type { RouteImpl, RouteImpls, RouteInput } from './route-table.js';

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
async function organizationFor(registry: Registry, actor: Actor, id: string, action: OrganizationAction) {
  const org = /^[0-9a-f-]{36}$/i.test(id) ? await registry.findOrganization(id) : undefined;
  if (!org) throw organizationNotFound(id);
  authorize(actor, action, org.id, () => organizationNotFound(id));
  return org;
}

export function organizationRoutes(registry: Registry): Pick<RouteImpls, OrganizationRouteIds> {
  /** An answer on the organisation `params.id` names, once the caller may do `action` in it. */
  const onOrganization = <P extends { id: string }, Q, B>(action: OrganizationAction, answer: (input: RouteInput<P, Q, B>, org: OrganizationInfo) => Promise<Response>): RouteImpl<P, Q, B> => ({
    handler: async (input) => answer(input, await organizationFor(registry, input.principal.actor, input.params.id, action)),
  });
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
    deleteOrganization: onOrganization('read', async ({ c, principal }, org) => {
      requireSuperadmin(principal.actor);
      await registry.deleteOrganization(org.id);
      return c.body(null, 204);
    }),
    listOrganizationMembers: onOrganization('read', async ({ c }, org) => c.json(await registry.listMembers(org.id))),
    addOrganizationMember: onOrganization('members', async ({ c, body }, org) => c.json(await registry.setMember(org.id, body), 201)),
    removeOrganizationMember: onOrganization('members', async ({ c, params }, org) => {
      await registry.removeMember(org.id, params.userId);
      return c.body(null, 204);
    }),
    listOrganizationApiTokens: onOrganization('tokens', async ({ c }, org) => c.json(await registry.listOrganizationTokens(org.id))),
    createOrganizationApiToken: onOrganization('tokens', async ({ c, params, body, principal }, org) => {
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
    }),
    revokeOrganizationApiToken: onOrganization('tokens', async ({ c, params }, org) => {
      await registry.revokeOrganizationToken(org.id, params.tokenId);
      return c.body(null, 204);
    }),
  };
}
