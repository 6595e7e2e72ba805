// The organisation switcher on My devices: a member of several organisations lists all their
// devices, or one organisation's; naming an organisation they are not in shows only their own
// devices, never that organisation's.
import { describe, expect, it } from 'vitest';
import { testKey } from '../testing/registry-test-bed.js';
import { usePortalTestBed, PASSWORD, signedIn } from '../testing/portal-harness.js';

describe('My devices: the organisation switcher', () => {
  const org: Record<'acme' | 'beta' | 'gamma', string> = { acme: '', beta: '', gamma: '' };
  const bed = usePortalTestBed('pglite', {
    once: true,
    seed: async ({ registry }) => {
      const tech = await registry.signUp({ email: 'tech@example.io', password: PASSWORD });
      for (const name of ['acme', 'beta', 'gamma'] as const) {
        org[name] = (await registry.createOrganization({ name: `${name} org` })).id;
        const enrollment = await registry.createEnrollmentToken({ createdBy: tech.id, organizationId: org[name], maxUses: 1 });
        await registry.registerDevice({ serial: `sw${name}1`, publicKey: testKey(name), enrollmentToken: enrollment.token });
      }
      await registry.setMember(org.acme, { email: 'tech@example.io', role: 'technician' });
      await registry.setMember(org.beta, { email: 'tech@example.io', role: 'viewer' });
    },
  });

  it('lists all of the member’s organisations’ devices, or one organisation’s', async () => {
    const b = await signedIn(bed.app, 'tech@example.io');
    const serials = async (query: string) => [...(await b.get(`/devices${query}`)).text.matchAll(/href="\/devices\/(sw\w+)"/g)].map((m) => m[1]).sort();
    const all = await b.get('/devices');
    expect([...all.text.matchAll(/<option value="([^"]*)"[^>]*>([^<]+)<\/option>/g)].map((m) => m[2])).toEqual(['All my devices', 'acme org', 'beta org']);
    expect(await serials('')).toEqual(['swacme1', 'swbeta1']);
    expect(await serials(`?org=${org.acme}`)).toEqual(['swacme1']);
    expect(await serials(`?org=${org.beta}`)).toEqual(['swbeta1']);
    expect(await serials(`?org=${org.gamma}`)).toEqual(['swacme1', 'swbeta1']);
  });
});
