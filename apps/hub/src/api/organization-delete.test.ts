// DELETE /api/v1/organizations/{id}: hub administrators delete an empty organisation (its members
// and organisation tokens go with it); one that still holds devices, enrollment tokens, admin peers
// or webhooks answers 409 and stays whole; the default organisation is never deleted; its owner gets
// 403, another organisation 404 like an unknown id.
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ORGANIZATION_ID } from '@porthole/db';
import { useTestDatabase } from '@porthole/db/testing';
import { testKey } from '../testing/registry-test-bed.js';
import { ADMIN_PASSWORD, ADMIN_TOKEN, createApiHarness } from '../testing/api-harness.js';

describe('deleting an organisation', () => {
  const db = useTestDatabase('pglite');
  let h: Awaited<ReturnType<typeof createApiHarness>>;

  beforeAll(async () => {
    h = await createApiHarness(db.db);
    await h.registry.bootstrapAdmin({ adminEmail: 'admin@example.io', adminPassword: ADMIN_PASSWORD, adminToken: ADMIN_TOKEN });
  }, 60_000);

  it('refuses a non-empty organisation (409) until it is empty, then deletes it with its members and tokens', async () => {
    const r = h.registry;
    const org = await r.createOrganization({ name: 'Short-lived' });
    const owner = await r.setMember(org.id, { email: 'owner@short.example', role: 'owner' });
    const ownerToken = (await r.createApiToken({ userId: owner.userId, name: 'cli', scopes: ['write'] })).token;
    const orgToken = (await r.createOrganizationToken({ organizationId: org.id, role: 'admin', name: 'ci', createdBy: owner.userId })).token;
    const enrollment = await r.createEnrollmentToken({ createdBy: owner.userId, organizationId: org.id, maxUses: 1 });
    await r.registerDevice({ serial: 'sl0001', publicKey: testKey('sl0001'), enrollmentToken: enrollment.token });
    const { peer } = await r.createAdminPeer({ name: 'laptop', publicKey: testKey('sl-peer'), organizationId: org.id });

    const other = await r.createOrganization({ name: 'Other' });
    const otherOwner = await r.setMember(other.id, { email: 'owner@other.example', role: 'owner' });
    const otherToken = (await r.createApiToken({ userId: otherOwner.userId, name: 'cli', scopes: ['write'] })).token;
    const asOther = await h.request('DELETE', `/organizations/${org.id}`, { token: otherToken });
    const unknown = await h.request('DELETE', '/organizations/00000000-0000-4000-8000-0000000000af', { token: otherToken });
    expect(asOther.status).toBe(404);
    expect(JSON.stringify(asOther.body).replace(org.id, 'ID')).toBe(JSON.stringify(unknown.body).replace('00000000-0000-4000-8000-0000000000af', 'ID'));
    expect((await h.request('DELETE', `/organizations/${org.id}`, { token: ownerToken })).status).toBe(403);

    const full = await h.request('DELETE', `/organizations/${org.id}`);
    expect({ status: full.status, code: full.body.error.code }).toEqual({ status: 409, code: 'conflict' });
    expect(full.body.error.message).toContain('1 devices, 1 enrollment tokens, 1 admin peers');

    await r.deleteDevice('sl0001');
    await r.deleteAdminPeer(peer.id);
    const tokenLeft = await h.request('DELETE', `/organizations/${org.id}`);
    expect({ status: tokenLeft.status, message: tokenLeft.body.error.message }).toEqual({ status: 409, message: 'the organisation still has 1 enrollment tokens; remove them first' });
    // A revoked enrollment token goes with the organisation.
    await r.revokeEnrollmentToken(enrollment.info.id);

    expect((await h.request('DELETE', `/organizations/${org.id}`)).status).toBe(204);
    expect((await h.request('GET', '/organizations')).body.map((o: { name: string }) => o.name)).toEqual(['Default', 'Other']);
    // Its tokens stopped working with it; the owner's account stays.
    expect((await h.request('GET', '/whoami', { token: orgToken })).status).toBe(401);
    expect(await r.getUser(owner.userId)).toMatchObject({ email: 'owner@short.example' });
    expect(await r.listMembers(other.id)).toHaveLength(1);
  });

  it('never deletes the default organisation', async () => {
    const res = await h.request('DELETE', `/organizations/${DEFAULT_ORGANIZATION_ID}`);
    expect({ status: res.status, code: res.body.error.code }).toEqual({ status: 409, code: 'conflict' });
  });
});
