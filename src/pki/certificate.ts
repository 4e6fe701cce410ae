// Issuing workload and serving certificates from a CA, making self-signed mesh roots, and reading and verifying certificates.
import crypto from 'node:crypto';
import forge from 'node-forge';
import { TAG, childAt, readBitStringBytes, readRoot } from './der-reader';
import { InvalidCertificate } from './errors';
import { generateKeyPair, spkiDerOf, type KeyAlgorithm } from './keys';
import { derToPem, pemToDer } from './pem';
import { isSpiffeId, type SpiffeId } from './spiffe';
import {
  OID,
  bitString,
  distinguishedName,
  explicitTag,
  extension,
  fromDer,
  generalNames,
  octetString,
  oidNode,
  positiveInteger,
  sanCount,
  sequence,
  signerFor,
  smallInteger,
  time,
  toDer,
  type SubjectAltNames,
} from './x509-asn1';
import { readCertificateParts, sansOf, subjectKeyIdOf, type CertificateParts } from './x509-read';

export type { SubjectAltNames } from './x509-asn1';

/** Workload certificates start 5 minutes in the past so peers with slightly slow clocks accept them at once. */
export const CLOCK_SKEW_SECONDS = 5 * 60;

/** A CA certificate and its private key, both PEM. */
export interface CaKeyPair {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface LeafRequest {
  /** SPKI PEM of the key being certified (from the CSR). */
  readonly publicKeyPem: string;
  /** At least one SAN: the SPIFFE ID for workloads, DNS names/IPs for a serving certificate. */
  readonly sans: SubjectAltNames;
  readonly ttlSeconds: number;
  readonly now?: Date;
}

/** A CA loaded once (checked to be a CA whose key matches) that then signs many leaves. */
export class CertificateIssuer {
  readonly certPem: string;
  readonly notAfter: Date;
  private readonly key: crypto.KeyObject;
  private readonly parts: CertificateParts;

  constructor(ca: CaKeyPair) {
    const cert = parseX509(ca.certPem);
    if (!cert.ca) throw new InvalidCertificate(`issuer ${oneLine(cert.subject)} is not a CA certificate (basicConstraints CA:TRUE is missing)`);
    this.key = crypto.createPrivateKey(ca.keyPem);
    if (!cert.checkPrivateKey(this.key)) throw new InvalidCertificate(`the issuer key does not match the public key of ${oneLine(cert.subject)}`);
    this.certPem = derToPem(cert.raw, 'CERTIFICATE');
    this.parts = readCertificateParts(cert.raw);
    this.notAfter = this.parts.notAfter;
  }

