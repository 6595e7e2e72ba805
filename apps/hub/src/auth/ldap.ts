// Directory sign-in over LDAP (RFC 4511 through ldapts): find the user's entry with a service bind
// or anonymously, then bind as that entry with the typed password (RFC 4513 §5.1.3), over TLS
// (ldaps://, or StartTLS per RFC 4513 §3). Typed input reaches a filter only escaped (RFC 4515 §3),
// so `*)(uid=*` is a user name, not a filter; an empty password never reaches the directory (RFC
// 4513 §5.1.2: a simple bind with a DN and no password is an "unauthenticated bind" that servers
// answer with success). The password is never logged, never stored.
import { isIP } from 'node:net';
import { Client, ConfidentialityRequiredError, escapeFilter, InvalidCredentialsError, SizeLimitExceededError, StrongAuthRequiredError, type Entry } from 'ldapts';
import { ForbiddenError, UnavailableError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import type { ExternalIdentity } from './identity-provisioning.js';
import { normalizeDn } from './role-mapping.js';

export interface LdapSettings {
  /** `ldaps://host:636` or `ldap://host:389` (then StartTLS unless startTls is false). */
  url: string;
  startTls: boolean;
  /** PEM CA certificates the directory's certificate must chain to (default: the system's). */
  caPem?: string | undefined;
  /** Service account for the searches; without it they run anonymously. */
  bindDn?: string | undefined;
  bindPassword?: string | undefined;
  searchBase: string;
  /** A filter with `{username}` where the escaped user name goes, e.g. `(&(objectClass=inetOrgPerson)(uid={username}))`. */
  searchFilter: string;
  emailAttribute: string;
  /** Where groups are searched (default: searchBase). */
  groupSearchBase?: string | undefined;
  /** A filter with `{dn}` (the user's DN) and/or `{username}`, both escaped. */
  groupFilter: string;
  /** Search groups at all (only when a rule names one). */
  wantGroups: boolean;
  /** Entry attributes rules read (`claim` rules). */
  ruleAttributes: readonly string[];
  /** Shown on the form and in messages. */
  name: string;
  timeoutMs: number;
}

export const MAX_USERNAME_LENGTH = 256;
const MAX_PASSWORD_LENGTH = 1024;

/** RFC 4515 §3 escaping of one assertion value (`*`, `(`, `)`, `\` and NUL). */
export function escapeFilterValue(value: string): string {
  return escapeFilter`${value}`;
}

/** A configured filter with its placeholders replaced by escaped values. */
export function fillFilter(template: string, values: Readonly<Record<'username' | 'dn', string>>): string {
  return template.replace(/\{(username|dn)\}/g, (_, name: 'username' | 'dn') => escapeFilterValue(values[name]));
}

function values(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const value = key === undefined ? undefined : entry[key];
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)));
}

export interface Directory {
  readonly name: string;
  /**
   * The user the name and password belong to, or undefined when the directory does not know the
   * name (within the filter) or the password is wrong: callers answer both alike.
   */
  authenticate(username: string, password: string): Promise<ExternalIdentity | undefined>;
}

