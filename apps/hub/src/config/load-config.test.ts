import { describe, expect, it } from 'vitest';
import { PKI_TOOLS, useDevicePki } from '../../../../test/support/device-pki.js';
import { requirementsMet } from '../../../../test/support/requirements.js';
import { configFiles, configProblems } from '../testing/config-files.js';
import { describeConfig, loadConfig } from './load-config.js';

const noFiles = configFiles();

describe('loadConfig', () => {
  it('has working defaults with no environment at all', () => {
    const c = loadConfig({}, noFiles);
    expect(c.domain).toBe('localhost');
    expect(c.portalHost).toBe('localhost');
    expect(c.httpPort).toBe(8080);
    expect(c.wgPort).toBe(51820);
    expect(c.wgEndpoint).toBe('localhost:51820');
    expect(c.overlayCidr).toBe('100.64.0.0/10');
    expect(c.trustProxy).toBe(0);
    expect(c.tls).toBe(false);
    expect(c.databaseUrl).toBeUndefined();
  });

  it('layers defaults < file < environment', () => {
    const file = JSON.stringify({ domain: 'devices.example.io', httpPort: 80, wgPort: 4000 });
    const c = loadConfig(
      { PORTHOLE_CONFIG: '/etc/porthole.json', PORTHOLE_HTTP_PORT: '8081', PORTHOLE_PORTAL_HOST: 'Portal.Example.COM.' },
      configFiles({ '/etc/porthole.json': file }),
    );
    expect(c.domain).toBe('devices.example.io');
    expect(c.httpPort).toBe(8081);
    expect(c.wgPort).toBe(4000);
    expect(c.wgEndpoint).toBe('devices.example.io:4000');
    expect(c.portalHost).toBe('portal.example.com');
  });

  it('reports every problem at once, naming the variable and the value', () => {
    const problems = configProblems(
      {
        PORTHOLE_HTTP_PORT: 'eighty',
        PORTHOLE_WG_PORT: '70000',
        PORTHOLE_OVERLAY_CIDR: '10.0.0.0/33',
        PORTHOLE_DOMAIN: 'not a domain',
        DATABASE_URL: 'mysql://secret@db',
        PORTHOLE_TRUST_PROXY: 'maybe',
        PORTHOLE_LOG_LEVEL: 'loud',
      },
      noFiles,
    );
    expect(problems).toHaveLength(7);
    expect(problems).toContain('PORTHOLE_HTTP_PORT: must be a port number (got "eighty")');
    expect(problems).toContain('PORTHOLE_WG_PORT: must be 1-65535 (got 70000)');
    expect(problems.find((p) => p.startsWith('PORTHOLE_OVERLAY_CIDR:'))).toContain('"10.0.0.0/33"');
    expect(problems.find((p) => p.startsWith('PORTHOLE_DOMAIN:'))).toContain('DNS host name');
    expect(problems.find((p) => p.startsWith('PORTHOLE_TRUST_PROXY:'))).toBeDefined();
    expect(problems.find((p) => p.startsWith('PORTHOLE_LOG_LEVEL:'))).toContain('debug, info, warn, error');
    // A secret's value never appears in a message.
    const db = problems.find((p) => p.startsWith('DATABASE_URL:'))!;
    expect(db).toContain('postgres://');
    expect(problems.join('\n')).not.toContain('secret@db');
  });

  it('requires the TLS triple together, and HTTP then differs from HTTPS', () => {
    const problems = configProblems({ PORTHOLE_HTTPS_PORT: '8443' }, noFiles);
    expect(problems).toEqual([
      'PORTHOLE_HTTPS_PORT, PORTHOLE_TLS_CERT_FILE and PORTHOLE_TLS_KEY_FILE: set all three to serve HTTPS, or none',
    ]);
    const c = loadConfig(
      { PORTHOLE_HTTPS_PORT: '8443', PORTHOLE_TLS_CERT_FILE: '/c.pem', PORTHOLE_TLS_KEY_FILE: '/k.pem' },
      noFiles,
    );
    expect(c.tls).toBe(true);
    expect(configProblems({ PORTHOLE_HTTPS_PORT: '8080', PORTHOLE_TLS_CERT_FILE: 'c', PORTHOLE_TLS_KEY_FILE: 'k' }, noFiles)).toEqual([
      'PORTHOLE_HTTPS_PORT: must differ from the HTTP port 8080',
    ]);
  });

  it('reads secrets from *_FILE paths, trimming the final newline, and refuses both forms', () => {
    const c = loadConfig(
      { PORTHOLE_ADMIN_PASSWORD_FILE: '/run/secrets/pw', PORTHOLE_ADMIN_EMAIL: 'ops@example.io' },
      configFiles({ '/run/secrets/pw': 'correct horse battery\n' }),
    );
    expect(c.adminPassword).toBe('correct horse battery');
    expect(describeConfig(c).adminPassword).toBe('(set)');
    expect(configProblems({ PORTHOLE_ADMIN_TOKEN: 'a', PORTHOLE_ADMIN_TOKEN_FILE: '/x' }, noFiles)).toEqual([
      'PORTHOLE_ADMIN_TOKEN and PORTHOLE_ADMIN_TOKEN_FILE: set only one of them',
    ]);
    expect(configProblems({ PORTHOLE_ADMIN_TOKEN_FILE: '/missing' }, noFiles)).toEqual([
      'PORTHOLE_ADMIN_TOKEN_FILE: cannot read /missing (ENOENT)',
    ]);
  });

  it('checks the admin values before the hub writes anything: pairs, password and token rules', () => {
    const readmeBefore = { PORTHOLE_ADMIN_EMAIL: 'admin@example.com', PORTHOLE_ADMIN_PASSWORD: 'a long password', PORTHOLE_ADMIN_TOKEN: 'ph_api_change-me-0123456789' };
    expect(configProblems(readmeBefore, noFiles)).toEqual([
      'PORTHOLE_ADMIN_TOKEN: must have at least 32 characters (has 27); for example ph_api_ and 32 random letters and digits',
    ]);
    expect(configProblems({ PORTHOLE_ADMIN_EMAIL: 'ops@example.io' }, noFiles)).toEqual(['PORTHOLE_ADMIN_PASSWORD: must be set with PORTHOLE_ADMIN_EMAIL']);
    expect(configProblems({ PORTHOLE_ADMIN_PASSWORD: 'password123', PORTHOLE_ADMIN_EMAIL: 'ops@example.io' }, noFiles)).toEqual([
      'PORTHOLE_ADMIN_PASSWORD: is too common; choose another',
    ]);
    const ok = loadConfig({ ...readmeBefore, PORTHOLE_ADMIN_TOKEN: 'ph_api_0123456789abcdefghijklmnopqrstuv' }, noFiles);
    expect(ok.adminToken).toBe('ph_api_0123456789abcdefghijklmnopqrstuv');
  });

  it('accepts trust-proxy as a boolean or a hop count', () => {
    expect(loadConfig({ PORTHOLE_TRUST_PROXY: 'true' }, noFiles).trustProxy).toBe(1);
    expect(loadConfig({ PORTHOLE_TRUST_PROXY: 'false' }, noFiles).trustProxy).toBe(0);
    expect(loadConfig({ PORTHOLE_TRUST_PROXY: '2' }, noFiles).trustProxy).toBe(2);
  });

  it('cluster settings: node name defaults to the host name, keys and secrets from files, refusals named', () => {
    const key = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
    const secret = 's'.repeat(40);
    const c = loadConfig(
      {
        DATABASE_URL: 'postgres://db/porthole',
        PORTHOLE_NODE_NAME: 'hub-2',
        PORTHOLE_WG_ENDPOINT: '198.51.100.2:51820',
        PORTHOLE_CLUSTER_LISTEN: '10.0.0.2:7946',
        PORTHOLE_CLUSTER_SECRET_FILE: '/run/secret',
        PORTHOLE_WG_KEY_FILE: '/run/wg.key',
      },
      configFiles({ '/run/secret': `${secret}\n`, '/run/wg.key': `${key}\n` }),
    );
    expect(c).toMatchObject({ nodeName: 'hub-2', clusterListen: '10.0.0.2:7946', clusterSecret: secret, wgKey: key });
    expect(describeConfig(c)).toMatchObject({ clusterSecret: '(set)', wgKey: '(set)' });
    expect(loadConfig({}, noFiles).nodeName).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);
    expect(loadConfig({}, noFiles).clusterListen).toBeUndefined();
    // A WireGuard key alone is fine on a single node (no database needed).
    expect(loadConfig({ PORTHOLE_WG_KEY: key }, noFiles).wgKey).toBe(key);

    expect(configProblems({ PORTHOLE_CLUSTER_LISTEN: '10.0.0.2:7946', PORTHOLE_WG_ENDPOINT: 'h:1', PORTHOLE_CLUSTER_SECRET: secret }, noFiles)).toEqual([
      'PORTHOLE_CLUSTER_LISTEN and PORTHOLE_CLUSTER_SECRET: a cluster needs DATABASE_URL (the nodes share one PostgreSQL database; the embedded PGlite serves one node)',
    ]);
    expect(configProblems({ DATABASE_URL: 'postgres://db/p', PORTHOLE_WG_ENDPOINT: 'h:1', PORTHOLE_CLUSTER_LISTEN: '10.0.0.2:7946' }, noFiles)).toEqual([
      'PORTHOLE_CLUSTER_LISTEN: needs the cluster secret (PORTHOLE_CLUSTER_SECRET_FILE), the same on every node',
    ]);
    expect(configProblems({ DATABASE_URL: 'postgres://db/p', PORTHOLE_CLUSTER_SECRET: secret, PORTHOLE_CLUSTER_LISTEN: '10.0.0.2:7946' }, noFiles)).toEqual([
      "PORTHOLE_CLUSTER_LISTEN: needs this node's own WireGuard endpoint in PORTHOLE_WG_ENDPOINT (host:port agents reach this node at; UDP does not pass an HTTP load balancer)",
    ]);
    const bad = configProblems({ DATABASE_URL: 'postgres://db/p', PORTHOLE_CLUSTER_LISTEN: '0.0.0.0:7946', PORTHOLE_CLUSTER_SECRET: 'short', PORTHOLE_WG_KEY: 'nope', PORTHOLE_NODE_NAME: '-x y' }, noFiles);
    expect(bad).toHaveLength(3);
    expect(bad.join('\n')).toContain('PORTHOLE_CLUSTER_SECRET: must be at least 32 characters');
    expect(bad.join('\n')).toContain('PORTHOLE_WG_KEY: must be a WireGuard private key');
    expect(bad.join('\n')).toContain('PORTHOLE_NODE_NAME: must be 1-63 letters');
    // Secrets are never echoed.
    expect(bad.join('\n')).not.toContain('short');
    expect(configProblems({ DATABASE_URL: 'postgres://db/p', PORTHOLE_WG_ENDPOINT: 'h:1', PORTHOLE_CLUSTER_LISTEN: '0.0.0.0:7946', PORTHOLE_CLUSTER_SECRET: secret }, noFiles)).toEqual([
      'PORTHOLE_CLUSTER_LISTEN: must be an address the other nodes can dial, not 0.0.0.0',
    ]);
  });

  it('names unknown and ill-typed file keys with the file path', () => {
    const problems = configProblems(
      { PORTHOLE_CONFIG: '/p.json' },
      configFiles({ '/p.json': JSON.stringify({ domian: 'x', httpPort: '80', adminPasswordFile: '/nope' }) }),
    );
    expect(problems).toContain('/p.json: unknown key "domian"');
    expect(problems).toContain('/p.json: adminPasswordFile: cannot read /nope (ENOENT)');
    expect(problems).toContain('/p.json: httpPort: must be a port number (got "80")');
    expect(configProblems({ PORTHOLE_CONFIG: '/p.json' }, configFiles({ '/p.json': '[1]' }))).toEqual([
      '/p.json: must contain a JSON object',
    ]);
    expect(configProblems({ PORTHOLE_CONFIG: '/p.json' }, configFiles({ '/p.json': '{' }))[0]).toMatch(
      /^PORTHOLE_CONFIG: cannot read \/p.json as JSON/,
    );
  });
});

