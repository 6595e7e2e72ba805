// The organisation switcher on My devices: a member of several organisations lists all their
// devices, or one organisation's; naming an organisation they are not in shows only their own
// devices, never that organisation's.
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@porthole/db/testing';
import { createTestClock, createTestRegistry, testKey } from '../testing/registry-test-bed.js';
import { buildPortal, PASSWORD, signedIn } from '../testing/portal-harness.js';

describe('My devices: the organisation switcher', () => {
  let t: TestDatabase;
  const clock = createTestClock();
  let registry: ReturnType<typeof createTestRegistry>;
  let app: Hono;
  const org: Record<'acme' | 'beta' | 'gamma', string> = { acme: '', beta: '', gamma: '' };

  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    registry = createTestRegistry(t.db, clock);
    app = buildPortal(registry, clock);
    const tech = await registry.signUp({ email: 'tech@example.io', password: PASSWORD });
    for (const name of ['acme', 'beta', 'gamma'] as const) {
      org[name] = (await registry.createOrganization({ name: `${name} org` })).id;
      const enrollment = await registry.createEnrollmentToken({ createdBy: tech.id, organizationId: org[name], maxUses: 1 });
      await registry.registerDevice({ serial: `sw${name}1`, publicKey: testKey(name), enrollmentToken: enrollment.token });
    }
    await registry.setMember(org.acme, { email: 'tech@example.io', role: 'technician' });
    await registry.setMember(org.beta, { email: 'tech@example.io', role: 'viewer' });
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('lists all of the member’s organisations’ devices, or one organisation’s', async () => {
    const b = await signedIn(app, 'tech@example.io');
    const serials = async (query: string) => [...(await b.get(`/devices${query}`)).text.matchAll(/href="\/devices\/(sw\w+)"/g)].map((m) => m[1]).sort();
    const all = await b.get('/devices');
    expect([...all.text.matchAll(/<option value="([^"]*)"[^>]*>([^<]+)<\/option>/g)].map((m) => m[2])).toEqual(['All my devices', 'acme org', 'beta org']);
    expect(await serials('')).toEqual(['swacme1', 'swbeta1']);
    expect(await serials(`?org=${org.acme}`)).toEqual(['swacme1']);
    expect(await serials(`?org=${org.beta}`)).toEqual(['swbeta1']);
    expect(await serials(`?org=${org.gamma}`)).toEqual(['swacme1', 'swbeta1']);
  });
});
