// A throwaway OpenLDAP server for directory sign-in tests: Debian's slapd run from a temp directory
// (slapd.conf via -f, an mdb database loaded with slapadd, no system service) on two loopback ports,
// ldap:// with StartTLS and ldaps://, its certificate from a test CA made with openssl.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/free-port.js';

export const SLAPD_TOOLS = ['slapd', 'slapadd', 'slappasswd', 'openssl'];

export interface SlapdServer {
  /** ldap://127.0.0.1:port (StartTLS offered). */
  ldapUrl: string;
  /** ldaps://127.0.0.1:port. */
  ldapsUrl: string;
  /** PEM of the CA that signed the server's certificate. */
  caPem: string;
  caFile: string;
  /** PEM of a CA that did not (a directory that cannot be trusted). */
  otherCaFile: string;
  close(): Promise<void>;
}

const SUFFIX = 'dc=example,dc=org';

function waitForPort(port: number, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`slapd did not listen on ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

function makeCa(dir: string, name: string): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`], { stdio: 'ignore' });
  return { key, cert };
}

/**
 * Starts slapd with `ldif` (entries below dc=example,dc=org; `{{hash:secret}}` becomes a salted
 * hash of `secret`) loaded. The root DN cn=admin,dc=example,dc=org has password `admin secret`.
 */
export async function startSlapd(ldif: string): Promise<SlapdServer> {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-slapd-'));
  const db = join(dir, 'db');
  mkdirSync(db);
  const ca = makeCa(dir, 'test-ca');
  const other = makeCa(dir, 'other-ca');
  const serverKey = join(dir, 'server.key');
  const serverCsr = join(dir, 'server.csr');
  const serverCert = join(dir, 'server.pem');
  const ext = join(dir, 'server.ext');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', serverKey, '-out', serverCsr, '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-req', '-in', serverCsr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', serverCert, '-days', '2', '-extfile', ext], {
    stdio: 'ignore',
  });

  const hash = (secret: string) => execFileSync('slappasswd', ['-s', secret], { encoding: 'utf8' }).trim();
  const conf = join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    [
      'include /etc/ldap/schema/core.schema',
      'include /etc/ldap/schema/cosine.schema',
      'include /etc/ldap/schema/inetorgperson.schema',
      'include /etc/ldap/schema/nis.schema',
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      `pidfile ${join(dir, 'slapd.pid')}`,
      `argsfile ${join(dir, 'slapd.args')}`,
      `TLSCACertificateFile ${ca.cert}`,
      `TLSCertificateFile ${serverCert}`,
      `TLSCertificateKeyFile ${serverKey}`,
      // Passwords only over TLS (ssf 128), as a production directory would insist; anyone may read
      // entries (the anonymous-search mode), nobody reads a password.
      'security simple_bind=128',
      'access to attrs=userPassword by self write by anonymous auth by * none',
      'access to * by * read',
      'database mdb',
      `suffix "${SUFFIX}"`,
      `rootdn "cn=admin,${SUFFIX}"`,
      `rootpw ${hash('admin secret')}`,
      `directory ${db}`,
      'maxsize 16777216',
      '',
    ].join('\n'),
  );
  const data = join(dir, 'data.ldif');
  writeFileSync(data, ldif.replace(/\{\{hash:([^}]*)\}\}/g, (_, secret: string) => hash(secret)));
  execFileSync('slapadd', ['-f', conf, '-l', data], { stdio: 'pipe' });

  const [ldapPort, ldapsPort] = [await freePort(), await freePort()];
  const proc: ChildProcess = spawn('slapd', ['-f', conf, '-h', `ldap://127.0.0.1:${ldapPort}/ ldaps://127.0.0.1:${ldapsPort}/`, '-d', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  try {
    await Promise.race([
      Promise.all([waitForPort(ldapPort, Date.now() + 10_000), waitForPort(ldapsPort, Date.now() + 10_000)]),
      exited.then(() => {
        throw new Error(`slapd exited: ${stderr}`);
      }),
    ]);
  } catch (err) {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    ldapUrl: `ldap://127.0.0.1:${ldapPort}`,
    ldapsUrl: `ldaps://127.0.0.1:${ldapsPort}`,
    caPem: readFileSync(ca.cert, 'utf8'),
    caFile: ca.cert,
    otherCaFile: other.cert,
    async close() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
