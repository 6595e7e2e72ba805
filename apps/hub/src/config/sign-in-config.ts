// The portal's sign-in settings: local passwords on or off, an OpenID Connect provider and an LDAP
// directory, each with role rules (auth/role-mapping.ts). The fields, secrets, defaults and
// meanings here are spread into config-schema.ts and config-docs.ts; the rules that involve
// several settings, and the directory's CA file, are checked with the rest of the configuration.
import { isIP } from 'node:net';
import { z } from 'zod';
import { DEFAULT_ROLES, roleRulesSchema, type RoleRule } from '../auth/role-mapping.js';

const onOff = z.enum(['on', 'off'], { message: 'must be on or off' });
const text = z.string().trim().min(1, 'must not be empty').max(1024, 'must have at most 1024 characters');

const httpUrl = z.string().refine(
  (s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'https:' || u.protocol === 'http:') && u.search === '' && u.hash === '' && u.username === '';
    } catch {
      return false;
    }
  },
  { message: 'must be an https:// URL without query or fragment, such as https://login.example.com/realms/porthole' },
);

const ldapUrl = z.string().refine(
  (s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'ldap:' || u.protocol === 'ldaps:') && u.hostname !== '' && (u.pathname === '' || u.pathname === '/') && u.search === '';
    } catch {
      return false;
    }
  },
  { message: 'must be ldaps://host[:port] or ldap://host[:port] (the search base is its own setting)' },
);

export const signInFields = {
  /** Password sign-in and sign-up; off leaves single sign-on and the bootstrap admin's password. */
  localLogin: onOff,
  oidcIssuer: httpUrl.optional(),
  oidcClientId: text.optional(),
  oidcClientSecret: z.string().min(1, 'must not be empty').optional(),
  oidcName: text.max(60, 'must have at most 60 characters').optional(),
  oidcScopes: text,
  oidcRoleRules: roleRulesSchema.optional(),
  oidcDefaultRole: z.enum(DEFAULT_ROLES, { message: 'must be user or none' }),
  ldapUrl: ldapUrl.optional(),
  ldapStartTls: onOff,
  ldapCaFile: z.string().min(1, 'must not be empty').optional(),
  ldapBindDn: text.optional(),
  ldapBindPassword: z.string().min(1, 'must not be empty').optional(),
  ldapSearchBase: text.optional(),
  ldapSearchFilter: text,
  ldapEmailAttribute: text.regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'must be an attribute name such as mail'),
  ldapGroupSearchBase: text.optional(),
  ldapGroupFilter: text,
  ldapRoleRules: roleRulesSchema.optional(),
  ldapDefaultRole: z.enum(DEFAULT_ROLES, { message: 'must be user or none' }),
  ldapName: text.max(60, 'must have at most 60 characters'),
  ldapTimeoutMs: z.number({ message: 'must be a number of milliseconds' }).int('must be an integer').min(100, 'must be at least 100').max(120_000, 'must be at most 120000'),
};

type SignInKey = keyof typeof signInFields;

export const SIGN_IN_DEFAULTS = {
  localLogin: 'on',
  oidcScopes: 'openid email profile',
  oidcDefaultRole: 'user',
  ldapStartTls: 'on',
  ldapSearchFilter: '(uid={username})',
  ldapEmailAttribute: 'mail',
  ldapGroupFilter: '(|(member={dn})(uniqueMember={dn})(memberUid={username}))',
  ldapDefaultRole: 'user',
  ldapName: 'directory',
  ldapTimeoutMs: 5_000,
} as const satisfies Partial<Record<SignInKey, unknown>>;

/** The sign-in settings given as secrets (config-schema.ts: SECRET_KEYS). */
export const SIGN_IN_SECRET_KEYS: readonly SignInKey[] = ['oidcClientSecret', 'ldapBindPassword'];

/** Sign-in variables not named after their key (config-schema.ts: ENV_NAMES). */
export const SIGN_IN_ENV_NAMES: Partial<Record<SignInKey, string>> = { ldapStartTls: 'PORTHOLE_LDAP_STARTTLS' };

const RULES_DOC =
  'JSON list; each rule one of `{"emailDomain":"example.com","role":"admin"}`, `{"claim":"groups","value":"ops","role":"admin"}`, `{"group":"cn=admins,ou=groups,dc=example,dc=com","role":"admin"}`; the highest matching role wins, at every sign-in';

