// Mutual-TLS 1.3 settings for HBONE (ALPN h2, no SNI, mesh roots only) and the secure-naming check of the server's SPIFFE ID.
import crypto from 'node:crypto';
import type net from 'node:net';
import tls from 'node:tls';
import { tlsContextFor, type SpiffeId, type TlsIdentity } from '../pki';
import { SecureNamingViolation } from './errors';
import { spiffeIdsOfDer, uriSansOfDer } from './identity';

/**
 * A workload's key, its certificate chain (leaf first) and the mesh roots it trusts, all PEM. Treat a value as
 * immutable: renewing a certificate means handing over a new object, which new connections then use while
 * connections made with the old one keep running.
 */
export type CertificateMaterial = TlsIdentity;

/** The certificate material a client presents, with the identity it certifies. */
export type SourceIdentity = CertificateMaterial & { readonly identity: SpiffeId };

export const HBONE_ALPN: readonly string[] = Object.freeze(['h2']);

// Parsing keys and certificates costs more than a handshake's bookkeeping, so each material object is turned into
// an OpenSSL context once and reused for every connection that presents it.
const contexts = new WeakMap<CertificateMaterial, tls.SecureContext>();
const fingerprints = new WeakMap<CertificateMaterial, string>();

/** The TLS context (key, chain without roots, mesh roots as CAs, TLS 1.3 only) of a certificate material. */
export function secureContextFor(material: CertificateMaterial): tls.SecureContext {
  let context = contexts.get(material);
  if (context === undefined) {
    context = tls.createSecureContext(tlsContextFor(material));
    contexts.set(material, context);
  }
  return context;
}

/** A digest of everything in a material, so two objects holding the same certificate compare equal. */
export function materialFingerprint(material: CertificateMaterial): string {
  let fingerprint = fingerprints.get(material);
  if (fingerprint === undefined) {
    const hash = crypto.createHash('sha256').update(material.keyPem);
    for (const pem of material.certChainPems) hash.update('\0chain\0').update(pem);
    for (const pem of material.rootPems) hash.update('\0root\0').update(pem);
    fingerprint = hash.digest('hex');
    fingerprints.set(material, fingerprint);
  }
  return fingerprint;
}

/**
 * Options for a `tls.Server` that terminates HBONE for one workload identity: client certificates are required and
 * must chain to the mesh roots. Node enforces `rejectUnauthorized` only for sockets a `tls.Server` accepts (a bare
 * `new tls.TLSSocket(socket, { isServer: true })` completes the handshake with an untrusted client), hence a server.
 */
export function serverTlsOptions(material: CertificateMaterial, handshakeTimeoutMs: number): tls.TlsOptions {
  return {
    ...tlsContextFor(material),
    requestCert: true,
    rejectUnauthorized: true,
    ALPNProtocols: [...HBONE_ALPN],
    handshakeTimeout: handshakeTimeoutMs,
  };
}

/**
 * Options for `tls.connect` over an already connected socket: the source's certificate, the server chain checked
 * against the mesh roots, no SNI (HBONE servers pick their certificate by destination IP), and secure naming
 * instead of a DNS name check.
 */
export function clientTlsOptions(
  source: CertificateMaterial,
  expectedIdentities: readonly SpiffeId[],
  socket: net.Socket,
  onMatch?: (identity: SpiffeId) => void,
): tls.ConnectionOptions {
  return {
    socket,
    secureContext: secureContextFor(source),
    ALPNProtocols: [...HBONE_ALPN],
    rejectUnauthorized: true,
    checkServerIdentity: secureNamingCheck(expectedIdentities, onMatch),
  };
}

/**
 * A `checkServerIdentity` that accepts the server when one of its SPIFFE IDs is an expected identity (reported to
 * `onMatch`). DNS names and IP SANs are ignored: the control plane says which identities may serve a destination,
 * not which names. Node calls this only after the chain verified.
 */
export function secureNamingCheck(
  expectedIdentities: readonly SpiffeId[],
  onMatch?: (identity: SpiffeId) => void,
): (hostname: string, cert: tls.PeerCertificate) => Error | undefined {
  const expected = new Set<string>(expectedIdentities);
  return (_hostname, cert) => {
    if (cert.raw === undefined || cert.raw.length === 0) return new SecureNamingViolation(expectedIdentities, []);
    let presented: readonly SpiffeId[];
    try {
      presented = spiffeIdsOfDer(cert.raw);
    } catch {
      return new SecureNamingViolation(expectedIdentities, []);
    }
    const match = presented.find((id) => expected.has(id));
    if (match !== undefined) {
      onMatch?.(match);
      return undefined;
    }
    return new SecureNamingViolation(expectedIdentities, presented.length > 0 ? presented : uriSansOfDer(cert.raw));
  };
}

/** The first of the expected identities a verified server certificate carries. */
export function matchedIdentity(expectedIdentities: readonly SpiffeId[], peerDer: Buffer): SpiffeId | undefined {
  const presented = new Set<string>(spiffeIdsOfDer(peerDer));
  return expectedIdentities.find((id) => presented.has(id));
}
