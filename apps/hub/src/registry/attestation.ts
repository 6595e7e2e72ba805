// Device attestation (optional, `PORTHOLE_DEVICE_CA_FILE`): a device proves it is the genuine holder
// of its serial with an X.509 chain from a vendor CA to a certificate naming the serial, and that
// certificate's key signing `porthole-attestation:v1:<serial>:<WireGuard public key>`. Path checks
// follow RFC 5280 §6.1 where they matter here (signatures, validity, CA flag, pathLenConstraint,
// keyUsage); revocation (CRL, OCSP) is not checked.
import { verify, X509Certificate, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Certificate,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  KeyUsage,
  KeyUsageFlags,
} from '@peculiar/asn1-x509';
import { ForbiddenError } from '../errors.js';

/** What the device signs, UTF-8: binds the certificate's serial to one WireGuard key. */
export const ATTESTATION_PREFIX = 'porthole-attestation:v1';
/** Intermediates a chain may pass through between the device certificate and a configured CA. */
export const MAX_INTERMEDIATES = 3;

const OID_SERIAL_NUMBER = '2.5.4.5';
const OID_COMMON_NAME = '2.5.4.3';
const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----/g;
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

export interface AttestationInput {
  /** PEM certificates, the device's own first, then any intermediates. */
  certificateChain: string;
  /** Base64 signature by the device certificate's key over attestationMessage(serial, publicKey). */
  signature: string;
}

/**
 * What the hub records about a verified attestation (the portal and API show it). Subject and issuer
 * are null only on devices attested before the hub kept the certificate's names.
 */
export interface AttestationProof {
  subject: string | null;
  issuer: string | null;
}

/** 403: attestation is configured and the request carries none. */
export class AttestationRequiredError extends ForbiddenError {
  override readonly code: string = 'attestation_required';
}

/** 403: the attestation does not prove the serial (the message says which check failed). */
export class AttestationInvalidError extends ForbiddenError {
  override readonly code: string = 'attestation_invalid';
}

export function attestationMessage(serial: string, publicKey: string): Buffer {
  return Buffer.from(`${ATTESTATION_PREFIX}:${serial}:${publicKey}`, 'utf8');
}

/** The PEM certificate blocks of `text`, in order (text around them is ignored, as openssl does). */
export function pemCertificates(text: string): string[] {
  return text.match(PEM_CERT_RE) ?? [];
}

/** One-line form of a distinguished name as node:crypto prints it (`CN=…, O=…`), bounded for storage. */
function oneLine(name: string): string {
  return name.split('\n').join(', ').slice(0, 500);
}

interface CertFacts {
  ca: boolean;
  pathLen: number | undefined;
  /** undefined when the certificate has no keyUsage extension (any use allowed). */
  keyUsage: number | undefined;
  serialNumbers: string[];
  commonNames: string[];
}

/** The extensions and name attributes node:crypto does not expose, read from the DER by OID. */
function factsOf(cert: X509Certificate): CertFacts {
  const parsed = AsnConvert.parse(cert.raw, Certificate);
  const facts: CertFacts = { ca: false, pathLen: undefined, keyUsage: undefined, serialNumbers: [], commonNames: [] };
  for (const ext of parsed.tbsCertificate.extensions ?? []) {
    if (ext.extnID === id_ce_basicConstraints) {
      const bc = AsnConvert.parse(ext.extnValue, BasicConstraints);
      facts.ca = bc.cA;
      facts.pathLen = bc.pathLenConstraint;
    } else if (ext.extnID === id_ce_keyUsage) {
      facts.keyUsage = AsnConvert.parse(ext.extnValue, KeyUsage).toNumber();
    }
  }
  for (const rdn of parsed.tbsCertificate.subject) {
    for (const attr of rdn) {
      if (attr.type === OID_SERIAL_NUMBER) facts.serialNumbers.push(attr.value.toString());
      else if (attr.type === OID_COMMON_NAME) facts.commonNames.push(attr.value.toString());
    }
  }
  return facts;
}

function safeFacts(cert: X509Certificate): CertFacts | undefined {
  try {
    return factsOf(cert);
  } catch {
    return undefined;
  }
}

/**
 * Reads a CA bundle (the file behind PORTHOLE_DEVICE_CA_FILE): every problem, one line each, so the
 * config loader reports them together. A certificate that is not a CA (basicConstraints CA:TRUE) is a
 * problem: trusting a device certificate as a root would let its key vouch for any serial.
 */