export const SIGN_IN_DOCS: Record<SignInKey, string> = {
  localLogin:
    '`on` or `off`: password sign-in and sign-up. Off needs single sign-on or a directory; the bootstrap admin (`PORTHOLE_ADMIN_EMAIL`) still signs in with its password at `/login?method=password`.',
  oidcIssuer:
    'OpenID Connect provider (issuer URL; its `/.well-known/openid-configuration` is read). Sign-in returns to `<portal>/login/oidc/callback`: register that redirect URL with the provider. HTTPS (plain HTTP only on loopback).',
  oidcClientId: 'Client id at the provider.',
  oidcClientSecret: 'Client secret at the provider (`client_secret_basic`).',
  oidcName: 'Name on the "Sign in with …" button.',
  oidcScopes: 'Scopes asked for (`openid` is always included; the address comes from `email`).',
  oidcRoleRules: `Hub role from the provider's verified address or claims: ${RULES_DOC} (\`claim\` names a claim, dotted for nested ones; \`group\` matches the \`groups\` claim).`,
  oidcDefaultRole: '`user`: anyone the provider signs in gets an account; `none`: only users a role rule matches.',
  ldapUrl: 'LDAP directory for sign-in: `ldaps://host` or `ldap://host` (then StartTLS).',
  ldapStartTls: '`on` or `off`: StartTLS on an `ldap://` URL; off sends passwords in clear text and is refused except on loopback.',
  ldapCaFile: "PEM CA certificates for the directory's certificate (default: the system's).",
  ldapBindDn: 'Service account that searches for users; unset: anonymous search.',
  ldapBindPassword: 'Its password.',
  ldapSearchBase: 'Where users are searched (`ou=people,dc=example,dc=com`); required with the URL.',
  ldapSearchFilter: 'Finds the user; `{username}` is the typed name, escaped (RFC 4515). Exactly one entry must match.',
  ldapEmailAttribute: "Attribute holding the user's e-mail address (required for an account).",
  ldapGroupSearchBase: 'Where groups are searched (default: the search base).',
  ldapGroupFilter: "Finds the user's groups for `group` rules; `{dn}` is the user's DN, `{username}` the name, both escaped. `memberOf` on the entry counts too.",
  ldapRoleRules: `Hub role from the directory: ${RULES_DOC} (\`claim\` names an attribute of the user's entry; \`group\` is a DN or a group's name).`,
  ldapDefaultRole: '`user`: every user the filter finds may sign in; `none`: only users a role rule matches.',
  ldapName: 'Name of the directory on the sign-in form ("Sign in with your … account").',
  ldapTimeoutMs: 'Each directory connection and operation (then the sign-in fails with 503).',
};

export const SIGN_IN_DERIVED_DEFAULTS: Partial<Record<SignInKey, string>> = {
  oidcName: "the issuer's host name",
  oidcRoleRules: 'no rules',
  ldapGroupSearchBase: 'the search base',
  ldapRoleRules: 'no rules',
};

type SignInValues = z.output<z.ZodObject<typeof signInFields>>;

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
}

/** Rules between sign-in settings, each as the key at fault and what is wrong; `env` names a setting's variable. */
export function signInProblems(c: SignInValues, env: (key: SignInKey) => string): { key: SignInKey; message: string }[] {
  const problems: { key: SignInKey; message: string }[] = [];
  if (c.oidcIssuer !== undefined) {
    if (c.oidcClientId === undefined) problems.push({ key: 'oidcClientId', message: `must be set with ${env('oidcIssuer')}` });
    if (c.oidcClientSecret === undefined) problems.push({ key: 'oidcClientSecret', message: `must be set with ${env('oidcIssuer')}` });
    const u = new URL(c.oidcIssuer);
    if (u.protocol === 'http:' && !isLoopbackHost(u.hostname)) problems.push({ key: 'oidcIssuer', message: 'must use https:// (plain http only on loopback)' });
  } else {
    for (const key of ['oidcClientId', 'oidcClientSecret', 'oidcRoleRules'] as const) {
      if (c[key] !== undefined) problems.push({ key, message: `needs ${env('oidcIssuer')}` });
    }
  }
  if (c.ldapUrl !== undefined) {
    if (c.ldapSearchBase === undefined) problems.push({ key: 'ldapSearchBase', message: `must be set with ${env('ldapUrl')}` });
    if (!c.ldapSearchFilter.includes('{username}')) problems.push({ key: 'ldapSearchFilter', message: 'must contain {username}' });
    if (!/^\(.*\)$/s.test(c.ldapSearchFilter)) problems.push({ key: 'ldapSearchFilter', message: 'must be an LDAP filter in parentheses, such as (uid={username})' });
    if (!/\{(dn|username)\}/.test(c.ldapGroupFilter)) problems.push({ key: 'ldapGroupFilter', message: 'must contain {dn} or {username}' });
    const u = new URL(c.ldapUrl);
    if (u.protocol === 'ldap:' && c.ldapStartTls === 'off' && !isLoopbackHost(u.hostname)) {
      problems.push({ key: 'ldapStartTls', message: 'off would send passwords in clear text; use StartTLS or ldaps:// (clear text only on loopback)' });
    }
    if ((c.ldapBindDn === undefined) !== (c.ldapBindPassword === undefined)) {
      problems.push({ key: c.ldapBindDn === undefined ? 'ldapBindDn' : 'ldapBindPassword', message: `set ${env('ldapBindDn')} and ${env('ldapBindPassword')} together, or neither (anonymous search)` });
    }
  } else {
    for (const key of ['ldapSearchBase', 'ldapBindDn', 'ldapBindPassword', 'ldapRoleRules', 'ldapCaFile'] as const) {
      if (c[key] !== undefined) problems.push({ key, message: `needs ${env('ldapUrl')}` });
    }
  }
  if (c.localLogin === 'off' && c.oidcIssuer === undefined && c.ldapUrl === undefined) {
    problems.push({ key: 'localLogin', message: `off needs ${env('oidcIssuer')} or ${env('ldapUrl')}: nobody but the bootstrap admin could sign in` });
  }
  return problems;
}

/** The attributes `claim` rules read from a directory entry; whether any rule needs the user's groups. */
export function ldapRuleNeeds(rules: readonly RoleRule[] | undefined): { attributes: string[]; groups: boolean } {
  return {
    attributes: [...new Set((rules ?? []).flatMap((r) => (r.claim !== undefined ? [r.claim] : [])))],
    groups: (rules ?? []).some((r) => r.group !== undefined),
  };
}