describe.skipIf(!requirementsMet('device CA configuration', { tools: PKI_TOOLS }))('PORTHOLE_DEVICE_CA_FILE', () => {
  const certs = useDevicePki((pki) => {
    const rootA = pki.root('a', { subject: '/CN=Vendor A Root' });
    return { rootA, rootB: pki.root('b', { subject: '/CN=Vendor B Root' }), device: pki.device('d', rootA, { subject: '/CN=an1' }) };
  });

  it('is off by default and reads every CA of the file when set', () => {
    expect(loadConfig({}, noFiles).deviceCaPem).toBeUndefined();
    const bundle = certs.pki.chain(certs.rootA, certs.rootB);
    const c = loadConfig({ PORTHOLE_DEVICE_CA_FILE: '/etc/porthole/device-ca.pem' }, configFiles({ '/etc/porthole/device-ca.pem': bundle }));
    expect(c.deviceCaFile).toBe('/etc/porthole/device-ca.pem');
    expect(c.deviceCaPem).toBe(bundle);
    expect(describeConfig(c)).toMatchObject({ deviceCaFile: '/etc/porthole/device-ca.pem', deviceCaPem: '(2 certificates)' });
    // The config file key works too.
    const fromFile = loadConfig({ PORTHOLE_CONFIG: '/p.json' }, configFiles({ '/p.json': JSON.stringify({ deviceCaFile: '/ca.pem' }), '/ca.pem': certs.rootA.certPem }));
    expect(fromFile.deviceCaPem).toBe(certs.rootA.certPem);
  });

  it('reports an unreadable file, a file without certificates and a non-CA certificate, with the other problems', () => {
    expect(configProblems({ PORTHOLE_DEVICE_CA_FILE: '/missing.pem', PORTHOLE_HTTP_PORT: 'x' }, noFiles)).toEqual([
      'PORTHOLE_HTTP_PORT: must be a port number (got "x")',
      'PORTHOLE_DEVICE_CA_FILE: cannot read /missing.pem (ENOENT)',
    ]);
    expect(configProblems({ PORTHOLE_DEVICE_CA_FILE: '/ca.pem' }, configFiles({ '/ca.pem': 'not a certificate\n' }))).toEqual([
      'PORTHOLE_DEVICE_CA_FILE: /ca.pem holds no PEM certificate (-----BEGIN CERTIFICATE-----)',
    ]);
    expect(configProblems({ PORTHOLE_DEVICE_CA_FILE: '/ca.pem' }, configFiles({ '/ca.pem': certs.pki.chain(certs.rootA, certs.device) }))).toEqual([
      'PORTHOLE_DEVICE_CA_FILE: /ca.pem certificate 2 (CN=an1) is not a CA certificate (basicConstraints CA:TRUE)',
    ]);
  });
});