export function parseCaBundle(pem: string): { certificates: X509Certificate[]; problems: string[] } {
  const blocks = pemCertificates(pem);
  if (blocks.length === 0) return { certificates: [], problems: ['holds no PEM certificate (-----BEGIN CERTIFICATE-----)'] };
  const certificates: X509Certificate[] = [];
  const problems: string[] = [];
  blocks.forEach((block, i) => {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block);
    } catch {
      problems.push(`certificate ${i + 1} cannot be parsed`);
      return;
    }
    const facts = safeFacts(cert);
    if (!facts) problems.push(`certificate ${i + 1} (${oneLine(cert.subject)}) cannot be parsed`);
    else if (!facts.ca) problems.push(`certificate ${i + 1} (${oneLine(cert.subject)}) is not a CA certificate (basicConstraints CA:TRUE)`);
    else certificates.push(cert);
  });
  return { certificates, problems };
}

export interface AttestationRequest {
  /** Normalised (lowercase) serial. */
  serial: string;
  /** Validated WireGuard public key, base64. */
  publicKey: string;
  attestation: AttestationInput | undefined;
  now: Date;
}

export interface DeviceAttestor {
  /** The configured CAs. */
  readonly anchors: readonly X509Certificate[];
  /** The proof to record, or AttestationRequiredError / AttestationInvalidError. */
  verify(request: AttestationRequest): AttestationProof;
}

const invalid = (message: string) => new AttestationInvalidError(message, { field: 'attestation' });

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  // child.checkIssued(parent) compares names and key identifiers (cheap); verify checks the signature.
  return child.checkIssued(parent) && child.verify(parent.publicKey);
}

function checkValidity(cert: X509Certificate, what: string, now: Date): void {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (Number.isNaN(from) || Number.isNaN(to)) throw invalid(`${what} has an unreadable validity period`);
  if (now.getTime() < from) throw invalid(`${what} is not valid before ${new Date(from).toISOString()}`);
  if (now.getTime() > to) throw invalid(`${what} expired at ${new Date(to).toISOString()}`);
}

function verifySignature(key: KeyObject, message: Buffer, signature: Buffer): boolean {
  try {
    if (key.asymmetricKeyType === 'ed25519') return verify(null, message, key, signature);
    return verify('sha256', message, { key, dsaEncoding: 'der' }, signature);
  } catch {
    return false; // a malformed DER signature
  }
}

function parseChain(text: string): X509Certificate[] {
  const blocks = pemCertificates(text);
  if (blocks.length === 0) throw invalid('attestation.certificateChain holds no PEM certificate');
  if (blocks.length > MAX_INTERMEDIATES + 1) {
    throw invalid(`attestation.certificateChain has ${blocks.length} certificates; at most ${MAX_INTERMEDIATES + 1} (the device's and ${MAX_INTERMEDIATES} intermediates)`);
  }
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw invalid(`certificate ${i + 1} of attestation.certificateChain cannot be parsed`);
    }
  });
}

/** From the device certificate up to a configured CA: [leaf, intermediates…, anchor]. */
function buildPath(leaf: X509Certificate, pool: readonly X509Certificate[], anchors: readonly X509Certificate[]): X509Certificate[] {
  const path = [leaf];
  for (;;) {
    const current = path.at(-1)!;
    const anchor = anchors.find((a) => issuedBy(current, a));
    if (anchor) return [...path, anchor];
    if (path.length > MAX_INTERMEDIATES) throw invalid(`the certificate chain does not reach a configured device CA within ${MAX_INTERMEDIATES} intermediates`);
    const next = pool.find((c) => !path.includes(c) && issuedBy(current, c));
    if (!next) throw invalid('the certificate chain does not lead to a configured device CA');
    path.push(next);
  }
}

function checkSerial(facts: CertFacts, serial: string): void {
  const [names, what] = facts.serialNumbers.length > 0 ? [facts.serialNumbers, 'serialNumber'] : [facts.commonNames, 'CN'];
  if (names.length === 0) throw invalid('the device certificate names no serial (subject serialNumber or CN)');
  if (names.length > 1) throw invalid(`the device certificate has ${names.length} subject ${what} attributes; it must name exactly one serial`);
  if (names[0]!.toLowerCase() !== serial) {
    throw invalid(`the device certificate names serial ${JSON.stringify(names[0]!.slice(0, 70))} (subject ${what}), not ${JSON.stringify(serial)}`);
  }
}

