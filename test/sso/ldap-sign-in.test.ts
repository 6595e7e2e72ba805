// Directory sign-in against a real OpenLDAP (Debian's slapd, started by the test in its own
// directory on loopback): the sign-in methods built from a loaded configuration exactly as the hub
// builds them, over a PGlite registry. Right and wrong passwords, unknown names and users outside
// the filter or base answered alike, a user without an address, group → role mapping, filter
// injection and an empty password refused, StartTLS and ldaps:// with the test CA (and refused with
// another CA), anonymous and service-account search, the login throttle, and no password in logs.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { userIdentities, users } from '@porthole/db';
import { ForbiddenError, loadConfig, RateLimitedError, singleSignOnFromConfig, UnauthorizedError, UnavailableError, type SingleSignOn } from '@porthole/hub';
import { useRegistryTestBed } from '@porthole/hub/testing';
import { memoryLogger } from '@porthole/log';
import { requirementsMet } from '../support/requirements.js';
import { SLAPD_TOOLS, startSlapd, type SlapdServer } from './slapd-server.js';

const ok = requirementsMet('LDAP sign-in against slapd', { tools: SLAPD_TOOLS });

const PASSWORDS = { alice: 'alice directory pw 1', bob: 'bob directory pw 2', eve: 'eve directory pw 3', dave: 'dave directory pw 4', robot: 'robot pw 5', search: 'search account pw 6' };

const person = (uid: string, ou: string, type: string, mail?: string) => `dn: uid=${uid},ou=${ou},dc=example,dc=org
objectClass: inetOrgPerson
uid: ${uid}
cn: ${uid}
sn: ${uid}
employeeType: ${type}
${mail ? `mail: ${mail}\n` : ''}userPassword: {{hash:${PASSWORDS[uid as keyof typeof PASSWORDS]}}}
`;

const LDIF = [
  'dn: dc=example,dc=org\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n',
  ...['people', 'groups', 'services'].map((ou) => `dn: ou=${ou},dc=example,dc=org\nobjectClass: organizationalUnit\nou: ${ou}\n`),
  person('alice', 'people', 'staff', 'Alice@Example.org'),
  person('bob', 'people', 'staff', 'bob@example.org'),
  // Outside the filter (a contractor) and outside the search base (a service account).
  person('eve', 'people', 'contractor', 'eve@example.org'),
  person('robot', 'services', 'staff', 'robot@example.org'),
  // Inside the filter, without an address.
  person('dave', 'people', 'staff'),
  `dn: cn=porthole-search,ou=services,dc=example,dc=org\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: porthole-search\nuserPassword: {{hash:${PASSWORDS.search}}}\n`,
  'dn: cn=porthole-admins,ou=groups,dc=example,dc=org\nobjectClass: groupOfNames\ncn: porthole-admins\nmember: uid=alice,ou=people,dc=example,dc=org\n',
  'dn: cn=meter-readers,ou=groups,dc=example,dc=org\nobjectClass: groupOfNames\ncn: meter-readers\nmember: uid=bob,ou=people,dc=example,dc=org\n',
].join('\n');

