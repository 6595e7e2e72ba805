// Which role a user who signs in through an identity provider (OIDC) or a directory (LDAP) gets:
// rules on the verified e-mail address's domain, on a claim (an entry attribute for LDAP), or on a
// group. Every rule that matches counts and the highest role wins, so the order of the rules does
// not matter. A rule without `organization` gives a hub role (admin = hub administrator, user); a
// rule naming an `organization` (by name) gives a role in it (owner | admin | technician | viewer),
// set at every sign-in.
import { z } from 'zod';
import { ORGANIZATION_ROLES, USER_ROLES, type OrganizationRole, type UserRole } from '@porthole/db';
import { roleRank } from './authorization.js';

/** What a provider says about a user, as the rules see it. */
export interface MappingProfile {
  /** The verified address, canonical form. */
  email: string;
  /** OIDC: the ID token's and userinfo claims. LDAP: the entry's attributes. Values as strings. */
  claims: Readonly<Record<string, readonly string[]>>;
  /** OIDC: the `groups` claim. LDAP: the DNs of the groups the entry belongs to. */
  groups: readonly string[];
}

const ruleText = (what: string) =>
  z.string({ message: `${what} must be a string` }).trim().min(1, `${what} must not be empty`).max(1024, `${what} is too long`);

/** One rule as written in the configuration (`PORTHOLE_OIDC_ROLE_RULES`, `PORTHOLE_LDAP_ROLE_RULES`). */
export const roleRuleSchema = z
  .strictObject({
    /** The e-mail address's domain, exactly (`example.com` does not match `sub.example.com`). */
    emailDomain: ruleText('emailDomain').transform((s) => s.toLowerCase().replace(/^@/, '')).optional(),
    /** A claim (dotted path into nested claims, `realm_access.roles`) or LDAP attribute that must hold `value`. */
    claim: ruleText('claim').optional(),
    value: z.string({ message: 'value must be a string' }).max(1024).optional(),
    /** A group: its DN, or its name (the first RDN's value, `cn=admins,…` → `admins`). */
    group: ruleText('group').optional(),
    /** A hub role (admin, user), or with `organization` a role there (owner, admin, technician, viewer). */
    role: z.enum([...new Set([...USER_ROLES, ...ORGANIZATION_ROLES])] as [string, ...string[]], {
      message: `role must be one of ${USER_ROLES.join(', ')} (hub roles), or with organization one of ${ORGANIZATION_ROLES.join(', ')}`,
    }),
    /** The organisation (by name, case-insensitive) the role is in; it must exist when the user signs in. */
    organization: ruleText('organization').optional(),
  })
  .superRefine((rule, ctx) => {
    const kinds = [rule.emailDomain, rule.claim, rule.group].filter((v) => v !== undefined).length;
    if (kinds !== 1) ctx.addIssue({ code: 'custom', message: 'each rule names exactly one of emailDomain, claim (with value) or group' });
    if (rule.claim !== undefined && rule.value === undefined) ctx.addIssue({ code: 'custom', message: `the rule on claim ${rule.claim} needs a value` });
    if (rule.claim === undefined && rule.value !== undefined) ctx.addIssue({ code: 'custom', message: 'value belongs to a claim rule' });
    if (rule.organization === undefined && !(USER_ROLES as readonly string[]).includes(rule.role)) {
      ctx.addIssue({ code: 'custom', message: `role ${rule.role} is an organisation role: name the organization, or use a hub role (${USER_ROLES.join(', ')})` });
    }
    if (rule.organization !== undefined && !(ORGANIZATION_ROLES as readonly string[]).includes(rule.role)) {
      ctx.addIssue({ code: 'custom', message: `role ${rule.role} is a hub role: in organization ${rule.organization} use one of ${ORGANIZATION_ROLES.join(', ')}` });
    }
  });

export type RoleRule = z.output<typeof roleRuleSchema>;

/**
 * A list of rules: a JSON array in the config file, or a JSON string in an environment variable.
 * A string that is not JSON stays a string, so the error says what was expected.
 */
export const roleRulesSchema = z.preprocess((value) => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}, z.array(roleRuleSchema, { message: 'must be a JSON list of rules such as [{"emailDomain":"example.com","role":"admin"}]' }).max(200));

/** Who may sign in without a matching rule: everyone the provider vouches for (`user`), or nobody (`none`). */
export const DEFAULT_ROLES = ['user', 'none'] as const;
export type DefaultRole = (typeof DEFAULT_ROLES)[number];

/** Flattens claims (strings, numbers, booleans, arrays of them, nested objects by dotted path). */
export function flattenClaims(source: Readonly<Record<string, unknown>>): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  const visit = (value: unknown, path: string, depth: number) => {
    if (depth > 4) return;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      (out[path] ??= []).push(String(value));
    } else if (Array.isArray(value)) {
      for (const item of value.slice(0, 1000)) if (!Array.isArray(item)) visit(item, path, depth + 1);
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) visit(v, path === '' ? k : `${path}.${k}`, depth + 1);
    }
  };
  visit(source, '', 0);
  return out;
}

/** A DN compared loosely: lowercase, no spaces around separators (`CN=Admins, OU=x` = `cn=admins,ou=x`). */
export function normalizeDn(dn: string): string {
  return dn.trim().toLowerCase().replace(/\s*([,=+])\s*/g, '$1');
}

function groupMatches(rule: string, group: string): boolean {
  if (rule.includes('=')) return normalizeDn(rule) === normalizeDn(group);
  const first = /^[^=]+=((?:\\.|[^,+\\])*)/.exec(group.trim());
  return first !== null && first[1]!.trim().toLowerCase() === rule.toLowerCase();
}

export function ruleMatches(rule: RoleRule, profile: MappingProfile): boolean {
  if (rule.emailDomain !== undefined) return profile.email.slice(profile.email.lastIndexOf('@') + 1) === rule.emailDomain;
  if (rule.claim !== undefined) return (profile.claims[rule.claim] ?? []).includes(rule.value ?? '');
  if (rule.group !== undefined) return profile.groups.some((g) => groupMatches(rule.group!, g));
  return false;
}

const RANK: Record<UserRole, number> = { user: 1, admin: 2 };

/**
 * The hub role for `profile`: the highest role of the matching hub-level rules (rules without an
 * organisation), else the default; undefined when the default is `none` and no rule matched (the
 * sign-in is refused).
 */
export function hubRoleFor(rules: readonly RoleRule[], profile: MappingProfile, defaultRole: DefaultRole): UserRole | undefined {
  let best: UserRole | undefined;
  for (const rule of rules) {
    if (rule.organization !== undefined || !ruleMatches(rule, profile)) continue;
    const role = rule.role as UserRole;
    if (best === undefined || RANK[role] > RANK[best]) best = role;
  }
  return best ?? (defaultRole === 'none' ? undefined : defaultRole);
}

/**
 * The organisation roles for `profile`: organisation name (lowercased) → the highest role of the
 * matching rules that name it.
 */
export function organizationRolesFor(rules: readonly RoleRule[], profile: MappingProfile): Map<string, OrganizationRole> {
  const out = new Map<string, OrganizationRole>();
  for (const rule of rules) {
    if (rule.organization === undefined || !ruleMatches(rule, profile)) continue;
    const key = rule.organization.toLowerCase();
    const role = rule.role as OrganizationRole;
    const had = out.get(key);
    if (had === undefined || roleRank(role) > roleRank(had)) out.set(key, role);
  }
  return out;
}

/** The role-mapping policy of one provider. */
export interface RoleMapping {
  rules: readonly RoleRule[];
  defaultRole: DefaultRole;
}
