// The WireGuard peers section of an organisation page: an owner adds a peer by its public key (the
// wg-quick file comes back) and removes it; a viewer sees no peers and a posted peer form is refused;
// another organisation's owner cannot remove the peer (not found, like a missing one).
import { describe, expect, it } from 'vitest';
import { testKey } from '../testing/registry-test-bed.js';
import { usePortalTestBed, PASSWORD, signedIn, visibleText } from '../testing/portal-harness.js';

describe('organisation pages: WireGuard peers', () => {
  let acmeId: string;
  const bed = usePortalTestBed('pglite', {
    once: true,
    seed: async ({ registry }) => {
      for (const who of ['owner@acme.example', 'viewer@acme.example', 'owner@beta.example']) await registry.signUp({ email: who, password: PASSWORD });
      acmeId = (await registry.createOrganization({ name: 'Acme Metering' })).id;
      const betaId = (await registry.createOrganization({ name: 'Beta Grid' })).id;
      await registry.setMember(acmeId, { email: 'owner@acme.example', role: 'owner' });
      await registry.setMember(acmeId, { email: 'viewer@acme.example', role: 'viewer' });
      await registry.setMember(betaId, { email: 'owner@beta.example', role: 'owner' });
    },
  });

  it('an owner adds and removes peers of the organisation; a viewer and another organisation cannot', async () => {
    const owner = await signedIn(bed.app, 'owner@acme.example');
    expect(visibleText((await owner.get(`/orgs/${acmeId}`)).text)).toContain('No WireGuard peers.');
    const added = await owner.post(`/orgs/${acmeId}/peers`, { name: 'anna laptop', publicKey: testKey('anna') });
    expect(added.status).toBe(200);
    expect(added.text).toContain(`PublicKey = ${bed.registry.context.hub.publicKey}`);
    const [peer] = await bed.registry.listAdminPeers();
    expect(peer).toMatchObject({ name: 'anna laptop', organizationId: acmeId });
    expect(visibleText((await owner.get(`/orgs/${acmeId}`)).text)).toContain(`anna laptop ${peer!.tunnelIp}`);
    // A bad key re-renders the page with the error and adds nothing.
    const bad = await owner.post(`/orgs/${acmeId}/peers`, { name: 'x', publicKey: 'nope' });
    expect(bad.status).toBe(400);
    expect(await bed.registry.listAdminPeers()).toHaveLength(1);

    const viewer = await signedIn(bed.app, 'viewer@acme.example');
    const seen = await viewer.get(`/orgs/${acmeId}`);
    expect(seen.text).not.toContain('anna laptop');
    expect(seen.text).not.toContain('Add a WireGuard peer');
    expect((await viewer.post(`/orgs/${acmeId}/peers`, { name: 'v', publicKey: testKey('v') })).status).toBe(403);

    const other = await signedIn(bed.app, 'owner@beta.example');
    const betaId = (await bed.registry.listOrganizations('all')).find((o) => o.name === 'Beta Grid')!.id;
    await other.get(`/orgs/${betaId}`);
    const foreign = await other.post(`/orgs/${betaId}/peers/${peer!.id}/delete`, {});
    const missing = await other.post(`/orgs/${betaId}/peers/00000000-0000-4000-8000-0000000000ac/delete`, {});
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(await bed.registry.listAdminPeers()).toHaveLength(1);

    await owner.get(`/orgs/${acmeId}`);
    expect((await owner.post(`/orgs/${acmeId}/peers/${peer!.id}/delete`, {})).status).toBe(303);
    expect(await bed.registry.listAdminPeers()).toHaveLength(0);
  });
});
