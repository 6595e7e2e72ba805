// The agent's device certificate options: --device-cert/--device-key read and checked at start (both
// or neither, readable, a P-256 or Ed25519 key that belongs to the certificate), and the signature
// it sends verifying under the certificate's key over exactly the documented message.
import { verify, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PKI_TOOLS, useDevicePki } from '../../../test/support/device-pki.js';
import { requirementsMet } from '../../../test/support/requirements.js';
import { attest, loadDeviceCredential } from './attestation.js';
import { loadAgentConfig } from './config.js';

const WG_KEY = Buffer.alloc(32, 9).toString('base64');

describe.skipIf(!requirementsMet('agent device certificate', { tools: PKI_TOOLS }))('agent device certificate', () => {
  const certs = useDevicePki((pki) => {
    const root = pki.root('root', { subject: '/CN=Vendor Root' });
    return { root, p256: pki.device('p256', root, { subject: '/serialNumber=AN1', key: 'p256' }), ed: pki.device('ed', root, { subject: '/CN=an1', key: 'ed25519' }) };
  });

  const config = (argv: string[]) =>
    loadAgentConfig({ argv: ['--hub-url', 'https://portal.example.io', '--serial', 'AN1', '--listen', 'off', ...argv], env: {}, readFile: (p) => readFileSync(p, 'utf8') });

  it('loads the certificate and key, and signs porthole-attestation:v1:<serial>:<key> verifiably', () => {
    for (const cert of [certs.p256, certs.ed]) {
      const r = config(['--device-cert', cert.certFile, '--device-key', cert.keyFile]);
      if (r.ok !== true) throw new Error(`config refused: ${JSON.stringify(r)}`);
      const credential = r.config.deviceCredential!;
      const a = attest(credential, 'an1', WG_KEY);
      expect(a.certificateChain).toBe(cert.certPem);
      const key = new X509Certificate(cert.certPem).publicKey;
      const message = Buffer.from(`porthole-attestation:v1:an1:${WG_KEY}`, 'utf8');
      const signature = Buffer.from(a.signature, 'base64');
      const ok = key.asymmetricKeyType === 'ed25519' ? verify(null, message, key, signature) : verify('sha256', message, { key, dsaEncoding: 'der' }, signature);
      expect(ok).toBe(true);
      expect(verify(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', Buffer.from(`porthole-attestation:v1:an2:${WG_KEY}`), key, signature)).toBe(false);
    }
    expect(config([]).ok === true && (config([]) as { config: { deviceCredential: unknown } }).config.deviceCredential).toBeUndefined();
  });

  it('sends intermediates after the device certificate', () => {
    const int = certs.pki.intermediate('int', certs.root, { subject: '/CN=Devices' });
    const leaf = certs.pki.device('leaf', int, { subject: '/CN=an1' });
    const loaded = loadDeviceCredential(certs.pki.chain(leaf, int), leaf.keyPem);
    expect(loaded.ok && loaded.credential.certificateChain).toBe(certs.pki.chain(leaf, int));
  });

  it('reports every way the pair can be wrong', () => {
    const problems = (argv: string[]) => {
      const r = config(argv);
      return r.ok === false ? r.problems : [];
    };
    expect(problems(['--device-cert', certs.p256.certFile])).toEqual(['--device-cert and --device-key go together: give both or neither']);
    expect(problems(['--device-cert', '/nope.pem', '--device-key', '/nope.key'])).toEqual([
      '--device-cert /nope.pem cannot be read (ENOENT)',
      '--device-key /nope.key cannot be read (ENOENT)',
    ]);
    expect(problems(['--device-cert', certs.p256.certFile, '--device-key', certs.ed.keyFile])).toEqual(['--device-key does not belong to the first certificate of --device-cert']);
    expect(problems(['--device-cert', certs.p256.keyFile, '--device-key', certs.p256.keyFile])).toEqual(['--device-cert holds no PEM certificate (-----BEGIN CERTIFICATE-----)']);
    expect(problems(['--device-cert', certs.p256.certFile, '--device-key', certs.p256.certFile])).toEqual(['--device-key holds no readable unencrypted PEM private key']);
    const p384 = certs.pki.device('p384', certs.root, { subject: '/CN=an1', key: 'p384' });
    expect(problems(['--device-cert', p384.certFile, '--device-key', p384.keyFile])).toEqual(['--device-key: the key is EC secp384r1; the hub accepts EC P-256 or Ed25519']);
  });
});
