// Sign-in settings as the loader sees them: a complete OIDC and LDAP setup loads with its rules
// parsed, and every rule between settings is reported at once, naming the variable.
import { describe, expect, it } from 'vitest';
import { configFiles, configProblems } from '../testing/config-files.js';
import { describeConfig, loadConfig } from './load-config.js';

describe('sign-in settings', () => {
  it('default to local passwords only', () => {
    const c = loadConfig({}, configFiles());
    expect(c.localLogin).toBe('on');
    expect(c.oidcIssuer).toBeUndefined();
    expect(c.ldapUrl).toBeUndefined();
    expect(c.ldapStartTls).toBe('on');
  });

  it('load a full OIDC and LDAP setup, secrets from files, rules from JSON', () => {
    const c = loadConfig(
      {
        PORTHOLE_LOCAL_LOGIN: 'off',
        PORTHOLE_OIDC_ISSUER: 'https://login.example.com/realms/ops',
        PORTHOLE_OIDC_CLIENT_ID: 'porthole',
        PORTHOLE_OIDC_CLIENT_SECRET_FILE: '/run/secrets/oidc',
        PORTHOLE_OIDC_ROLE_RULES: '[{"claim":"groups","value":"ops","role":"admin"}]',
        PORTHOLE_LDAP_URL: 'ldaps://dir.example.com',
        PORTHOLE_LDAP_SEARCH_BASE: 'ou=people,dc=example,dc=com',
        PORTHOLE_LDAP_BIND_DN: 'cn=porthole,dc=example,dc=com',
        PORTHOLE_LDAP_BIND_PASSWORD_FILE: '/run/secrets/ldap',
        PORTHOLE_LDAP_CA_FILE: '/etc/ldap-ca.pem',
        PORTHOLE_LDAP_ROLE_RULES: '[{"group":"admins","role":"admin"}]',
      },
      configFiles({ '/run/secrets/oidc': 'client-secret\n', '/run/secrets/ldap': 'bind-secret\n', '/etc/ldap-ca.pem': '-----BEGIN CERTIFICATE-----\nx\n' }),
    );
    expect(c.localLogin).toBe('off');
    expect(c.oidcClientSecret).toBe('client-secret');
    expect(c.oidcRoleRules).toEqual([{ claim: 'groups', value: 'ops', role: 'admin' }]);
    expect(c.ldapRoleRules).toEqual([{ group: 'admins', role: 'admin' }]);
    expect(c.ldapCaPem).toContain('BEGIN CERTIFICATE');
    const described = JSON.stringify(describeConfig(c));
    expect(described).not.toContain('client-secret');
    expect(described).not.toContain('bind-secret');
  });

  it('report every rule between settings at once, naming the variable', () => {
    const problems = configProblems({
      PORTHOLE_LOCAL_LOGIN: 'off',
      PORTHOLE_OIDC_CLIENT_ID: 'orphan',
      PORTHOLE_LDAP_BIND_DN: 'cn=x',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'PORTHOLE_OIDC_CLIENT_ID: needs PORTHOLE_OIDC_ISSUER',
        'PORTHOLE_LDAP_BIND_DN: needs PORTHOLE_LDAP_URL',
        expect.stringMatching(/^PORTHOLE_LOCAL_LOGIN: off needs PORTHOLE_OIDC_ISSUER or PORTHOLE_LDAP_URL/),
      ]),
    );
    const more = configProblems({
      PORTHOLE_OIDC_ISSUER: 'http://login.example.com',
      PORTHOLE_OIDC_ROLE_RULES: '[{"emailDomain":"example.com","role":"superuser"}]',
      PORTHOLE_LDAP_URL: 'ldap://dir.example.com',
      PORTHOLE_LDAP_STARTTLS: 'off',
      PORTHOLE_LDAP_SEARCH_FILTER: '(uid=alice)',
      PORTHOLE_LDAP_CA_FILE: '/missing.pem',
    });
    expect(more).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PORTHOLE_OIDC_ROLE_RULES: .*role must be one of admin, user/),
      ]),
    );
    const fixed = configProblems({
      PORTHOLE_OIDC_ISSUER: 'http://login.example.com',
      PORTHOLE_LDAP_URL: 'ldap://dir.example.com',
      PORTHOLE_LDAP_STARTTLS: 'off',
      PORTHOLE_LDAP_SEARCH_FILTER: '(uid=alice)',
      PORTHOLE_LDAP_CA_FILE: '/missing.pem',
    });
    expect(fixed).toEqual(
      expect.arrayContaining([
        'PORTHOLE_OIDC_CLIENT_ID: must be set with PORTHOLE_OIDC_ISSUER',
        'PORTHOLE_OIDC_CLIENT_SECRET: must be set with PORTHOLE_OIDC_ISSUER',
        'PORTHOLE_OIDC_ISSUER: must use https:// (plain http only on loopback)',
        'PORTHOLE_LDAP_SEARCH_BASE: must be set with PORTHOLE_LDAP_URL',
        'PORTHOLE_LDAP_SEARCH_FILTER: must contain {username}',
        expect.stringMatching(/^PORTHOLE_LDAP_STARTTLS: off would send passwords in clear text/),
        'PORTHOLE_LDAP_CA_FILE: cannot read /missing.pem (ENOENT)',
      ]),
    );
  });

  it('allow plain HTTP and LDAP without TLS on loopback only', () => {
    const c = loadConfig(
      {
        PORTHOLE_OIDC_ISSUER: 'http://127.0.0.1:4000',
        PORTHOLE_OIDC_CLIENT_ID: 'porthole',
        PORTHOLE_OIDC_CLIENT_SECRET: 'secret',
        PORTHOLE_LDAP_URL: 'ldap://localhost:3890',
        PORTHOLE_LDAP_STARTTLS: 'off',
        PORTHOLE_LDAP_SEARCH_BASE: 'dc=test',
      },
      configFiles(),
    );
    expect(c.oidcIssuer).toBe('http://127.0.0.1:4000');
    expect(c.ldapStartTls).toBe('off');
  });
});
