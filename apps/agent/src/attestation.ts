// Device attestation for hubs with a vendor CA: the device certificate (naming the serial) and its
// key, loaded once at start, sign `porthole-attestation:v1:<serial>:<WireGuard public key>` for each
// registration and claim. The key never leaves the device; only the certificate chain and the
// signature are sent.
import { createPrivateKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import type { Attestation } from '@porthole/api-contract';

export const ATTESTATION_PREFIX = 'porthole-attestation:v1';

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----\r?\n?/g;

export interface DeviceCredential {
  /** PEM, the device certificate first, then any intermediates the hub needs to reach its CA. */
  certificateChain: string;
  privateKey: KeyObject;
  /** The device certificate's subject on one line, for logs and the status page. */
  subject: string;
}

/** What registration and claim bodies carry as `attestation` (the API contract's). */
export type { Attestation };

/**
 * Checks a certificate file and a key file (PEM) together: a certificate first, a P-256 or Ed25519
 * key, and that key belonging to that certificate. Returns the problem in words otherwise.
 */
export function loadDeviceCredential(certPem: string, keyPem: string): { ok: true; credential: DeviceCredential } | { ok: false; problem: string } {
  const blocks = certPem.match(PEM_CERT_RE) ?? [];
  if (blocks.length === 0) return { ok: false, problem: '--device-cert holds no PEM certificate (-----BEGIN CERTIFICATE-----)' };
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(blocks[0]!);
  } catch {
    return { ok: false, problem: '--device-cert: the first certificate cannot be parsed' };
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch {
    return { ok: false, problem: '--device-key holds no readable unencrypted PEM private key' };
  }
  const type = privateKey.asymmetricKeyType;
  if (type !== 'ed25519' && !(type === 'ec' && privateKey.asymmetricKeyDetails?.namedCurve === 'prime256v1')) {
    return { ok: false, problem: `--device-key: the key is ${type === 'ec' ? `EC ${privateKey.asymmetricKeyDetails?.namedCurve}` : type}; the hub accepts EC P-256 or Ed25519` };
  }
  if (!leaf.checkPrivateKey(privateKey)) return { ok: false, problem: '--device-key does not belong to the first certificate of --device-cert' };
  return {
    ok: true,
    credential: { certificateChain: blocks.map((b) => (b.endsWith('\n') ? b : `${b}\n`)).join(''), privateKey, subject: leaf.subject.split('\n').join(', ') },
  };
}

/** The attestation of `publicKey` (base64 WireGuard key) for `serial` (lowercase, as registered). */
export function attest(credential: DeviceCredential, serial: string, publicKey: string): Attestation {
  const message = Buffer.from(`${ATTESTATION_PREFIX}:${serial}:${publicKey}`, 'utf8');
  const key = credential.privateKey;
  const signature = key.asymmetricKeyType === 'ed25519' ? sign(null, message, key) : sign('sha256', message, { key, dsaEncoding: 'der' });
  return { certificateChain: credential.certificateChain, signature: signature.toString('base64') };
}
