/** @jsxImportSource hono/jsx */
// Organisation routes of the portal: /orgs (list; hub administrators create) and /orgs/:id (members,
// organisation tokens and the organisation's admin WireGuard peers). The rules are the API's (auth/authorization.ts): an organisation the
// user cannot see is "not found" like one that does not exist; a role that may not change members
// or tokens gets no forms and a 403 for a posted one.
import type { Hono } from 'hono';
import { actorFor, authorize, may, requireSuperadmin, visibleOrganizations, type Actor } from '../auth/authorization.js';
import type { SessionUser } from '../auth/sessions.js';
import { NotFoundError } from '../errors.js';
import { organizationNotFound, parseOrganizationRole } from '../registry/organizations.js';
import { OrganizationPage, OrganizationsPage, type OrganizationView } from './organization-pages.js';
import { doneMessage, field, readForm, runForm, type PortalContext, type PortalEnv, type PortalKit } from './portal-kit.js';

export function registerOrganizationRoutes(app: Hono<PortalEnv>, kit: PortalKit): void {
  const { registry } = kit;
  const actorOf = async (u: SessionUser): Promise<Actor> => actorFor(u, await registry.membershipsOf(u.id));

  const listPage = async (c: PortalContext, extra: { error?: string; name?: string } = {}) => {
    const u = kit.userOf(c);
    const actor = await actorOf(u);
    const orgs = await registry.listOrganizations(visibleOrganizations(actor));
    return (
      <OrganizationsPage
        user={u}
        csrf={c.get('csrf')}
        now={registry.context.now()}
        notice={doneMessage(c)}
        organizations={orgs.map((o) => ({ ...o, role: actor.memberships.get(o.id) ?? null }))}
        superadmin={actor.superadmin}
        {...extra}
      />
    );
  };

  /** The organisation `id` names, if `u` may do `action` in it. */
  async function organizationFor(u: SessionUser, id: string, action: Parameters<typeof authorize>[1]) {
    const actor = await actorOf(u);
    const org = /^[0-9a-f-]{36}$/i.test(id) ? await registry.findOrganization(id) : undefined;
    if (!org) throw organizationNotFound(id);
    authorize(actor, action, org.id, () => organizationNotFound(id));
    return { org, actor };
  }

  const orgPage = async (c: PortalContext, id: string, extra: Partial<OrganizationView> = {}) => {
    const u = kit.userOf(c);
    const { org, actor } = await organizationFor(u, id, 'read');
    const view: OrganizationView = {
      user: u,
      csrf: c.get('csrf'),
      now: registry.context.now(),
      notice: doneMessage(c),
      organization: org,
      role: actor.memberships.get(org.id) ?? null,
      members: await registry.listMembers(org.id),
      tokens: may(actor, 'tokens', org.id) ? await registry.listOrganizationTokens(org.id) : undefined,
      manageMembers: may(actor, 'members', org.id),
      peers: may(actor, 'peers', org.id) ? (await registry.listAdminPeers()).filter((p) => p.organizationId === org.id) : undefined,
      ...extra,
    };
    return <OrganizationPage {...view} />;
  };

  app.get('/orgs', kit.requireUser, async (c) => c.html(await listPage(c)));
  app.post('/orgs', kit.requireUser, async (c) => {
    const body = await readForm(c);
    const name = field(body, 'name', 100);
    return runForm(
      c,
      async () => {
        requireSuperadmin(await actorOf(kit.userOf(c)));
        const org = await registry.createOrganization({ name });
        return c.redirect(`/orgs/${org.id}`, 303);
      },
      (err) => listPage(c, { error: err.message, name }),
    );
  });

  app.get('/orgs/:id', kit.requireUser, async (c) => c.html(await orgPage(c, c.req.param('id').slice(0, 64))));

  /** A form on an organisation page: checks `action`, runs `fn`, redirects back; a domain error re-renders the page. */
  const orgForm = (path: string, action: Parameters<typeof authorize>[1], fn: (c: PortalContext, orgId: string, body: Record<string, unknown>, u: SessionUser) => Promise<Partial<OrganizationView> | void>) =>
    app.post(`/orgs/:id/${path}`, kit.requireUser, async (c) => {
      const u = kit.userOf(c);
      const id = c.req.param('id').slice(0, 64);
      const { org } = await organizationFor(u, id, action);
      const body = await readForm(c);
      return runForm(
        c,
        async () => {
          const shown = await fn(c, org.id, body, u);
          if (shown) return c.html(await orgPage(c, org.id, shown));
          return c.redirect(`/orgs/${org.id}`, 303);
        },
        (err) => orgPage(c, org.id, { error: err.message }),
      );
    });

  orgForm('members', 'members', async (_c, orgId, body) => {
    await registry.setMember(orgId, { email: field(body, 'email', 254), role: parseOrganizationRole(field(body, 'role', 20)) });
  });
  orgForm('members/:userId/delete', 'members', async (c, orgId) => {
    await registry.removeMember(orgId, c.req.param('userId')!.slice(0, 64));
  });
  orgForm('tokens', 'tokens', async (_c, orgId, body, u) => {
    const role = parseOrganizationRole(field(body, 'role', 20));
    // A token never gets more than its maker has: owner tokens come from owners.
    if (role === 'owner') authorize(await actorOf(u), 'members', orgId, () => organizationNotFound(orgId));
    const name = field(body, 'name', 100).trim();
    const { token } = await registry.createOrganizationToken({ organizationId: orgId, role, name: name || 'token', createdBy: u.id });
    return { newToken: token };
  });
  orgForm('tokens/:tokenId/revoke', 'tokens', async (c, orgId) => {
    await registry.revokeOrganizationToken(orgId, c.req.param('tokenId')!.slice(0, 64));
  });
  orgForm('peers', 'peers', async (_c, orgId, body, u) => {
    const input = { name: field(body, 'name', 64).trim(), publicKey: field(body, 'publicKey', 60).trim(), organizationId: orgId, createdBy: u.id };
    return { newPeerConfig: (await registry.createAdminPeer(input)).config };
  });
  orgForm('peers/:peerId/delete', 'peers', async (c, orgId) => {
    const id = c.req.param('peerId')!.slice(0, 64);
    // Another organisation's peer is not found here, like one that does not exist.
    if (!(await registry.listAdminPeers()).some((p) => p.id === id && p.organizationId === orgId)) throw new NotFoundError(`admin peer ${id} does not exist`, { field: 'id' });
    await registry.deleteAdminPeer(id);
  });
}
