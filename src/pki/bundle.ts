// Trust bundles (the mesh's root certificates) and the Node TLS options a workload identity turns into.
import type tls from 'node:tls';
import { parseX509 } from './certificate';
import { InvalidCertificate } from './errors';
import { normalizeCertificatePem, splitPemCertificates } from './pem';

/** The set of root certificates a proxy trusts; immutable, normalised PEM. */
export class TrustBundle {
  readonly rootPems: readonly string[];

  constructor(rootPems: readonly string[]) {
    const normalized = rootPems.map(normalizeCertificatePem);
    for (const pem of normalized) parseX509(pem);
    this.rootPems = Object.freeze([...new Set(normalized)]);
  }

  /** A bundle from concatenated PEM text (e.g. the contents of root-cert.pem). */
  static fromPem(text: string): TrustBundle {
    return new TrustBundle(splitPemCertificates(text));
  }

  contains(certPem: string): boolean {
    return this.rootPems.includes(normalizeCertificatePem(certPem));
  }

  toPem(): string {
    return this.rootPems.join('');
  }
}

export interface TlsIdentity {
  readonly keyPem: string;
  /** Leaf first; intermediates and (optionally) the root after it, as the CA returned them. */
  readonly certChainPems: readonly string[];
  readonly rootPems: readonly string[];
}

/** TLS options shared by both ends of mesh mTLS; the caller adds ALPN, `requestCert` and identity checks. */
export interface MeshTlsOptions {
  readonly key: string;
  /** Leaf plus intermediates; roots are not sent, peers already hold them. */
  readonly cert: string;
  readonly ca: string[];
  readonly minVersion: tls.SecureVersion;
}

export function tlsContextFor(identity: TlsIdentity): MeshTlsOptions {
  const roots = new TrustBundle(identity.rootPems);
  const presented = identity.certChainPems.map(normalizeCertificatePem).filter((pem, index) => index === 0 || !roots.contains(pem));
  if (presented.length === 0) throw new InvalidCertificate('the certificate chain is empty; a TLS identity needs at least its leaf');
  return { key: identity.keyPem, cert: presented.join(''), ca: [...roots.rootPems], minVersion: 'TLSv1.3' };
}
