// Accounts for single sign-on users on the real schema (PGlite): created on first sign-in, found
// again by subject when the address changes, linked by address only to invited or provider-made
// accounts, a password account linked only from its own session, reassigned addresses refused, the
// role following the mapping at each sign-in (the bootstrap admin excepted), disabled and unmapped
// users refused, and racing first sign-ins ending in one account.
import { describe, expect, it } from 'vitest';
import { userIdentities, users } from '@porthole/db';
import { ConflictError, ForbiddenError } from '../errors.js';
import { findOrInviteAccount } from '../registry/accounts.js';
import { useRegistryTestBed } from '../testing/registry-test-bed.js';
import { EXTERNAL_PASSWORD_HASH, linkIdentity, listIdentities, signInWithIdentity, type ExternalIdentity, type ProvisioningPolicy } from './identity-provisioning.js';
import { roleRulesSchema } from './role-mapping.js';

const policy: ProvisioningPolicy = {
  mapping: { rules: roleRulesSchema.parse([{ claim: 'groups', value: 'porthole-admins', role: 'admin' }]), defaultRole: 'user' },
  protectedEmails: ['boss@example.com'],
};

function identity(overrides: Partial<ExternalIdentity> = {}): ExternalIdentity {
  return {
    provider: 'oidc',
    providerName: 'Example SSO',
    issuer: 'https://login.example.com',
    subject: 'sub-alice',
    email: 'Alice@Example.com',
    claims: {},
    groups: [],
    ...overrides,
  };
}

