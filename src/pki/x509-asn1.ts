// ASN.1 building blocks for CSRs and certificates (node-forge's asn1 for encoding, Node's crypto for signing),
// needed because node-forge itself can neither sign nor carry ECDSA keys.
import crypto from 'node:crypto';
import net from 'node:net';
import forge from 'node-forge';
import { keyAlgorithmOf } from './keys';
import { InvalidCertificate, UnsupportedKey } from './errors';

const { asn1 } = forge;
type Asn1 = forge.asn1.Asn1;

export const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
  extensionRequest: '1.2.840.113549.1.9.14',
  organization: '2.5.4.10',
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** Digest each signature algorithm uses, for verifying what others signed. */
export const SIGNATURE_DIGESTS: Readonly<Record<string, string>> = {
  [OID.ecdsaWithSha256]: 'sha256',
  [OID.ecdsaWithSha384]: 'sha384',
  [OID.ecdsaWithSha512]: 'sha512',
  [OID.sha256WithRsa]: 'sha256',
  [OID.sha384WithRsa]: 'sha384',
  [OID.sha512WithRsa]: 'sha512',
};

/** SAN values to put in a certificate or CSR. */
export interface SubjectAltNames {
  readonly uris?: readonly string[];
  readonly dnsNames?: readonly string[];
  /** IPv4 or IPv6 literals. */
  readonly ipAddresses?: readonly string[];
}

export interface Signer {
  readonly algorithm: Asn1;
  sign(data: Buffer): Buffer;
}

/** How `key` signs: ECDSA with the digest matching its curve (as RFC 5480 recommends), RSA with SHA-256. */
export function signerFor(key: crypto.KeyObject): Signer {
  const algorithm = keyAlgorithmOf(key);
  const digest = algorithm === 'ecdsa-p384' ? 'sha384' : 'sha256';
  const oid = algorithm === 'ecdsa-p256' ? OID.ecdsaWithSha256 : algorithm === 'ecdsa-p384' ? OID.ecdsaWithSha384 : OID.sha256WithRsa;
  // RFC 5758: ECDSA AlgorithmIdentifiers omit parameters; RFC 4055: RSA ones carry NULL.
  const parameters = algorithm.startsWith('ecdsa') ? [] : [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '')];
  return {
    algorithm: sequence([oidNode(oid), ...parameters]),
    sign: (data) => crypto.sign(digest, data, key),
  };
}

/** Verifies `signature` over `data` for a signature algorithm read from a CSR or certificate. */
export function verifySignature(algorithmOid: string, data: Buffer, signature: Buffer, publicKey: crypto.KeyObject): boolean {
  const digest = SIGNATURE_DIGESTS[algorithmOid];
  if (digest === undefined) throw new UnsupportedKey(`signature algorithm ${algorithmOid}`);
  return crypto.verify(digest, data, publicKey, signature);
}

export function sequence(children: Asn1[]): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, children);
}

export function setOf(children: Asn1[]): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, children);
}

export function oidNode(oid: string): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes());
}

export function octetString(bytes: Buffer): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes.toString('binary'));
}

export function bitString(bytes: Buffer, unusedBits = 0): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, String.fromCharCode(unusedBits) + bytes.toString('binary'));
}

/** A positive INTEGER from big-endian bytes (the caller keeps them minimal: no redundant leading zero). */
export function positiveInteger(bytes: Buffer): Asn1 {
  const first = bytes[0] ?? 0;
  const content = first & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, content.toString('binary'));
}

export function smallInteger(value: number): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(value).getBytes());
}

export function explicitTag(tagNumber: number, child: Asn1): Asn1 {
  return asn1.create(asn1.Class.CONTEXT_SPECIFIC, tagNumber as forge.asn1.Type, true, [child]);
}

/** Re-wraps an already-encoded DER element (SPKI, an issuer Name) so it can sit inside a forge structure. */
export function fromDer(der: Buffer): Asn1 {
  return asn1.fromDer(der.toString('binary'), true);
}

