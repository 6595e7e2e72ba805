// A throwaway vendor PKI for attestation tests, made with the openssl command in a temp dir at run
// time: roots, intermediates and device certificates with explicit validity dates (`openssl ca`),
// P-256, Ed25519 or other keys, and the device's signature over what the hub checks.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export type KeyKind = 'p256' | 'ed25519' | 'p384' | 'rsa';

export interface Issued {
  name: string;
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
}

export interface CertOptions {
  /** openssl -subj form, e.g. `/CN=an1/serialNumber=AN1`. */
  subject: string;
  key?: KeyKind;
  /** GeneralizedTime-like dates; default 2020-01-01 .. 2040-01-01 (covers the test clocks). */
  notBefore?: Date;
  notAfter?: Date;
}

export interface CaOptions extends CertOptions {
  /** basicConstraints pathlen. */
  pathLen?: number;
  /** Issue a CA-looking certificate without CA:TRUE (an intermediate that may not sign). */
  notCa?: boolean;
}

const DEFAULT_FROM = new Date('2020-01-01T00:00:00Z');
const DEFAULT_TO = new Date('2040-01-01T00:00:00Z');

/** Required tools, for requirementsMet. */
export const PKI_TOOLS = ['openssl'];

/** `porthole-attestation:v1:<serial>:<publicKey>` signed by `keyPem` (DER ECDSA-SHA256 or Ed25519), base64. */
export function signAttestation(keyPem: string, serial: string, publicKey: string): string {
  const key = createPrivateKey(keyPem);
  const message = Buffer.from(`porthole-attestation:v1:${serial}:${publicKey}`, 'utf8');
  const signature = key.asymmetricKeyType === 'ed25519' ? sign(null, message, key) : sign('sha256', message, { key, dsaEncoding: 'der' });
  return signature.toString('base64');
}

function asn1Time(d: Date): string {
  return `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

const CA_CONF = `
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = .
database = index.txt
serial = serial.txt
new_certs_dir = issued
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
[ policy_any ]
commonName = optional
serialNumber = optional
organizationName = optional
countryName = optional
`;

export interface DevicePki {
  readonly dir: string;
  root(name: string, options: CaOptions): Issued;
  intermediate(name: string, issuer: Issued, options: CaOptions): Issued;
  device(name: string, issuer: Issued, options: CertOptions): Issued;
  /** A bare key pair (for signatures by a key that is not the certificate's). */
  key(name: string, kind?: KeyKind): { keyPem: string; keyFile: string };
  /** Concatenated PEM of `certs`, in order. */
  chain(...certs: Issued[]): string;
  close(): void;
}

export function createDevicePki(): DevicePki {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-pki-'));
  mkdirSync(join(dir, 'issued'));
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial.txt'), '1000\n');
  writeFileSync(join(dir, 'ca.cnf'), CA_CONF);
  const openssl = (args: string[]) => {
    try {
      execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      throw new Error(`openssl ${args[0]} failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
    }
  };

  function key(name: string, kind: KeyKind = 'p256') {
    const keyFile = join(dir, `${name}.key`);
    const algo: Record<KeyKind, string[]> = {
      p256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      p384: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
      ed25519: ['-algorithm', 'ED25519'],
      rsa: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
    };
    openssl(['genpkey', ...algo[kind], '-out', keyFile]);
    return { keyPem: readFileSync(keyFile, 'utf8'), keyFile };
  }

  function issue(name: string, issuer: Issued | 'self', options: CaOptions, ext: 'ca' | 'leaf'): Issued {
    const { keyPem, keyFile } = key(name, options.key);
    const csr = join(dir, `${name}.csr`);
    openssl(['req', '-new', '-key', keyFile, '-subj', options.subject, '-out', csr]);
    const extFile = join(dir, `${name}.ext`);
    const caLine = options.notCa ? 'basicConstraints = critical, CA:FALSE' : `basicConstraints = critical, CA:TRUE${options.pathLen !== undefined ? `, pathlen:${options.pathLen}` : ''}`;
    writeFileSync(
      extFile,
      ext === 'ca'
        ? `${caLine}\nkeyUsage = critical, keyCertSign, cRLSign, digitalSignature\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n`
        : 'basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n',
    );
    const certFile = join(dir, `${name}.pem`);
    openssl([
      'ca', '-batch', '-config', 'ca.cnf', '-notext', '-preserveDN',
      ...(issuer === 'self' ? ['-selfsign', '-keyfile', keyFile] : ['-cert', issuer.certFile, '-keyfile', issuer.keyFile]),
      '-in', csr, '-out', certFile, '-extfile', extFile,
      '-startdate', asn1Time(options.notBefore ?? DEFAULT_FROM), '-enddate', asn1Time(options.notAfter ?? DEFAULT_TO),
    ]);
    return { name, certPem: readFileSync(certFile, 'utf8'), keyPem, certFile, keyFile };
  }

  return {
    dir,
    root: (name, options) => issue(name, 'self', options, 'ca'),
    intermediate: (name, issuer, options) => issue(name, issuer, options, 'ca'),
    device: (name, issuer, options) => issue(name, issuer, options, 'leaf'),
    key,
    chain: (...certs) => certs.map((c) => c.certPem).join(''),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * For the enclosing describe block: a PKI made before its tests, with the certificates `issue` makes
 * in it, and removed after them. The object returned is filled in before the first test: the PKI as
 * `pki`, and what `issue` returned.
 */
export function useDevicePki<T extends object>(issue: (pki: DevicePki) => T): T & { pki: DevicePki } {
  const fixture = {} as T & { pki: DevicePki };
  let pki: DevicePki | undefined;
  beforeAll(() => {
    pki = createDevicePki();
    Object.assign(fixture, { pki }, issue(pki));
  });
  afterAll(() => pki?.close());
  return fixture;
}
