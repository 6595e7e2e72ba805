// Role rules of single sign-on: parsing (JSON in a variable, one kind per rule, hub and organisation roles)
// and evaluation (domain, claim by dotted path, group by DN or name; the highest role wins whatever
// the order; default `none` refuses). Randomised order check with a printed seed.
import { describe, expect, it } from 'vitest';
import { seededRandom, testSeed } from '@porthole/wireguard/testing';
import { flattenClaims, hubRoleFor, normalizeDn, organizationRolesFor, roleRulesSchema, ruleMatches, type MappingProfile, type RoleRule } from './role-mapping.js';

const parse = (value: unknown) => roleRulesSchema.safeParse(value);
const rules = (value: unknown): RoleRule[] => {
  const r = parse(value);
  if (!r.success) throw new Error(r.error.issues.map((i) => i.message).join('; '));
  return r.data;
};

const alice: MappingProfile = {
  email: 'alice@ops.example.com',
  claims: flattenClaims({ groups: ['staff', 'porthole-admins'], realm_access: { roles: ['meter-reader'] }, department: 'grid', email_verified: true }),
  groups: ['CN=Admins, OU=Groups, DC=example, DC=com', 'cn=readers,ou=groups,dc=example,dc=com'],
};

describe('role rules', () => {
  it('read a JSON list from an environment variable and an array from the config file alike', () => {
    const text = '[{"emailDomain":"@Example.COM","role":"admin"},{"claim":"groups","value":"ops","role":"user"}]';
    expect(rules(text)).toEqual(rules(JSON.parse(text)));
    expect(rules(text)[0]!.emailDomain).toBe('example.com');
  });

  it('refuse malformed rules, naming what is wrong', () => {
    const messages = (value: unknown) => {
      const r = parse(value);
      return r.success ? [] : r.error.issues.map((i) => i.message);
    };
    expect(messages('not json')).toEqual([expect.stringContaining('JSON list of rules')]);
    expect(messages([{ role: 'admin' }])).toEqual([expect.stringContaining('exactly one of emailDomain')]);
    expect(messages([{ emailDomain: 'a.com', group: 'x', role: 'admin' }])).toEqual([expect.stringContaining('exactly one of')]);
    expect(messages([{ claim: 'groups', role: 'admin' }])).toEqual([expect.stringContaining('needs a value')]);
    expect(messages([{ emailDomain: 'a.com', role: 'root' }])).toEqual([expect.stringContaining('role must be one of admin, user')]);
    expect(messages([{ emailDomain: 'a.com', role: 'owner' }])).toEqual([expect.stringContaining('owner is an organisation role: name the organization')]);
    expect(messages([{ emailDomain: 'a.com', role: 'admin', extra: 1 }]).length).toBeGreaterThan(0);
    // A rule naming an organisation gives a role of the organisation's, never a hub role.
    expect(messages([{ emailDomain: 'a.com', role: 'user', organization: 'acme' }])).toEqual([expect.stringContaining('user is a hub role: in organization acme')]);
    expect(messages([{ emailDomain: 'a.com', role: 'admin', organization: 'acme' }])).toEqual([]);
    expect(messages([{ emailDomain: 'a.com', role: 'viewer', organization: '' }])).toEqual([expect.stringContaining('organization must not be empty')]);
  });

  it('match the e-mail domain exactly, claims by dotted path, groups by DN or by name', () => {
    const [domain, sub, claim, nested, wrongValue, dn, name, other] = rules([
      { emailDomain: 'ops.example.com', role: 'admin' },
      { emailDomain: 'example.com', role: 'admin' },
      { claim: 'groups', value: 'porthole-admins', role: 'admin' },
      { claim: 'realm_access.roles', value: 'meter-reader', role: 'user' },
      { claim: 'groups', value: 'Porthole-Admins', role: 'admin' },
      { group: 'cn=admins,ou=groups,dc=example,dc=com', role: 'admin' },
      { group: 'readers', role: 'user' },
      { group: 'cn=operators,ou=groups,dc=example,dc=com', role: 'admin' },
    ]);
    expect(ruleMatches(domain!, alice)).toBe(true);
    expect(ruleMatches(sub!, alice)).toBe(false);
    expect(ruleMatches(claim!, alice)).toBe(true);
    expect(ruleMatches(nested!, alice)).toBe(true);
    expect(ruleMatches(wrongValue!, alice)).toBe(false);
    expect(ruleMatches(dn!, alice)).toBe(true);
    expect(ruleMatches(name!, alice)).toBe(true);
    expect(ruleMatches(other!, alice)).toBe(false);
    expect(normalizeDn(' CN=Admins , OU=Groups,DC=example ')).toBe('cn=admins,ou=groups,dc=example');
  });

  it('give the highest matching role whatever the order, the default otherwise, nothing for default none', () => {
    const list = rules([
      { claim: 'department', value: 'grid', role: 'user' },
      { group: 'admins', role: 'admin' },
      { emailDomain: 'elsewhere.org', role: 'admin' },
    ]);
    const random = seededRandom(testSeed('role rule order'));
    for (let i = 0; i < 50; i++) {
      const shuffled = [...list].sort(() => random() - 0.5);
      expect(hubRoleFor(shuffled, alice, 'none')).toBe('admin');
    }
    const bob: MappingProfile = { email: 'bob@example.net', claims: {}, groups: [] };
    expect(hubRoleFor(list, bob, 'user')).toBe('user');
    expect(hubRoleFor(list, bob, 'none')).toBeUndefined();
    expect(hubRoleFor([], alice, 'none')).toBeUndefined();
  });

  it('give roles in organisations by name, the highest per organisation, apart from the hub role', () => {
    const list = rules([
      { emailDomain: 'ops.example.com', role: 'viewer', organization: 'Acme' },
      { claim: 'groups', value: 'porthole-admins', role: 'admin', organization: 'acme' },
      { group: 'readers', role: 'technician', organization: 'Beta Grid' },
      { emailDomain: 'other.example', role: 'owner', organization: 'Gamma' },
      { emailDomain: 'ops.example.com', role: 'user' },
    ]);
    expect([...organizationRolesFor(list, alice)]).toEqual([
      ['acme', 'admin'],
      ['beta grid', 'technician'],
    ]);
    // Organisation rules never make anyone a hub administrator.
    expect(hubRoleFor(list, alice, 'none')).toBe('user');
    expect(hubRoleFor(list.slice(0, 4), alice, 'none')).toBeUndefined();
  });
});
