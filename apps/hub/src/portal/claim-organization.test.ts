// Claim approval picks the organisation: an approver who is owner or admin in several
// organisations chooses which one gets the new device (the default preselected); one with a single
// such organisation sees no choice; an organisation where the approver is only a technician, or
// one they are not in, is refused like an unknown one and nothing is registered.
import { describe, expect, it } from 'vitest';
import { testKey } from '../testing/registry-test-bed.js';
import { usePortalTestBed, PASSWORD, signedIn } from '../testing/portal-harness.js';

describe('claim approval: the organisation of the new device', () => {
  const org: Record<'acme' | 'beta' | 'gamma' | 'delta', string> = { acme: '', beta: '', gamma: '', delta: '' };
  const bed = usePortalTestBed('pglite', {
    once: true,
    seed: async ({ registry }) => {
      await registry.signUp({ email: 'multi@example.io', password: PASSWORD });
      await registry.signUp({ email: 'single@example.io', password: PASSWORD });
      for (const name of ['acme', 'beta', 'gamma', 'delta'] as const) org[name] = (await registry.createOrganization({ name: `${name} org` })).id;
      await registry.setMember(org.acme, { email: 'multi@example.io', role: 'owner' });
      await registry.setMember(org.beta, { email: 'multi@example.io', role: 'admin' });
      await registry.setMember(org.gamma, { email: 'multi@example.io', role: 'technician' });
      await registry.setMember(org.acme, { email: 'single@example.io', role: 'admin' });
    },
  });

  it('offers the organisations where the approver is owner or admin, and registers the device in the chosen one', async () => {
    const b = await signedIn(bed.app, 'multi@example.io');
    const claim = await bed.registry.startClaim({ serial: 'co1', publicKey: testKey('co1') });
    const page = await b.get(`/claim?code=${claim.userCode}`);
    const options = [...page.text.matchAll(/<option value="([^"]+)"( selected="")?>([^<]+)<\/option>/g)].map((m) => [m[3], m[2] !== undefined]);
    expect(options).toEqual([
      ['acme org', true],
      ['beta org', false],
    ]);
    expect((await b.post('/claim', { code: claim.userCode, action: 'approve', organizationId: org.beta })).status).toBe(200);
    expect((await bed.registry.getDevice('co1')).organizationId).toBe(org.beta);

    // Without a choice posted, the default (the highest role, here the owner's organisation).
    const second = await bed.registry.startClaim({ serial: 'co2', publicKey: testKey('co2') });
    await b.get(`/claim?code=${second.userCode}`);
    await b.post('/claim', { code: second.userCode, action: 'approve' });
    expect((await bed.registry.getDevice('co2')).organizationId).toBe(org.acme);
  });

  it('refuses an organisation where the approver may not add devices, or is not a member, like an unknown one', async () => {
    const b = await signedIn(bed.app, 'multi@example.io');
    for (const [serial, organizationId] of [['co3', org.gamma], ['co4', org.delta], ['co5', '00000000-0000-4000-8000-0000000000ae']] as const) {
      const claim = await bed.registry.startClaim({ serial, publicKey: testKey(serial) });
      await b.get(`/claim?code=${claim.userCode}`);
      const res = await b.post('/claim', { code: claim.userCode, action: 'approve', organizationId });
      expect({ serial, status: res.status }).toEqual({ serial, status: 404 });
      expect(res.text).toContain('does not exist');
      await expect(bed.registry.getDevice(serial)).rejects.toThrow(/does not exist/);
    }
  });

  it('shows no choice to an approver with one organisation', async () => {
    const b = await signedIn(bed.app, 'single@example.io');
    const claim = await bed.registry.startClaim({ serial: 'co6', publicKey: testKey('co6') });
    expect((await b.get(`/claim?code=${claim.userCode}`)).text).not.toContain('<select');
    await b.post('/claim', { code: claim.userCode, action: 'approve' });
    expect((await bed.registry.getDevice('co6')).organizationId).toBe(org.acme);
  });
});