export function toDer(node: Asn1): Buffer {
  return Buffer.from(asn1.toDer(node).getBytes(), 'binary');
}

/** A Name with only an O and/or CN; workload certificates use an empty Name, as Istio's do. */
export function distinguishedName(attributes: { organization?: string; commonName?: string }): Asn1 {
  const rdns: Asn1[] = [];
  const attribute = (oid: string, value: string): Asn1 =>
    setOf([sequence([oidNode(oid), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTF8, false, forge.util.encodeUtf8(value))])]);
  if (attributes.organization !== undefined) rdns.push(attribute(OID.organization, attributes.organization));
  if (attributes.commonName !== undefined) rdns.push(attribute(OID.commonName, attributes.commonName));
  return sequence(rdns);
}

/** Validity times: UTCTime until 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
export function time(date: Date): Asn1 {
  if (date.getUTCFullYear() < 2050) {
    return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date));
  }
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

export function extension(oid: string, critical: boolean, value: Asn1): Asn1 {
  const parts = [oidNode(oid)];
  if (critical) parts.push(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BOOLEAN, false, String.fromCharCode(0xff)));
  parts.push(octetString(toDer(value)));
  return sequence(parts);
}

/** GeneralNames: URI [6], dNSName [2], iPAddress [7]. Throws on a malformed IP literal. */
export function generalNames(sans: SubjectAltNames): Asn1 {
  const names: Asn1[] = [];
  const implicit = (tagNumber: number, bytes: string): Asn1 =>
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, tagNumber as forge.asn1.Type, false, bytes);
  for (const uri of sans.uris ?? []) names.push(implicit(6, uri));
  for (const dns of sans.dnsNames ?? []) names.push(implicit(2, dns));
  for (const ip of sans.ipAddresses ?? []) names.push(implicit(7, ipToBuffer(ip).toString('binary')));
  return sequence(names);
}

export function sanCount(sans: SubjectAltNames): number {
  return (sans.uris?.length ?? 0) + (sans.dnsNames?.length ?? 0) + (sans.ipAddresses?.length ?? 0);
}

/** Bytes of an IPv4 (4) or IPv6 (16) literal, for an iPAddress SAN. */
export function ipToBuffer(ip: string): Buffer {
  if (net.isIP(ip) === 0) throw new InvalidCertificate(`SAN ${JSON.stringify(ip)} is not an IP address`);
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4) {
    const octets = v4.slice(1).map(Number);
    if (octets.some((octet) => octet > 255)) throw new InvalidCertificate(`SAN ${JSON.stringify(ip)} is not an IP address`);
    return Buffer.from(octets);
  }
  if (!ip.includes(':')) throw new InvalidCertificate(`SAN ${JSON.stringify(ip)} is not an IP address`);
  let text = ip;
  const tailV4 = /(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(text);
  let tail: Buffer = Buffer.alloc(0);
  if (tailV4?.[1]) {
    tail = ipToBuffer(tailV4[1]);
    text = `${text.slice(0, -tailV4[1].length)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) throw new InvalidCertificate(`SAN ${JSON.stringify(ip)} is not an IP address`);
  const parse = (part: string | undefined): number[] => (part ? part.split(':').map((group) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) throw new InvalidCertificate(`SAN ${JSON.stringify(ip)} is not an IP address`);
    return parseInt(group, 16);
  }) : []);
  const head = parse(halves[0]);
  const rest = parse(halves[1]);
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) throw new InvalidCertificate(`SAN ${JSON.stringify(ip)} is not an IP address`);
  const groups = [...head, ...new Array<number>(halves.length === 1 ? 0 : missing).fill(0), ...rest];
  const out = Buffer.alloc(16);
  groups.forEach((group, i) => out.writeUInt16BE(group, i * 2));
  if (tail.length === 4) tail.copy(out, 12);
  return out;
}
