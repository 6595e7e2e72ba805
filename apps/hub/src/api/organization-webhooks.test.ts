// Webhook endpoints of an organisation, managed by its owners and admins: they add endpoints for
// their organisation's device events (the organisation is theirs whether named or not), list and
// delete them and read their deliveries; technicians and viewers may not; another organisation's
// endpoints and the hub-wide ones are invisible (a delete answers like an unknown id); a hub
// administrator still adds hub-wide endpoints and sees every endpoint.
import { beforeAll, describe, expect, it } from 'vitest';
import { createSecretBox } from '../webhooks/secret-box.js';
import { ADMIN_PASSWORD, ADMIN_TOKEN, createApiHarness } from '../testing/api-harness.js';
import { useTestDatabase } from '@porthole/db/testing';

type Harness = Awaited<ReturnType<typeof createApiHarness>>;

describe('organisation webhooks', () => {
  const db = useTestDatabase('pglite');
  let h: Harness;
  const tokens: Record<string, string> = {};
  const orgs: Record<'acme' | 'beta', string> = { acme: '', beta: '' };

  beforeAll(async () => {
    h = await createApiHarness(db.db, { webhookSecrets: createSecretBox(new Uint8Array(32).fill(7)) });
    const r = h.registry;
    await r.bootstrapAdmin({ adminEmail: 'admin@example.io', adminPassword: ADMIN_PASSWORD, adminToken: ADMIN_TOKEN });
    orgs.acme = (await r.createOrganization({ name: 'Acme Metering' })).id;
    orgs.beta = (await r.createOrganization({ name: 'Beta Grid' })).id;
    const maker = await r.setMember(orgs.acme, { email: 'owner@acme.example', role: 'owner' });
    for (const role of ['owner', 'admin', 'technician', 'viewer'] as const) {
      tokens[role] = (await r.createOrganizationToken({ organizationId: orgs.acme, role, name: role, createdBy: maker.userId })).token;
    }
    const betaOwner = await r.setMember(orgs.beta, { email: 'owner@beta.example', role: 'owner' });
    tokens.beta = (await r.createApiToken({ userId: betaOwner.userId, name: 'cli', scopes: ['write'] })).token;
  }, 60_000);

  it('owners and admins add, list and delete their organisation endpoints; others cannot see them', async () => {
    const hook = (n: string) => ({ url: `http://127.0.0.1:9/${n}`, events: ['device.online'] });
    const byAdmin = await h.request('POST', '/webhooks', { token: tokens.admin, body: hook('a') });
    expect(byAdmin.status).toBe(201);
    expect(h.documented('POST', '/webhooks', byAdmin)).toMatchObject({ organizationId: orgs.acme, secret: expect.stringMatching(/^whsec_/) });
    const byOwner = await h.request('POST', '/webhooks', { token: tokens.owner, body: { ...hook('b'), organizationId: orgs.acme } });
    expect(byOwner.status).toBe(201);
    for (const role of ['technician', 'viewer']) expect((await h.request('POST', '/webhooks', { token: tokens[role], body: hook(role) })).status).toBe(403);
    // An organisation admin cannot name another organisation (unknown to it) nor add a hub-wide endpoint.
    const named = await h.request('POST', '/webhooks', { token: tokens.admin, body: { ...hook('x'), organizationId: orgs.beta } });
    expect({ status: named.status, code: named.body.error.code }).toEqual({ status: 404, code: 'not_found' });

    const hubWide = await h.request('POST', '/webhooks', { body: hook('hub') });
    expect(hubWide.body.organizationId).toBeNull();
    const betaHook = await h.request('POST', '/webhooks', { token: tokens.beta, body: hook('beta') });
    expect(betaHook.body.organizationId).toBe(orgs.beta);

    const ids = async (token: string | undefined) => ((await h.request('GET', '/webhooks', token ? { token } : {})).body as { id: string }[]).map((w) => w.id).sort();
    expect(await ids(tokens.admin)).toEqual([byAdmin.body.id, byOwner.body.id].sort());
    expect(await ids(tokens.beta)).toEqual([betaHook.body.id]);
    expect(await ids(tokens.viewer)).toEqual([]);
    expect(await ids(undefined)).toHaveLength(4);

    // Beta's owner deletes Acme's endpoint or the hub-wide one exactly as an unknown id; a viewer of Acme gets 403.
    const unknown = await h.request('DELETE', '/webhooks/00000000-0000-4000-8000-0000000000ad', { token: tokens.beta });
    for (const id of [byAdmin.body.id, hubWide.body.id]) {
      const res = await h.request('DELETE', `/webhooks/${id}`, { token: tokens.beta });
      expect({ status: res.status, body: JSON.stringify(res.body).replace(id, 'ID') }).toEqual({ status: unknown.status, body: JSON.stringify(unknown.body).replace('00000000-0000-4000-8000-0000000000ad', 'ID') });
    }
    expect((await h.request('DELETE', `/webhooks/${byAdmin.body.id}`, { token: tokens.viewer })).status).toBe(403);
    expect((await h.request('DELETE', `/webhooks/${hubWide.body.id}`, { token: tokens.owner })).status).toBe(404);
    expect((await h.request('DELETE', `/webhooks/${byAdmin.body.id}`, { token: tokens.admin })).status).toBe(204);
    expect(await ids(undefined)).toHaveLength(3);
  });

  it("shows an organisation only its own endpoints' deliveries", async () => {
    await h.registry.enqueueWebhookEvent('device.online', '{"event":"device.online"}', { organizationId: orgs.acme });
    await h.registry.enqueueWebhookEvent('device.online', '{"event":"device.online"}', { organizationId: orgs.beta });
    const urls = async (token?: string) =>
      ((await h.request('GET', '/webhooks/deliveries', token ? { token } : {})).body as { url: string }[]).map((d) => new URL(d.url).pathname).sort();
    // Acme's remaining endpoint (b); Beta's own; the hub-wide endpoint gets both, seen only by the operator.
    expect(await urls(tokens.owner)).toEqual(['/b']);
    expect(await urls(tokens.beta)).toEqual(['/beta']);
    expect(await urls(tokens.viewer)).toEqual([]);
    expect(await urls()).toEqual(['/b', '/beta', '/hub', '/hub']);
  });
});