function checkLeafKey(key: KeyObject): void {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return;
  if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return;
  const shown = type === 'ec' ? `EC ${key.asymmetricKeyDetails?.namedCurve ?? 'unknown curve'}` : String(type);
  throw invalid(`the device certificate's key is ${shown}; use EC P-256 or Ed25519`);
}

/** CA certificates already read, by fingerprint: the same few sign every device (DER parsing is the costly part). */
const MAX_CACHED_CAS = 1000;

export function createDeviceAttestor(anchors: readonly X509Certificate[]): DeviceAttestor {
  if (anchors.length === 0) throw new Error('device attestation needs at least one CA certificate');
  const caFacts = new Map<string, CertFacts | undefined>();
  /** Only for certificates on a verified path: a stranger's certificates never fill the cache. */
  const factsOfCa = (cert: X509Certificate): CertFacts | undefined => {
    const key = cert.fingerprint256;
    if (caFacts.has(key)) return caFacts.get(key);
    if (caFacts.size >= MAX_CACHED_CAS) caFacts.clear();
    const facts = safeFacts(cert);
    caFacts.set(key, facts);
    return facts;
  };
  return {
    anchors,
    verify({ serial, publicKey, attestation, now }) {
      if (!attestation) {
        throw new AttestationRequiredError(
          'this hub requires device attestation: send attestation.certificateChain (the device certificate from the vendor CA) and attestation.signature',
          { field: 'attestation' },
        );
      }
      const chain = parseChain(attestation.certificateChain);
      const leaf = chain[0]!;
      const path = buildPath(leaf, chain.slice(1), anchors);

      // Every certificate on the path, the configured CA included, must be valid now; every issuer
      // must be a CA allowed to sign certificates, with no more intermediates below it than its
      // pathLenConstraint allows (RFC 5280 §4.2.1.9).
      const leafFacts = safeFacts(leaf);
      if (!leafFacts) throw invalid('the device certificate cannot be parsed');
      if (leafFacts.ca) throw invalid('the device certificate is a CA certificate; a device needs a certificate of its own');
      if (leafFacts.keyUsage !== undefined && !(leafFacts.keyUsage & KeyUsageFlags.digitalSignature)) {
        throw invalid('the device certificate does not allow digital signatures (keyUsage)');
      }
      checkValidity(leaf, 'the device certificate', now);
      path.slice(1).forEach((cert, i) => {
        const what = i === path.length - 2 ? `the device CA certificate (${oneLine(cert.subject)})` : `intermediate certificate ${oneLine(cert.subject)}`;
        const facts = factsOfCa(cert);
        if (!facts?.ca) throw invalid(`${what} is not a CA certificate (basicConstraints CA:TRUE)`);
        if (facts.keyUsage !== undefined && !(facts.keyUsage & KeyUsageFlags.keyCertSign)) throw invalid(`${what} may not sign certificates (keyUsage)`);
        if (facts.pathLen !== undefined && i > facts.pathLen) throw invalid(`${what} allows ${facts.pathLen} intermediate(s) below it, the chain has ${i}`);
        checkValidity(cert, what, now);
      });

      checkSerial(leafFacts, serial);
      checkLeafKey(leaf.publicKey);
      const signature = attestation.signature.trim();
      if (!BASE64_RE.test(signature)) throw invalid('attestation.signature must be base64');
      if (!verifySignature(leaf.publicKey, attestationMessage(serial, publicKey), Buffer.from(signature, 'base64'))) {
        throw invalid(`attestation.signature does not verify: the device certificate's key must sign "${ATTESTATION_PREFIX}:<serial>:<publicKey>" for this serial and WireGuard key`);
      }
      return { subject: oneLine(leaf.subject), issuer: oneLine(leaf.issuer) };
    },
  };
}

/** The devices columns that record an attestation (all null when there is none). */
export function attestationColumns(proof: AttestationProof | null | undefined, now: Date) {
  return {
    attestedAt: proof ? now : null,
    attestationSubject: proof?.subject ?? null,
    attestationIssuer: proof?.issuer ?? null,
  };
}
