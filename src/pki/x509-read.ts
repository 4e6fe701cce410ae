// Reads the parts of CSRs and certificates that Node's X509Certificate does not expose exactly: SAN lists, raw names, extensions.
import forge from 'node-forge';
import { DerError, TAG, childAt, childrenOf, contentOf, encodingOf, readBitStringBytes, readNode, readOid, readRoot, type DerNode } from './der-reader';
import { OID } from './x509-asn1';

export interface GeneralNameLists {
  readonly uris: string[];
  readonly dnsNames: string[];
  readonly ipAddresses: string[];
}

export interface RawExtension {
  readonly critical: boolean;
  /** Content of extnValue (the DER of the extension's own structure). */
  readonly value: Buffer;
}

/** A parsed certificate or CSR: the signed bytes as received plus the pieces needed to check and use them. */
export interface SignedParts {
  readonly signedDer: Buffer;
  readonly signatureAlgorithmOid: string;
  readonly signature: Buffer;
  readonly subjectDer: Buffer;
  readonly spkiDer: Buffer;
  readonly extensions: ReadonlyMap<string, RawExtension>;
}

export interface CertificateParts extends SignedParts {
  readonly issuerDer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Splits `SEQUENCE { signed, AlgorithmIdentifier, BIT STRING }`, the outer shape shared by certificates and CSRs. */
function outer(der: Buffer, what: string): { signed: DerNode; signatureAlgorithmOid: string; signature: Buffer } {
  const root = readRoot(der);
  const [signed, algorithm, signature] = childrenOf(der, root);
  if (signed === undefined || algorithm === undefined || signature === undefined) throw new DerError(`${what} does not have three parts`);
  return {
    signed,
    signatureAlgorithmOid: readOid(der, childAt(der, algorithm, 0, TAG.OID, 'signature algorithm')),
    signature: readBitStringBytes(der, signature, 'signature'),
  };
}

export function readCertificateParts(der: Buffer): CertificateParts {
  const { signed, signatureAlgorithmOid, signature } = outer(der, 'certificate');
  const fields = childrenOf(der, signed);
  // Version is an optional [0] EXPLICIT field; everything after it shifts by one when present.
  const shift = fields[0]?.tag === 0xa0 ? 1 : 0;
  const at = (index: number, what: string): DerNode => {
    const node = fields[index + shift];
    if (node === undefined) throw new DerError(`certificate ${what} is missing`);
    return node;
  };
  const extensionsNode = fields.find((field) => field.tag === 0xa3);
  return {
    signedDer: encodingOf(der, signed),
    signatureAlgorithmOid,
    signature,
    issuerDer: encodingOf(der, at(2, 'issuer')),
    ...readValidity(der, at(3, 'validity')),
    subjectDer: encodingOf(der, at(4, 'subject')),
    spkiDer: encodingOf(der, at(5, 'public key')),
    extensions: extensionsNode ? readExtensions(der, childAt(der, extensionsNode, 0, TAG.SEQUENCE, 'extensions')) : new Map(),
  };
}

export function readCsrParts(der: Buffer): SignedParts {
  const { signed, signatureAlgorithmOid, signature } = outer(der, 'CSR');
  const [version, subject, spki, attributes] = childrenOf(der, signed);
  if (version === undefined || subject === undefined || spki === undefined) throw new DerError('CSR info is incomplete');
  let extensions: ReadonlyMap<string, RawExtension> = new Map();
  if (attributes !== undefined && attributes.tag === 0xa0) {
    for (const attribute of childrenOf(der, attributes)) {
      const oid = readOid(der, childAt(der, attribute, 0, TAG.OID, 'attribute type'));
      if (oid !== OID.extensionRequest) continue;
      const values = childAt(der, attribute, 1, TAG.SET, 'extension request values');
      extensions = readExtensions(der, childAt(der, values, 0, TAG.SEQUENCE, 'requested extensions'));
    }
  }
  return {
    signedDer: encodingOf(der, signed),
    signatureAlgorithmOid,
    signature,
    subjectDer: encodingOf(der, subject),
    spkiDer: encodingOf(der, spki),
    extensions,
  };
}

function readValidity(der: Buffer, validity: DerNode): { notBefore: Date; notAfter: Date } {
  const [notBefore, notAfter] = childrenOf(der, validity);
  if (notBefore === undefined || notAfter === undefined) throw new DerError('certificate validity is incomplete');
  return { notBefore: readTime(der, notBefore), notAfter: readTime(der, notAfter) };
}

function readTime(der: Buffer, node: DerNode): Date {
  const text = contentOf(der, node).toString('latin1');
  if (node.tag === 0x17) return forge.asn1.utcTimeToDate(text);
  if (node.tag === 0x18) return forge.asn1.generalizedTimeToDate(text);
  throw new DerError(`tag 0x${node.tag.toString(16)} is not a time`);
}

function readExtensions(der: Buffer, list: DerNode): Map<string, RawExtension> {
  const extensions = new Map<string, RawExtension>();
  for (const item of childrenOf(der, list)) {
    const parts = childrenOf(der, item);
    const oidNode = parts[0];
    const valueNode = parts[parts.length - 1];
    if (oidNode === undefined || valueNode === undefined || valueNode.tag !== TAG.OCTET_STRING) throw new DerError('malformed extension');
    const criticalNode = parts.length === 3 ? parts[1] : undefined;
    const critical = criticalNode !== undefined && criticalNode.tag === TAG.BOOLEAN && contentOf(der, criticalNode)[0] !== 0;
    const oid = readOid(der, oidNode);
    if (extensions.has(oid)) throw new DerError(`extension ${oid} appears twice`);
    extensions.set(oid, { critical, value: Buffer.from(contentOf(der, valueNode)) });
  }
  return extensions;
}

/** SANs from a subjectAltName extension value; other GeneralName kinds are skipped. */
export function readGeneralNames(value: Buffer): GeneralNameLists {
  const lists: GeneralNameLists = { uris: [], dnsNames: [], ipAddresses: [] };
  const root = readNode(value, 0);
  for (const name of childrenOf(value, root)) {
    const content = contentOf(value, name);
    if (name.tag === 0x86) lists.uris.push(content.toString('latin1'));
    else if (name.tag === 0x82) lists.dnsNames.push(content.toString('latin1'));
    else if (name.tag === 0x87) lists.ipAddresses.push(formatIp(content));
  }
  return lists;
}

export function sansOf(parts: SignedParts): GeneralNameLists {
  const san = parts.extensions.get(OID.subjectAltName);
  return san ? readGeneralNames(san.value) : { uris: [], dnsNames: [], ipAddresses: [] };
}

/** The keyIdentifier of a subjectKeyIdentifier extension, if present. */
export function subjectKeyIdOf(parts: SignedParts): Buffer | undefined {
  const ski = parts.extensions.get(OID.subjectKeyIdentifier);
  if (ski === undefined) return undefined;
  return Buffer.from(contentOf(ski.value, readRoot(ski.value)));
}

function formatIp(bytes: Buffer): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) return bytes.toString('hex');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // Compress the longest run of zero groups, as RFC 5952 does.
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength && j - i > 1) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}