  /**
   * Signs a leaf: not a CA, keyUsage digitalSignature+keyEncipherment, extKeyUsage serverAuth+clientAuth, empty
   * subject with a critical SAN (as Istio's workload certificates). notAfter never passes the issuer's own.
   */
  issue(request: LeafRequest): string {
    if (sanCount(request.sans) === 0) throw new InvalidCertificate('a leaf certificate needs at least one SAN');
    if (!(request.ttlSeconds > 0)) throw new InvalidCertificate(`TTL must be positive, got ${request.ttlSeconds} seconds`);
    const now = request.now ?? new Date();
    const notAfter = new Date(Math.min(now.getTime() + request.ttlSeconds * 1000, this.notAfter.getTime()));
    const spki = spkiDerOf(request.publicKeyPem);
    const authorityKeyId = subjectKeyIdOf(this.parts) ?? keyIdentifier(this.parts.spkiDer);
    const extensions = [
      // digitalSignature (bit 0) + keyEncipherment (bit 2) = 1010 0000, 5 unused bits.
      extension(OID.keyUsage, true, bitString(Buffer.from([0xa0]), 5)),
      extension(OID.extKeyUsage, false, sequence([oidNode(OID.serverAuth), oidNode(OID.clientAuth)])),
      extension(OID.basicConstraints, true, sequence([])),
      extension(OID.authorityKeyIdentifier, false, sequence([implicitOctets(0, authorityKeyId)])),
      extension(OID.subjectAltName, true, generalNames(request.sans)),
    ];
    return signCertificate({
      signingKey: this.key,
      issuerNameDer: this.parts.subjectDer,
      subject: sequence([]),
      spki,
      notBefore: new Date(now.getTime() - CLOCK_SKEW_SECONDS * 1000),
      notAfter,
      extensions,
    });
  }
}

/** One-shot form of `new CertificateIssuer(issuer).issue(request)`. */
export function issueLeafCertificate(request: LeafRequest & { readonly issuer: CaKeyPair }): string {
  return new CertificateIssuer(request.issuer).issue(request);
}

export interface RootCaOptions {
  readonly trustDomain: string;
  readonly ttlDays: number;
  /** ECDSA P-256 unless told otherwise. */
  readonly keyAlgorithm?: KeyAlgorithm;
  readonly now?: Date;
}

/** A self-signed mesh root: O=<trust domain>, CA:TRUE, keyCertSign+cRLSign+digitalSignature. */
export function generateRootCa(options: RootCaOptions): CaKeyPair {
  const { privateKeyPem } = generateKeyPair(options.keyAlgorithm ?? 'ecdsa-p256');
  const key = crypto.createPrivateKey(privateKeyPem);
  const spki = spkiDerOf(key);
  const name = toDer(distinguishedName({ organization: options.trustDomain }));
  const now = options.now ?? new Date();
  const certPem = signCertificate({
    signingKey: key,
    issuerNameDer: name,
    subject: fromDer(name),
    spki,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_SECONDS * 1000),
    notAfter: new Date(now.getTime() + options.ttlDays * 86_400_000),
    extensions: [
      // digitalSignature (bit 0) + keyCertSign (5) + cRLSign (6) = 1000 0110, 1 unused bit.
      extension(OID.keyUsage, true, bitString(Buffer.from([0x86]), 1)),
      extension(OID.basicConstraints, true, sequence([forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.BOOLEAN, false, '\xff')])),
      extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(spki))),
    ],
  });
  return { certPem, keyPem: privateKeyPem };
}

interface CertificateDraft {
  readonly signingKey: crypto.KeyObject;
  readonly issuerNameDer: Buffer;
  readonly subject: forge.asn1.Asn1;
  readonly spki: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly extensions: forge.asn1.Asn1[];
}

function signCertificate(draft: CertificateDraft): string {
  const signer = signerFor(draft.signingKey);
  const tbs = sequence([
    explicitTag(0, smallInteger(2)),
    positiveInteger(randomSerial()),
    signer.algorithm,
    fromDer(draft.issuerNameDer),
    sequence([time(draft.notBefore), time(draft.notAfter)]),
    draft.subject,
    fromDer(draft.spki),
    explicitTag(3, sequence(draft.extensions)),
  ]);
  const tbsDer = toDer(tbs);
  const certificate = sequence([fromDer(tbsDer), signer.algorithm, bitString(signer.sign(tbsDer))]);
  return derToPem(toDer(certificate), 'CERTIFICATE');
}

/** 127 random bits: positive, never starting with a zero octet, within RFC 5280's 20-octet limit. */
function randomSerial(): Buffer {
  const serial = crypto.randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40;
  return serial;
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spkiDer: Buffer): Buffer {
  const root = readRoot(spkiDer);
  const bits = readBitStringBytes(spkiDer, childAt(spkiDer, root, 1, TAG.BIT_STRING, 'subjectPublicKey'), 'subjectPublicKey');
  return crypto.createHash('sha1').update(bits).digest();
}

function implicitOctets(tagNumber: number, bytes: Buffer): forge.asn1.Asn1 {
  return forge.asn1.create(forge.asn1.Class.CONTEXT_SPECIFIC, tagNumber as forge.asn1.Type, false, bytes.toString('binary'));
}

