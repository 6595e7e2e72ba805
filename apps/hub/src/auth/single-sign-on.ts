// The portal's sign-in methods besides local passwords: an OpenID Connect provider and an LDAP
// directory, each with its role mapping, and whether local passwords are on. When they are off,
// the bootstrap admin (PORTHOLE_ADMIN_EMAIL) alone keeps password sign-in, at /login?method=password,
// so a hub whose provider is down or misconfigured can still be administered.
import { UnauthorizedError, UnavailableError } from '../errors.js';
import type { HubConfig } from '../config/config-schema.js';
import { ldapRuleNeeds } from '../config/sign-in-config.js';
import type { Logger } from '../ops/logger.js';
import type { LoginResult } from '../registry/accounts.js';
import type { RegistryContext } from '../registry/context.js';
import { canonicalEmail } from '../registry/email-address.js';
import { linkIdentity, listIdentities, signInWithIdentity, type ExternalIdentity, type IdentityInfo, type ProvisioningPolicy } from './identity-provisioning.js';
import { createDirectory, type LdapSettings } from './ldap.js';
import { createOidcRelyingParty, type OidcSettings, type OidcStart } from './oidc.js';
import type { RoleMapping } from './role-mapping.js';
import type { SessionUser } from './sessions.js';

export interface SingleSignOnOptions {
  ctx: RegistryContext;
  /** The login throttle (registry/accounts.ts): directory passwords are guessed like local ones. */
  beginPasswordAttempt: (subject: string, clientIp: string) => Promise<{ succeeded(): Promise<void> }>;
  localLogin: boolean;
  /** The bootstrap admin's address: keeps password sign-in and its admin role whatever the mappings say. */
  adminEmail?: string | undefined;
  oidc?: { settings: OidcSettings; mapping: RoleMapping } | undefined;
  ldap?: { settings: LdapSettings; mapping: RoleMapping } | undefined;
  logger?: Logger | undefined;
}

export interface SingleSignOn {
  readonly localLogin: boolean;
  /** Names for the login page; undefined when not configured. */
  readonly oidcName: string | undefined;
  readonly directoryName: string | undefined;
  /** Whether the password form may sign in `email` (with local login off: the bootstrap admin only). */
  passwordLoginAllowed(email: string): boolean;
  startOidc(): Promise<OidcStart>;
  finishOidc(params: URLSearchParams, flowSecret: string, clientIp: string | null): Promise<LoginResult>;
  linkOidc(params: URLSearchParams, flowSecret: string, user: SessionUser): Promise<SessionUser>;
  directorySignIn(input: { username: string; password: string; clientIp: string | null }): Promise<LoginResult>;
  linkDirectory(input: { username: string; password: string; clientIp: string | null; user: SessionUser }): Promise<SessionUser>;
  identities(userId: string): Promise<IdentityInfo[]>;
}

