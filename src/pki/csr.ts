// PKCS#10 certificate signing requests carrying one SPIFFE URI SAN, written and read the way Istio's ztunnel and istiod do.
import crypto from 'node:crypto';
import forge from 'node-forge';
import { InvalidCsr } from './errors';
import { spkiDerOf } from './keys';
import { derToPem, pemBlocks } from './pem';
import type { SpiffeId } from './spiffe';
import { OID, extension, fromDer, generalNames, oidNode, sequence, setOf, signerFor, smallInteger, toDer, bitString, verifySignature } from './x509-asn1';
import { readCsrParts, sansOf } from './x509-read';

export interface CsrContents {
  /** SPKI PEM of the key the certificate is to be issued for. */
  readonly publicKeyPem: string;
  readonly uriSans: readonly string[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

/**
 * A PEM CSR signed by `keyPem` whose only content is one critical URI SAN (the subject is empty, as in
 * Istio's own CSRs; RFC 5280 wants the SAN critical then).
 */
export function createCsr(keyPem: string, spiffeId: SpiffeId): string {
  const privateKey = crypto.createPrivateKey(keyPem);
  const signer = signerFor(privateKey);
  const san = extension(OID.subjectAltName, true, generalNames({ uris: [spiffeId] }));
  const extensionRequest = sequence([oidNode(OID.extensionRequest), setOf([sequence([san])])]);
  const info = sequence([
    smallInteger(0),
    sequence([]),
    fromDer(spkiDerOf(privateKey)),
    // attributes [0] IMPLICIT SET OF Attribute
    forge.asn1.create(forge.asn1.Class.CONTEXT_SPECIFIC, 0 as forge.asn1.Type, true, [extensionRequest]),
  ]);
  const infoDer = toDer(info);
  const request = sequence([fromDer(infoDer), signer.algorithm, bitString(signer.sign(infoDer))]);
  return derToPem(toDer(request), 'CERTIFICATE REQUEST');
}

/** Parses a PEM CSR and checks its self-signature; throws `InvalidCsr` naming what is wrong. */
export function readCsr(pem: string): CsrContents {
  const block = pemBlocks(pem).find((candidate) => candidate.label === 'CERTIFICATE REQUEST' || candidate.label === 'NEW CERTIFICATE REQUEST');
  if (block === undefined) throw new InvalidCsr('no "CERTIFICATE REQUEST" PEM block found');
  let parts;
  try {
    parts = readCsrParts(block.der);
  } catch (error) {
    throw new InvalidCsr(error instanceof Error ? error.message : String(error), { cause: error });
  }
  let publicKey: crypto.KeyObject;
  try {
    publicKey = crypto.createPublicKey({ key: parts.spkiDer, format: 'der', type: 'spki' });
  } catch (error) {
    throw new InvalidCsr('its public key cannot be read', { cause: error });
  }
  let verified: boolean;
  try {
    verified = verifySignature(parts.signatureAlgorithmOid, parts.signedDer, parts.signature, publicKey);
  } catch (error) {
    throw new InvalidCsr(error instanceof Error ? error.message : String(error), { cause: error });
  }
  if (!verified) throw new InvalidCsr('its signature does not verify against its own public key');
  let sans;
  try {
    sans = sansOf(parts);
  } catch (error) {
    throw new InvalidCsr('its subjectAltName extension is malformed', { cause: error });
  }
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    uriSans: sans.uris,
    dnsNames: sans.dnsNames,
    ipAddresses: sans.ipAddresses,
  };
}