export interface CertificateInfo {
  /** URI SANs that are workload SPIFFE IDs. */
  readonly spiffeIds: readonly SpiffeId[];
  readonly uriSans: readonly string[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Uppercase hex, as `openssl x509 -serial` prints it. */
  readonly serial: string;
  /** One line, e.g. "O=cluster.local". */
  readonly issuer: string;
  readonly subject: string;
  readonly isCa: boolean;
}

export function certInfo(pem: string): CertificateInfo {
  const cert = parseX509(pem);
  let parts: CertificateParts;
  try {
    parts = readCertificateParts(cert.raw);
  } catch (error) {
    throw new InvalidCertificate(error instanceof Error ? error.message : String(error), { cause: error });
  }
  const sans = sansOf(parts);
  return {
    spiffeIds: sans.uris.filter(isSpiffeId),
    uriSans: sans.uris,
    dnsNames: sans.dnsNames,
    ipAddresses: sans.ipAddresses,
    notBefore: parts.notBefore,
    notAfter: parts.notAfter,
    serial: cert.serialNumber.toUpperCase(),
    issuer: oneLine(cert.issuer),
    subject: oneLine(cert.subject),
    isCa: cert.ca,
  };
}

export type ChainVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Checks leaf -> chain... -> one of `rootPems`: each link issued and signed by the next, every certificate valid
 * at `at`, every issuer a CA. Certificates in `chainPems` that are themselves roots are skipped, so a
 * CA response `[leaf, ...intermediates, root]` can be passed as `(chain[0], chain.slice(1), roots)`.
 */
export function verifyChain(leafPem: string, chainPems: readonly string[], rootPems: readonly string[], at: Date = new Date()): ChainVerdict {
  let leaf: crypto.X509Certificate;
  let intermediates: crypto.X509Certificate[];
  let roots: crypto.X509Certificate[];
  try {
    leaf = parseX509(leafPem);
    roots = rootPems.map(parseX509);
    intermediates = chainPems.map(parseX509).filter((cert) => !roots.some((root) => root.raw.equals(cert.raw)));
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
  if (roots.length === 0) return { ok: false, reason: 'no trusted root certificates were given' };
  const path = [leaf, ...intermediates];
  for (const [index, cert] of path.entries()) {
    const expired = validityProblem(cert, at);
    if (expired) return { ok: false, reason: `${describe(cert, index)} ${expired}` };
    const issuer = path[index + 1];
    if (issuer === undefined) break;
    if (!issuer.ca) return { ok: false, reason: `${describe(issuer, index + 1)} is not a CA but appears as an issuer in the chain` };
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) {
      return { ok: false, reason: `${describe(cert, index)} is not signed by ${describe(issuer, index + 1)}` };
    }
  }
  const last = path[path.length - 1] ?? leaf;
  const anchor = roots.find((root) => root.ca && last.checkIssued(root) && last.verify(root.publicKey));
  if (anchor === undefined) return { ok: false, reason: `${describe(last, path.length - 1)} is not signed by any trusted root` };
  const rootProblem = validityProblem(anchor, at);
  if (rootProblem) return { ok: false, reason: `trusted root ${oneLine(anchor.subject)} ${rootProblem}` };
  return { ok: true };
}

function validityProblem(cert: crypto.X509Certificate, at: Date): string | undefined {
  let notBefore: Date;
  let notAfter: Date;
  try {
    ({ notBefore, notAfter } = readCertificateParts(cert.raw));
  } catch (error) {
    return `has an unreadable validity period (${error instanceof Error ? error.message : String(error)})`;
  }
  if (at < notBefore) return `is not valid before ${notBefore.toISOString()}`;
  if (at > notAfter) return `expired at ${notAfter.toISOString()}`;
  return undefined;
}

function describe(cert: crypto.X509Certificate, index: number): string {
  const subject = oneLine(cert.subject);
  return `certificate ${index} (${subject === '' ? `serial ${cert.serialNumber}` : subject})`;
}

/** Parses one PEM certificate, throwing `InvalidCertificate` with the reason. */
export function parseX509(pem: string): crypto.X509Certificate {
  try {
    return new crypto.X509Certificate(pemToDer(pem, 'CERTIFICATE'));
  } catch (error) {
    if (error instanceof InvalidCertificate) throw error;
    throw new InvalidCertificate(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

function oneLine(name: string | undefined): string {
  // Node reports an empty Name (every workload certificate's subject) as undefined despite its typing.
  if (name === undefined) return '';
  return name.split('\n').filter((part) => part !== '').join(', ');
}