export function createDirectory(settings: LdapSettings, logger?: Logger): Directory {
  const log = logger?.child({ component: 'ldap' });
  const host = new URL(settings.url).hostname.replace(/^\[|\]$/g, '');
  // SNI carries host names only (RFC 6066 §3); a directory addressed by IP is checked against its IP SAN.
  const tlsOptions = { ...(settings.caPem ? { ca: settings.caPem } : {}), minVersion: 'TLSv1.2' as const, ...(isIP(host) ? {} : { servername: host }) };
  const issuer = normalizeDn(settings.searchBase);
  const unavailable = (what: string, err: unknown) => {
    log?.warn(`directory ${what} failed`, { err: (err as Error).name, message: String((err as Error).message).slice(0, 200) });
    return new UnavailableError(`${settings.name} cannot be reached right now; try again in a moment`, { cause: err });
  };

  async function connect(): Promise<Client> {
    const ldaps = settings.url.startsWith('ldaps:');
    // ldapts opens TLS at connect whenever tlsOptions are given, so an ldap:// URL gets them only at
    // StartTLS; and a copy each time, since startTLS() writes the socket into the object it gets.
    const client = new Client({
      url: settings.url,
      timeout: settings.timeoutMs,
      connectTimeout: settings.timeoutMs,
      strictDN: true,
      ...(ldaps ? { tlsOptions: { ...tlsOptions } } : {}),
    });
    try {
      if (settings.startTls && !ldaps) await client.startTLS({ ...tlsOptions });
      if (settings.bindDn) await client.bind(settings.bindDn, settings.bindPassword ?? '');
      return client;
    } catch (err) {
      await client.unbind().catch(() => {});
      throw unavailable(err instanceof InvalidCredentialsError ? 'service bind' : 'connection', err);
    }
  }

  async function findUser(client: Client, username: string): Promise<Entry | undefined> {
    const attributes = [...new Set(['entryUUID', 'memberOf', settings.emailAttribute, ...settings.ruleAttributes])];
    let entries: Entry[];
    try {
      // Two are enough to know the filter is ambiguous; an ambiguous name signs nobody in.
      ({ searchEntries: entries } = await client.search(settings.searchBase, {
        scope: 'sub',
        filter: fillFilter(settings.searchFilter, { username, dn: '' }),
        attributes,
        sizeLimit: 2,
      }));
    } catch (err) {
      if (err instanceof SizeLimitExceededError) entries = [{ dn: '' }, { dn: '' }];
      else throw unavailable('search', err);
    }
    if (entries.length > 1) log?.warn('directory search matched more than one entry; nobody signed in', { count: entries.length });
    return entries.length === 1 ? entries[0] : undefined;
  }

  async function groupsOf(client: Client, entry: Entry, username: string): Promise<string[]> {
    const groups = new Set(values(entry, 'memberOf'));
    if (!settings.wantGroups) return [...groups];
    try {
      const { searchEntries } = await client.search(settings.groupSearchBase ?? settings.searchBase, {
        scope: 'sub',
        filter: fillFilter(settings.groupFilter, { username, dn: entry.dn }),
        attributes: ['dn'],
        sizeLimit: 1000,
      });
      for (const g of searchEntries) groups.add(g.dn);
    } catch (err) {
      throw unavailable('group search', err);
    }
    return [...groups];
  }

  async function authenticate(username: string, password: string): Promise<ExternalIdentity | undefined> {
    const name = username.trim();
    if (name.length === 0 || name.length > MAX_USERNAME_LENGTH || /[\u0000-\u001f\u007f]/.test(name)) return undefined;
    if (password.length === 0 || password.length > MAX_PASSWORD_LENGTH) return undefined;
    const client = await connect();
    try {
      const entry = await findUser(client, name);
      if (!entry) return undefined;
      const groups = await groupsOf(client, entry, name);
      try {
        await client.bind(entry.dn, password);
      } catch (err) {
        if (err instanceof InvalidCredentialsError) return undefined;
        // confidentialityRequired, strongerAuthRequired: the directory wants TLS, a setup problem.
        if (err instanceof ConfidentialityRequiredError || err instanceof StrongAuthRequiredError) throw unavailable('bind (the directory requires TLS)', err);
        // Locked or expired accounts (unwillingToPerform, ppolicy) answer like a wrong password.
        if (typeof (err as { code?: unknown }).code === 'number') {
          log?.info('directory refused the bind', { code: (err as { code: number }).code });
          return undefined;
        }
        throw unavailable('bind', err);
      }
      const email = values(entry, settings.emailAttribute)[0];
      if (!email) {
        throw new ForbiddenError(`${settings.name} has no e-mail address (${settings.emailAttribute}) for your account; ask its administrator`, { field: 'username' });
      }
      const claims: Record<string, string[]> = {};
      for (const attribute of settings.ruleAttributes) claims[attribute] = values(entry, attribute);
      return {
        provider: 'ldap',
        providerName: settings.name,
        issuer,
        subject: values(entry, 'entryUUID')[0]?.toLowerCase() ?? normalizeDn(entry.dn),
        email,
        claims,
        groups,
      };
    } finally {
      await client.unbind().catch(() => {});
    }
  }

  return { name: settings.name, authenticate };
}
