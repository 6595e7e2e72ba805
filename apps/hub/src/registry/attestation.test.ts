// Device attestation against a vendor PKI that openssl makes at run time: every check of the chain,
// the validity dates, the serial in the subject, the key type and the signature, each with the
// code and message a device gets back.
import { describe, expect, it } from 'vitest';
import { PKI_TOOLS, signAttestation, useDevicePki } from '../../../../test/support/device-pki.js';
import { requirementsMet } from '../../../../test/support/requirements.js';
import {
  AttestationInvalidError,
  AttestationRequiredError,
  createDeviceAttestor,
  parseCaBundle,
  type AttestationInput,
} from './attestation.js';
import { testKey } from '../testing/registry-test-bed.js';

const ok = requirementsMet('device attestation', { tools: PKI_TOOLS });
const NOW = new Date('2030-01-01T00:00:00Z');
const WG_KEY = testKey('device');

describe.skipIf(!ok)('device attestation', () => {
  const certs = useDevicePki((pki) => {
    const root = pki.root('root', { subject: '/O=Example Meters/CN=Example Meters Device Root' });
    const bundle = parseCaBundle(root.certPem);
    expect(bundle.problems).toEqual([]);
    return {
      root,
      otherRoot: pki.root('other-root', { subject: '/O=Someone Else/CN=Someone Else Root' }),
      intermediate: pki.intermediate('intermediate', root, { subject: '/O=Example Meters/CN=Example Meters Devices 2030', key: 'rsa' }),
      attestor: createDeviceAttestor(bundle.certificates),
    };
  });

  /** The attestation a device with `leaf` would send for `serial` and `publicKey`. */
  const attest = (chain: string, signer: string, serial = 'an1', publicKey = WG_KEY): AttestationInput => ({
    certificateChain: chain,
    signature: signAttestation(signer, serial, publicKey),
  });
  const verify = (attestation: AttestationInput | undefined, serial = 'an1', now = NOW) => certs.attestor.verify({ serial, publicKey: WG_KEY, attestation, now });
  const refusal = (attestation: AttestationInput | undefined, serial = 'an1', now = NOW) => {
    try {
      verify(attestation, serial, now);
    } catch (err) {
      return err as AttestationInvalidError;
    }
    throw new Error('expected the attestation to be refused');
  };

  it('accepts a P-256 device certificate naming the serial in serialNumber, and reports subject and issuer', () => {
    const leaf = certs.pki.device('p256', certs.root, { subject: '/O=Example Meters/CN=Meter AN1/serialNumber=AN1', key: 'p256' });
    expect(verify(attest(leaf.certPem, leaf.keyPem))).toEqual({
      subject: 'O=Example Meters, CN=Meter AN1, serialNumber=AN1',
      issuer: 'O=Example Meters, CN=Example Meters Device Root',
    });
  });

  it('accepts an Ed25519 device certificate naming the serial in its CN', () => {
    const leaf = certs.pki.device('ed', certs.root, { subject: '/O=Example Meters/CN=an1', key: 'ed25519' });
    expect(verify(attest(leaf.certPem, leaf.keyPem)).subject).toBe('O=Example Meters, CN=an1');
  });

  it('follows a chain through an intermediate the device sends, and refuses it without the intermediate', () => {
    const leaf = certs.pki.device('via-int', certs.intermediate, { subject: '/serialNumber=an1', key: 'p256' });
    expect(verify(attest(certs.pki.chain(leaf, certs.intermediate), leaf.keyPem)).issuer).toBe('O=Example Meters, CN=Example Meters Devices 2030');
    const alone = refusal(attest(leaf.certPem, leaf.keyPem));
    expect(alone).toBeInstanceOf(AttestationInvalidError);
    expect(alone.message).toBe('the certificate chain does not lead to a configured device CA');
  });

  it('refuses a device certificate from another CA, even with that CA in the chain', () => {
    const leaf = certs.pki.device('foreign', certs.otherRoot, { subject: '/CN=an1' });
    for (const chain of [leaf.certPem, certs.pki.chain(leaf, certs.otherRoot)]) {
      const err = refusal(attest(chain, leaf.keyPem));
      expect(err.code).toBe('attestation_invalid');
      expect(err.message).toBe('the certificate chain does not lead to a configured device CA');
    }
  });

  it('refuses an expired and a not-yet-valid device certificate, naming the date', () => {
    const expired = certs.pki.device('expired', certs.root, { subject: '/CN=an1', notBefore: new Date('2020-01-01Z'), notAfter: new Date('2025-06-01Z') });
    expect(refusal(attest(expired.certPem, expired.keyPem)).message).toBe('the device certificate expired at 2025-06-01T00:00:00.000Z');
    const early = certs.pki.device('early', certs.root, { subject: '/CN=an1', notBefore: new Date('2035-01-01Z'), notAfter: new Date('2040-01-01Z') });
    expect(refusal(attest(early.certPem, early.keyPem)).message).toBe('the device certificate is not valid before 2035-01-01T00:00:00.000Z');
    // The same certificate is good once its time has come.
    expect(verify(attest(early.certPem, early.keyPem), 'an1', new Date('2036-01-01Z')).subject).toBe('CN=an1');
  });

  it('refuses a chain through an expired intermediate', () => {
    const old = certs.pki.intermediate('old-int', certs.root, { subject: '/CN=Old Devices', notBefore: new Date('2020-01-01Z'), notAfter: new Date('2026-01-01Z') });
    const leaf = certs.pki.device('under-old', old, { subject: '/CN=an1' });
    expect(refusal(attest(certs.pki.chain(leaf, old), leaf.keyPem)).message).toBe('intermediate certificate CN=Old Devices expired at 2026-01-01T00:00:00.000Z');
  });

  it('refuses a certificate for another serial: serialNumber first, CN only without one', () => {
    const bySerialNumber = certs.pki.device('sn-other', certs.root, { subject: '/CN=an1/serialNumber=AN2' });
    const err = refusal(attest(bySerialNumber.certPem, bySerialNumber.keyPem));
    expect(err.code).toBe('attestation_invalid');
    expect(err.message).toBe('the device certificate names serial "AN2" (subject serialNumber), not "an1"');
    const byCn = certs.pki.device('cn-other', certs.root, { subject: '/O=Example Meters/CN=an2' });
    expect(refusal(attest(byCn.certPem, byCn.keyPem)).message).toBe('the device certificate names serial "an2" (subject CN), not "an1"');
    const unnamed = certs.pki.device('unnamed', certs.root, { subject: '/O=Example Meters' });
    expect(refusal(attest(unnamed.certPem, unnamed.keyPem)).message).toBe('the device certificate names no serial (subject serialNumber or CN)');
  });

  it('refuses a signature over another WireGuard key, and one by a key that is not the certificate’s', () => {
    const leaf = certs.pki.device('sig', certs.root, { subject: '/CN=an1' });
    const otherWgKey = refusal(attest(leaf.certPem, leaf.keyPem, 'an1', testKey('someone else')));
    expect(otherWgKey.code).toBe('attestation_invalid');
    expect(otherWgKey.message).toMatch(/^attestation\.signature does not verify/);
    const otherSerial = refusal(attest(leaf.certPem, leaf.keyPem, 'an2'));
    expect(otherSerial.message).toMatch(/^attestation\.signature does not verify/);
    const stranger = certs.pki.key('stranger');
    expect(refusal(attest(leaf.certPem, stranger.keyPem)).message).toMatch(/^attestation\.signature does not verify/);
    expect(refusal({ certificateChain: leaf.certPem, signature: 'not base64!' }).message).toBe('attestation.signature must be base64');
    expect(refusal({ certificateChain: leaf.certPem, signature: Buffer.alloc(70, 7).toString('base64') }).message).toMatch(/does not verify/);
  });

  it('refuses garbage instead of certificates', () => {
    const leaf = certs.pki.device('garbage', certs.root, { subject: '/CN=an1' });
    const sig = signAttestation(leaf.keyPem, 'an1', WG_KEY);
    expect(refusal({ certificateChain: 'hello', signature: sig }).message).toBe('attestation.certificateChain holds no PEM certificate');
    expect(refusal({ certificateChain: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', signature: sig }).message).toBe(
      'certificate 1 of attestation.certificateChain cannot be parsed',
    );
    const five = certs.pki.chain(leaf, leaf, leaf, leaf, leaf);
    expect(refusal({ certificateChain: five, signature: sig }).message).toMatch(/has 5 certificates; at most 4/);
  });

  it('answers attestation_required when there is none', () => {
    const err = refusal(undefined);
    expect(err).toBeInstanceOf(AttestationRequiredError);
    expect(err.code).toBe('attestation_required');
    expect(err.field).toBe('attestation');
  });

  it('requires intermediates to be CAs within their path length, and the device certificate not to be one', () => {
    const notCa = certs.pki.intermediate('not-ca', certs.root, { subject: '/CN=Not A CA', notCa: true });
    const underNotCa = certs.pki.device('under-not-ca', notCa, { subject: '/CN=an1' });
    expect(refusal(attest(certs.pki.chain(underNotCa, notCa), underNotCa.keyPem)).message).toBe(
      'intermediate certificate CN=Not A CA is not a CA certificate (basicConstraints CA:TRUE)',
    );

    const strictRoot = certs.pki.root('strict-root', { subject: '/CN=Strict Root', pathLen: 0 });
    const strictInt = certs.pki.intermediate('strict-int', strictRoot, { subject: '/CN=Strict Devices' });
    const leaf = certs.pki.device('strict-leaf', strictInt, { subject: '/CN=an1' });
    const direct = certs.pki.device('strict-direct', strictRoot, { subject: '/CN=an1' });
    const strict = createDeviceAttestor(parseCaBundle(strictRoot.certPem).certificates);
    const run = (chain: string, key: string) => () => strict.verify({ serial: 'an1', publicKey: WG_KEY, attestation: attest(chain, key), now: NOW });
    expect(run(certs.pki.chain(leaf, strictInt), leaf.keyPem)).toThrow('the device CA certificate (CN=Strict Root) allows 0 intermediate(s) below it, the chain has 1');
    expect(run(direct.certPem, direct.keyPem)()).toMatchObject({ subject: 'CN=an1' });

    // A CA certificate presented as the device's own is refused even with its key.
    expect(refusal(attest(certs.intermediate.certPem, certs.intermediate.keyPem)).message).toBe(
      'the device certificate is a CA certificate; a device needs a certificate of its own',
    );
  });

  it('accepts only P-256 and Ed25519 device keys', () => {
    const p384 = certs.pki.device('p384', certs.root, { subject: '/CN=an1', key: 'p384' });
    expect(refusal(attest(p384.certPem, p384.keyPem)).message).toBe("the device certificate's key is EC secp384r1; use EC P-256 or Ed25519");
    const rsa = certs.pki.device('rsa-leaf', certs.root, { subject: '/CN=an1', key: 'rsa' });
    expect(refusal(attest(rsa.certPem, rsa.keyPem)).message).toBe("the device certificate's key is rsa; use EC P-256 or Ed25519");
  });

  it('trusts any CA of a bundle, and reports every problem of a bad bundle', () => {
    const both = createDeviceAttestor(parseCaBundle(certs.pki.chain(certs.root, certs.otherRoot)).certificates);
    const foreign = certs.pki.device('bundle-foreign', certs.otherRoot, { subject: '/CN=an1' });
    expect(both.verify({ serial: 'an1', publicKey: WG_KEY, attestation: attest(foreign.certPem, foreign.keyPem), now: NOW }).issuer).toBe(
      'O=Someone Else, CN=Someone Else Root',
    );
    const leaf = certs.pki.device('bundle-leaf', certs.root, { subject: '/CN=an9' });
    expect(parseCaBundle('no certificates here').problems).toEqual(['holds no PEM certificate (-----BEGIN CERTIFICATE-----)']);
    expect(parseCaBundle(`${certs.root.certPem}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n${leaf.certPem}`).problems).toEqual([
      'certificate 2 cannot be parsed',
      'certificate 3 (CN=an9) is not a CA certificate (basicConstraints CA:TRUE)',
    ]);
  });
});