export function createSingleSignOn(options: SingleSignOnOptions): SingleSignOn {
  const { ctx } = options;
  const log = options.logger?.child({ component: 'sign-in' });
  const oidc = options.oidc && createOidcRelyingParty(options.oidc.settings, options.logger);
  const directory = options.ldap && createDirectory(options.ldap.settings, options.logger);
  const protectedEmails = options.adminEmail ? [options.adminEmail] : [];
  const oidcPolicy: ProvisioningPolicy | undefined = options.oidc && { mapping: options.oidc.mapping, protectedEmails };
  const ldapPolicy: ProvisioningPolicy | undefined = options.ldap && { mapping: options.ldap.mapping, protectedEmails };
  const adminEmail = options.adminEmail ? canonicalEmail(options.adminEmail) : undefined;

  const notConfigured = (what: string) => new UnavailableError(`${what} is not configured on this hub`);

  async function oidcIdentity(params: URLSearchParams, flowSecret: string): Promise<ExternalIdentity> {
    if (!oidc) throw notConfigured('single sign-on');
    return oidc.finish(params, flowSecret);
  }

  /** Directory credentials checked under the login throttle; the same answer for unknown names and wrong passwords. */
  async function directoryIdentity(username: string, password: string, clientIp: string | null): Promise<ExternalIdentity> {
    if (!directory) throw notConfigured('directory sign-in');
    const attempt = await options.beginPasswordAttempt(`directory:${username.trim().toLowerCase()}`, clientIp ?? 'unknown');
    const identity = await directory.authenticate(username, password);
    if (!identity) {
      log?.info('directory login failed', { clientIp: clientIp ?? 'unknown' });
      throw new UnauthorizedError('user name or password is wrong', { field: 'password' });
    }
    await attempt.succeeded();
    return identity;
  }

  return {
    localLogin: options.localLogin,
    oidcName: oidc?.name,
    directoryName: directory?.name,
    passwordLoginAllowed: (email) => options.localLogin || (adminEmail !== undefined && canonicalEmail(email) === adminEmail),
    startOidc() {
      if (!oidc) throw notConfigured('single sign-on');
      return oidc.start();
    },
    async finishOidc(params, flowSecret, clientIp) {
      return signInWithIdentity(ctx, await oidcIdentity(params, flowSecret), oidcPolicy!, clientIp);
    },
    async linkOidc(params, flowSecret, user) {
      return linkIdentity(ctx, await oidcIdentity(params, flowSecret), oidcPolicy!, user);
    },
    async directorySignIn({ username, password, clientIp }) {
      return signInWithIdentity(ctx, await directoryIdentity(username, password, clientIp), ldapPolicy!, clientIp);
    },
    async linkDirectory({ username, password, clientIp, user }) {
      return linkIdentity(ctx, await directoryIdentity(username, password, clientIp), ldapPolicy!, user);
    },
    identities: (userId) => listIdentities(ctx, userId),
  };
}

/** The sign-in methods a validated configuration names (config/sign-in-config.ts). */
export function singleSignOnFromConfig(
  config: HubConfig,
  deps: Pick<SingleSignOnOptions, 'ctx' | 'beginPasswordAttempt' | 'logger'> & { portalUrl: string },
): SingleSignOn {
  const ldapNeeds = ldapRuleNeeds(config.ldapRoleRules);
  return createSingleSignOn({
    ...deps,
    localLogin: config.localLogin === 'on',
    adminEmail: config.adminEmail,
    oidc:
      config.oidcIssuer && config.oidcClientId && config.oidcClientSecret
        ? {
            settings: {
              issuer: config.oidcIssuer,
              clientId: config.oidcClientId,
              clientSecret: config.oidcClientSecret,
              redirectUri: new URL('/login/oidc/callback', deps.portalUrl).href,
              scopes: config.oidcScopes,
              name: config.oidcName ?? new URL(config.oidcIssuer).hostname,
            },
            mapping: { rules: config.oidcRoleRules ?? [], defaultRole: config.oidcDefaultRole },
          }
        : undefined,
    ldap:
      config.ldapUrl && config.ldapSearchBase
        ? {
            settings: {
              url: config.ldapUrl,
              startTls: config.ldapStartTls === 'on',
              caPem: config.ldapCaPem,
              bindDn: config.ldapBindDn,
              bindPassword: config.ldapBindPassword,
              searchBase: config.ldapSearchBase,
              searchFilter: config.ldapSearchFilter,
              emailAttribute: config.ldapEmailAttribute,
              groupSearchBase: config.ldapGroupSearchBase,
              groupFilter: config.ldapGroupFilter,
              wantGroups: ldapNeeds.groups,
              ruleAttributes: ldapNeeds.attributes,
              name: config.ldapName,
              timeoutMs: config.ldapTimeoutMs,
            },
            mapping: { rules: config.ldapRoleRules ?? [], defaultRole: config.ldapDefaultRole },
          }
        : undefined,
  });
}