describe('identity provisioning', () => {
  const bed = useRegistryTestBed('pglite');
  const signIn = (id: ExternalIdentity, p = policy) => signInWithIdentity(bed.registry.context, id, p, '192.0.2.7');
  const userRow = async (id: string) => (await bed.registry.context.db.select().from(users)).find((u) => u.id === id)!;

  it('creates the account on first sign-in and finds it again by subject, even under a new address', async () => {
    const first = await signIn(identity());
    expect(first.user).toMatchObject({ email: 'alice@example.com', role: 'user' });
    expect(await bed.registry.userForSessionToken(first.session.token)).toMatchObject({ id: first.user.id });
    expect((await userRow(first.user.id)).passwordHash).toBe(EXTERNAL_PASSWORD_HASH);

    const again = await signIn(identity({ email: 'alice.smith@example.com' }));
    expect(again.user.id).toBe(first.user.id);
    expect(again.session.token).not.toBe(first.session.token);
    expect(await listIdentities(bed.registry.context, first.user.id)).toEqual([expect.objectContaining({ provider: 'oidc', email: 'alice.smith@example.com' })]);
    // Nobody can log in to it with a password, nor claim it by signing up.
    await expect(bed.registry.login({ email: 'alice@example.com', password: 'anything at all 123', clientIp: null })).rejects.toThrow('e-mail address or password is wrong');
    await expect(bed.registry.signUpAndLogIn({ email: 'alice@example.com', password: 'a new password 123', clientIp: null })).rejects.toThrow(/could not sign up/);
  });

  it('links an invited account (made by a grant) and a directory-made account, but not a password account', async () => {
    const invited = await findOrInviteAccount(bed.registry.context, 'carol@example.com');
    const carol = await signIn(identity({ subject: 'sub-carol', email: 'carol@example.com' }));
    expect(carol.user.id).toBe(invited.id);
    expect((await userRow(invited.id)).passwordHash).toBe(EXTERNAL_PASSWORD_HASH);

    const fromDirectory = await signIn(identity({ provider: 'ldap', issuer: 'ou=people,dc=example,dc=com', subject: 'uuid-dave', email: 'dave@example.com' }));
    const viaOidc = await signIn(identity({ subject: 'sub-dave', email: 'dave@example.com' }));
    expect(viaOidc.user.id).toBe(fromDirectory.user.id);
    expect(await listIdentities(bed.registry.context, viaOidc.user.id)).toHaveLength(2);

    const erin = await bed.registry.signUp({ email: 'erin@example.com', password: 'erin password 1234' });
    const refused = await signIn(identity({ subject: 'sub-erin', email: 'erin@example.com' })).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConflictError);
    expect((refused as Error).message).toMatch(/signs in with a password: log in with it, then link Example SSO at \/account\/sign-in/);
    expect(await listIdentities(bed.registry.context, erin.id)).toEqual([]);

    // Signed in with her password, Erin links the provider; then it signs her in.
    await expect(linkIdentity(bed.registry.context, identity({ subject: 'sub-erin', email: 'someone@example.com' }), policy, erin)).rejects.toThrow(
      /signed you in as someone@example.com, but this account is erin@example.com/,
    );
    await linkIdentity(bed.registry.context, identity({ subject: 'sub-erin', email: 'erin@example.com' }), policy, erin);
    expect((await signIn(identity({ subject: 'sub-erin', email: 'erin@example.com' }))).user.id).toBe(erin.id);
    // Her password still works, and another account cannot take the same provider account.
    expect((await bed.registry.login({ email: 'erin@example.com', password: 'erin password 1234', clientIp: null })).user.id).toBe(erin.id);
    const frank = await bed.registry.signUp({ email: 'frank@example.com', password: 'frank password 1234' });
    await expect(linkIdentity(bed.registry.context, identity({ subject: 'sub-erin', email: 'frank@example.com' }), policy, frank)).rejects.toThrow(/linked to another account/);
  });

  it('refuses an address the provider gave to a new subject (a reassigned mailbox)', async () => {
    const old = await signIn(identity({ subject: 'sub-old-employee', email: 'sales@example.com' }));
    const err = await signIn(identity({ subject: 'sub-new-employee', email: 'sales@example.com' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(await listIdentities(bed.registry.context, old.user.id)).toHaveLength(1);
  });

  it('sets the role from the mapping at every sign-in, except for the bootstrap admin', async () => {
    const admin = await signIn(identity({ claims: { groups: ['staff', 'porthole-admins'] } }));
    expect(admin.user.role).toBe('admin');
    const demoted = await signIn(identity({ claims: { groups: ['staff'] } }));
    expect(demoted.user.role).toBe('user');
    expect((await bed.registry.userForSessionToken(admin.session.token))?.role).toBe('user');

    await bed.registry.setAdmin({ adminEmail: 'boss@example.com', adminPassword: 'boss password 12345' });
    const boss = await bed.registry.findUserByEmail('boss@example.com');
    await linkIdentity(bed.registry.context, identity({ subject: 'sub-boss', email: 'boss@example.com' }), policy, boss!);
    expect((await signIn(identity({ subject: 'sub-boss', email: 'boss@example.com' }))).user.role).toBe('admin');
  });

  it('refuses disabled accounts, users no rule admits, and look-alike addresses, changing nothing', async () => {
    const alice = await signIn(identity());
    await bed.registry.disableUser(alice.user.id, { id: 'someone-else' });
    await expect(signIn(identity())).rejects.toThrow(/disabled/);

    const strict: ProvisioningPolicy = { mapping: { rules: policy.mapping.rules, defaultRole: 'none' } };
    await expect(signIn(identity({ subject: 'sub-gina', email: 'gina@example.com' }), strict)).rejects.toBeInstanceOf(ForbiddenError);
    expect((await signIn(identity({ subject: 'sub-hal', email: 'hal@example.com', claims: { groups: ['porthole-admins'] } }), strict)).user.role).toBe('admin');

    // A Cyrillic "а" in "pаypal": the provider's address passes the same look-alike rule as a typed one.
    await expect(signIn(identity({ subject: 'sub-x', email: 'p\u0430ypal@example.com' }))).rejects.toBeInstanceOf(ForbiddenError);
    const emails = (await bed.registry.context.db.select().from(users)).map((u) => u.email).sort();
    expect(emails).toEqual(['alice@example.com', 'hal@example.com']);
  });

  it('ends two racing first sign-ins of one user in one account', async () => {
    const results = await Promise.allSettled([signIn(identity()), signIn(identity()), signIn(identity())]);
    const ids = new Set(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.user.id] : [])));
    expect(ids.size).toBe(1);
    expect(await bed.registry.context.db.select().from(userIdentities)).toHaveLength(1);
  });

  it('gives the roles the rules name in organisations at every sign-in, and admits users only an organisation rule matches', async () => {
    const acme = await bed.registry.createOrganization({ name: 'Acme' });
    const orgPolicy: ProvisioningPolicy = {
      mapping: {
        rules: roleRulesSchema.parse([
          { emailDomain: 'acme.example', role: 'technician', organization: 'ACME' },
          { claim: 'groups', value: 'fleet-admins', role: 'admin', organization: 'acme' },
          { emailDomain: 'acme.example', role: 'viewer', organization: 'Not Yet Created' },
        ]),
        defaultRole: 'none',
      },
    };
    const first = await signIn(identity({ subject: 'sub-tech', email: 'tech@acme.example' }), orgPolicy);
    expect(first.user.role).toBe('user');
    expect([...(await bed.registry.membershipsOf(first.user.id))]).toEqual([[acme.id, 'technician']]);
    await signIn(identity({ subject: 'sub-tech', email: 'tech@acme.example', claims: { groups: ['fleet-admins'] } }), orgPolicy);
    expect([...(await bed.registry.membershipsOf(first.user.id))]).toEqual([[acme.id, 'admin']]);
    // Nobody else is let in by these rules.
    await expect(signIn(identity({ subject: 'sub-x', email: 'x@elsewhere.example' }), orgPolicy)).rejects.toThrow(ForbiddenError);
  });
});