describe.skipIf(!ok)('directory sign-in against slapd', () => {
  let slapd: SlapdServer;
  const bed = useRegistryTestBed('pglite');
  const logger = memoryLogger('debug');

  beforeAll(async () => {
    slapd = await startSlapd(LDIF);
  });
  afterAll(async () => {
    await slapd?.close();
  });

  /** The sign-in methods as the hub builds them from these variables (on top of a StartTLS setup). */
  function methods(env: Record<string, string> = {}): SingleSignOn {
    const config = loadConfig(
      {
        PORTHOLE_LDAP_URL: slapd.ldapUrl,
        PORTHOLE_LDAP_CA_FILE: slapd.caFile,
        PORTHOLE_LDAP_BIND_DN: 'cn=porthole-search,ou=services,dc=example,dc=org',
        PORTHOLE_LDAP_BIND_PASSWORD: PASSWORDS.search,
        PORTHOLE_LDAP_SEARCH_BASE: 'ou=people,dc=example,dc=org',
        PORTHOLE_LDAP_SEARCH_FILTER: '(&(objectClass=inetOrgPerson)(employeeType=staff)(uid={username}))',
        PORTHOLE_LDAP_GROUP_SEARCH_BASE: 'ou=groups,dc=example,dc=org',
        PORTHOLE_LDAP_ROLE_RULES: '[{"group":"cn=porthole-admins,ou=groups,dc=example,dc=org","role":"admin"}]',
        PORTHOLE_LDAP_NAME: 'Example directory',
        ...env,
      },
      (path) => readFileSync(path, 'utf8'),
    );
    return singleSignOnFromConfig(config, { ctx: bed.registry.context, beginPasswordAttempt: bed.registry.beginPasswordAttempt, logger, portalUrl: 'https://portal.example.io' });
  }
  const attempt = (sso: SingleSignOn, username: string, password: string, clientIp = '192.0.2.10') =>
    sso.directorySignIn({ username, password, clientIp }).then(
      (r) => r,
      (err: unknown) => err as Error,
    );
  const accountCount = async () => (await bed.registry.context.db.select().from(users)).length;

  it('signs in with the right password over StartTLS, creating the account once, its role from its group', async () => {
    const sso = methods();
    const t0 = performance.now();
    const first = await attempt(sso, 'alice', PASSWORDS.alice);
    const ms = performance.now() - t0;
    if (first instanceof Error) throw first;
    console.log(`directory sign-in over StartTLS with service search and group lookup: ${ms.toFixed(0)} ms (first, includes the account)`);
    expect(first.user).toMatchObject({ email: 'alice@example.org', role: 'admin' });
    expect(await bed.registry.userForSessionToken(first.session.token)).toMatchObject({ id: first.user.id, role: 'admin' });
    const identities = await bed.registry.context.db.select().from(userIdentities).where(eq(userIdentities.userId, first.user.id));
    expect(identities).toEqual([expect.objectContaining({ provider: 'ldap', issuer: 'ou=people,dc=example,dc=org', email: 'alice@example.org' })]);
    // The subject is the entry's entryUUID (slapadd gave each entry one), not its DN.
    expect(identities[0]!.subject).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    const again = await attempt(sso, ' Alice ', PASSWORDS.alice);
    if (again instanceof Error) throw again;
    expect(again.user.id).toBe(first.user.id);

    const bob = await attempt(sso, 'bob', PASSWORDS.bob);
    if (bob instanceof Error) throw bob;
    expect(bob.user.role).toBe('user');
    expect(await accountCount()).toBe(2);
  });

  it('answers a wrong password, an unknown name and users outside the filter or the base alike', async () => {
    const sso = methods();
    const answers = [
      await attempt(sso, 'bob', 'not bobs password'),
      await attempt(sso, 'nobody', PASSWORDS.bob),
      await attempt(sso, 'eve', PASSWORDS.eve),
      await attempt(sso, 'robot', PASSWORDS.robot),
    ];
    for (const a of answers) {
      expect(a).toBeInstanceOf(UnauthorizedError);
      expect((a as Error).message).toBe('user name or password is wrong');
    }
    // A user the filter admits but whose entry has no address: the password was right, so say why.
    const dave = await attempt(sso, 'dave', PASSWORDS.dave);
    expect(dave).toBeInstanceOf(ForbiddenError);
    expect((dave as Error).message).toContain('has no e-mail address (mail)');
    expect(await accountCount()).toBe(0);
  });

  it('treats filter syntax in the name as a name (RFC 4515) and never sends an empty password', async () => {
    const sso = methods();
    // Unescaped, `al*` would find alice and her password would sign the attacker in as her.
    for (const name of ['al*', '*)(uid=*', '*', 'alice)(|(uid=*', 'alice\\', 'alice\u0000']) {
      expect(await attempt(sso, name, PASSWORDS.alice), name).toBeInstanceOf(UnauthorizedError);
    }
    // A DN with an empty password is an "unauthenticated bind" that slapd would answer with success.
    expect(await attempt(sso, 'alice', '')).toBeInstanceOf(UnauthorizedError);
    expect(await accountCount()).toBe(0);
  });

  it('works over ldaps:// and with anonymous search; refuses a directory the CA did not sign and a wrong service password', async () => {
    const ldaps = await attempt(methods({ PORTHOLE_LDAP_URL: slapd.ldapsUrl }), 'bob', PASSWORDS.bob);
    expect(ldaps).not.toBeInstanceOf(Error);
    const anonymous = methods({ PORTHOLE_LDAP_BIND_DN: '', PORTHOLE_LDAP_BIND_PASSWORD: '' });
    expect(await attempt(anonymous, 'alice', PASSWORDS.alice)).toMatchObject({ user: { role: 'admin' } });

    const untrusted: Record<string, string>[] = [{ PORTHOLE_LDAP_CA_FILE: slapd.otherCaFile }, { PORTHOLE_LDAP_URL: slapd.ldapsUrl, PORTHOLE_LDAP_CA_FILE: slapd.otherCaFile }];
    for (const env of untrusted) {
      const refused = await attempt(methods(env), 'bob', PASSWORDS.bob);
      expect(refused).toBeInstanceOf(UnavailableError);
      expect((refused as Error).message).toBe('Example directory cannot be reached right now; try again in a moment');
    }
    const wrongService = await attempt(methods({ PORTHOLE_LDAP_BIND_PASSWORD: 'not the service password' }), 'bob', PASSWORDS.bob);
    expect(wrongService).toBeInstanceOf(UnavailableError);
    // Without TLS (allowed on loopback only) this directory refuses the password bind: a setup
    // problem (503), not a wrong password.
    const clear = await attempt(methods({ PORTHOLE_LDAP_STARTTLS: 'off', PORTHOLE_LDAP_BIND_DN: '', PORTHOLE_LDAP_BIND_PASSWORD: '' }), 'bob', PASSWORDS.bob);
    expect(clear).toBeInstanceOf(UnavailableError);
  });

  it('maps no role when the default is none and no group rule matches', async () => {
    const strict = methods({ PORTHOLE_LDAP_DEFAULT_ROLE: 'none' });
    expect(await attempt(strict, 'bob', PASSWORDS.bob)).toBeInstanceOf(ForbiddenError);
    expect(await attempt(strict, 'alice', PASSWORDS.alice)).toMatchObject({ user: { role: 'admin' } });
    // A group named by its cn works as well as its DN.
    const byName = methods({ PORTHOLE_LDAP_DEFAULT_ROLE: 'none', PORTHOLE_LDAP_ROLE_RULES: '[{"group":"meter-readers","role":"user"}]' });
    expect(await attempt(byName, 'bob', PASSWORDS.bob)).toMatchObject({ user: { role: 'user' } });
  });

  it('counts directory guesses in the login throttle, and never logs a password', async () => {
    const sso = methods();
    for (let i = 0; i < 6; i++) expect(await attempt(sso, 'bob', `guess number ${i}`)).toBeInstanceOf(UnauthorizedError);
    // Held back now, even with the right password, until the wait is over.
    expect(await attempt(sso, 'bob', PASSWORDS.bob)).toBeInstanceOf(RateLimitedError);
    // Another address is not held back by these guesses.
    expect(await attempt(sso, 'bob', PASSWORDS.bob, '198.51.100.20')).not.toBeInstanceOf(Error);
    bed.clock.advance(2_000);
    expect(await attempt(sso, 'bob', PASSWORDS.bob)).not.toBeInstanceOf(Error);

    const logged = JSON.stringify(logger.records);
    expect(logged).toContain('directory login failed');
    for (const secret of Object.values(PASSWORDS)) expect(logged).not.toContain(secret);
    expect(logged).not.toContain('guess number');
  });
});
