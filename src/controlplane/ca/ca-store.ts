// The control plane's signing CA on disk: Istio plug-in CA files if present, else ambit's own self-signed root (made once).
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  CertificateIssuer,
  TrustBundle,
  generateRootCa,
  generateWorkloadKey,
  normalizeCertificatePem,
  publicKeyPemOf,
  verifyChain,
  type SubjectAltNames,
} from '../../pki';
import { CaFileError, checkCaCertificate, checkSigningPair, exists, readCertificates, readPrivateKey, writeFileAtomic } from './ca-files';

/** File names Istio uses for a plugged-in CA (the `cacerts` secret) and the ones ambit writes for its own root. */
export const CA_FILES = {
  pluginCert: 'ca-cert.pem',
  pluginKey: 'ca-key.pem',
  certChain: 'cert-chain.pem',
  root: 'root-cert.pem',
  rootKey: 'root-key.pem',
} as const;

/** Istio's self-signed root lives 10 years by default; ambit's does too. */
export const DEFAULT_ROOT_TTL_DAYS = 3650;

export interface CaStoreOptions {
  readonly trustDomain: string;
  /** Lifetime of a generated root. */
  readonly rootTtlDays?: number;
  readonly now?: Date;
}

export type CaMode = 'plug-in' | 'self-signed';

export interface IssueRequest {
  readonly publicKeyPem: string;
  readonly sans: SubjectAltNames;
  readonly ttlSeconds: number;
  readonly now?: Date;
}

export interface ServingCertificate {
  readonly keyPem: string;
  /** Leaf then intermediates (no root): what a TLS server presents. */
  readonly certChainPems: readonly string[];
}

export class CaStore {
  private readonly issuer: CertificateIssuer;

  private constructor(
    readonly dir: string,
    readonly trustDomain: string,
    readonly mode: CaMode,
    /** True when this open generated the root (first start). */
    readonly generated: boolean,
    signingCertPem: string,
    signingKeyPem: string,
    /** Certificates between a leaf and the root, the signing certificate first; empty for a self-signed root. */
    readonly intermediatePems: readonly string[],
    /** The root the signing certificate chains to: last element of every issued chain. */
    readonly rootPem: string,
    /** Every root in root-cert.pem (more than one while roots rotate). */
    readonly trustBundle: TrustBundle,
  ) {
    this.issuer = new CertificateIssuer({ certPem: signingCertPem, keyPem: signingKeyPem });
  }

  /**
   * Opens the CA in `dir`: plug-in files (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem) win; else
   * root-cert.pem + root-key.pem from an earlier start; else a new root is generated and saved (key mode 0600).
   * Throws CaFileError naming the file at fault.
   */
  static async open(dir: string, options: CaStoreOptions): Promise<CaStore> {
    const now = options.now ?? new Date();
    const file = (name: string): string => path.join(dir, name);
    const [pluginCert, pluginKey] = await Promise.all([exists(file(CA_FILES.pluginCert)), exists(file(CA_FILES.pluginKey))]);
    if (pluginCert || pluginKey) return CaStore.openPlugin(dir, options.trustDomain, now, pluginCert, pluginKey);
    const [root, rootKey] = await Promise.all([exists(file(CA_FILES.root)), exists(file(CA_FILES.rootKey))]);
    if (root && !rootKey) {
      throw new CaFileError(
        'CA_KEY_MISSING',
        file(CA_FILES.root),
        `no private key for this root; expected ${file(CA_FILES.rootKey)} (or plug-in files ${CA_FILES.pluginCert} and ${CA_FILES.pluginKey})`,
      );
    }
    if (!root && rootKey) {
      throw new CaFileError(
        'CA_FILE_MISSING',
        file(CA_FILES.rootKey),
        `has no certificate beside it; expected ${file(CA_FILES.root)} (remove the key to let ambit generate a new root)`,
      );
    }
    if (root) return CaStore.openSelfSigned(dir, options.trustDomain, now, false);
    await CaStore.generateRoot(dir, options, now);
    return CaStore.openSelfSigned(dir, options.trustDomain, now, true);
  }

  private static async openPlugin(dir: string, trustDomain: string, now: Date, hasCert: boolean, hasKey: boolean): Promise<CaStore> {
    const certFile = path.join(dir, CA_FILES.pluginCert);
    const keyFile = path.join(dir, CA_FILES.pluginKey);
    const rootFile = path.join(dir, CA_FILES.root);
    const chainFile = path.join(dir, CA_FILES.certChain);
    if (!hasKey) throw new CaFileError('CA_KEY_MISSING', certFile, `no private key for this CA certificate; expected ${keyFile}`);
    if (!hasCert) throw new CaFileError('CA_FILE_MISSING', keyFile, `has no certificate beside it; expected ${certFile}`);
    if (!(await exists(rootFile))) {
      throw new CaFileError('CA_FILE_MISSING', rootFile, `missing; a plug-in CA (${CA_FILES.pluginCert}, ${CA_FILES.pluginKey}) also needs the root it chains to`);
    }
    const signing = await readCertificates(certFile);
    const signingCert = signing.certs[0];
    const signingPem = signing.pems[0];
    if (signingCert === undefined || signingPem === undefined) throw new CaFileError('CA_FILE_UNREADABLE', certFile, 'holds no certificate');
    const key = await readPrivateKey(keyFile);
    checkSigningPair(certFile, signingCert, keyFile, key.key, now);
    const roots = await readCertificates(rootFile);
    roots.certs.forEach((root) => checkCaCertificate(rootFile, root, now));
    const bundle = new TrustBundle(roots.pems);
    // cert-chain.pem is ca-cert.pem plus any further intermediates (and often the root); without it, ca-cert.pem alone.
    const hasChain = await exists(chainFile);
    const chainPems = hasChain ? (await readCertificates(chainFile)).pems.map(normalizeCertificatePem) : [signingPem];
    const intermediates = chainPems.filter((pem) => !bundle.contains(pem));
    if (intermediates[0] !== signingPem) {
      if (intermediates.includes(signingPem)) {
        throw new CaFileError('CA_CHAIN_BROKEN', chainFile, `must list ${CA_FILES.pluginCert} first, then the certificates up to the root`);
      }
      intermediates.unshift(signingPem);
    }
    const chainSource = hasChain ? chainFile : certFile;
    const verdict = verifyChain(signingPem, intermediates.slice(1), bundle.rootPems, now);
    if (!verdict.ok) {
      throw new CaFileError('CA_CHAIN_BROKEN', chainSource, `does not lead from ${CA_FILES.pluginCert} to a root in ${CA_FILES.root}: ${verdict.reason}`);
    }
    const top = intermediates[intermediates.length - 1] ?? signingPem;
    const anchor = bundle.rootPems.find((root) => new crypto.X509Certificate(top).checkIssued(new crypto.X509Certificate(root))) ?? bundle.rootPems[0];
    if (anchor === undefined) throw new CaFileError('CA_FILE_UNREADABLE', rootFile, 'holds no root certificate');
    return new CaStore(dir, trustDomain, 'plug-in', false, signingPem, key.pem, intermediates, anchor, bundle);
  }

  private static async openSelfSigned(dir: string, trustDomain: string, now: Date, generated: boolean): Promise<CaStore> {
    const certFile = path.join(dir, CA_FILES.root);
    const keyFile = path.join(dir, CA_FILES.rootKey);
    const roots = await readCertificates(certFile);
    const key = await readPrivateKey(keyFile);
    // The first certificate signs; any others are older or newer roots still trusted during a rotation.
    const signingCert = roots.certs[0];
    const signingPem = roots.pems[0];
    if (signingCert === undefined || signingPem === undefined) throw new CaFileError('CA_FILE_UNREADABLE', certFile, 'holds no certificate');
    checkSigningPair(certFile, signingCert, keyFile, key.key, now);
    if (!signingCert.checkIssued(signingCert)) {
      throw new CaFileError('CA_CHAIN_BROKEN', certFile, `is not self-signed; to sign with an intermediate, use the plug-in files ${CA_FILES.pluginCert} and ${CA_FILES.pluginKey}`);
    }
    return new CaStore(dir, trustDomain, 'self-signed', generated, signingPem, key.pem, [], signingPem, new TrustBundle(roots.pems));
  }

  private static async generateRoot(dir: string, options: CaStoreOptions, now: Date): Promise<void> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const root = generateRootCa({ trustDomain: options.trustDomain, ttlDays: options.rootTtlDays ?? DEFAULT_ROOT_TTL_DAYS, now });
    // Key first: a crash in between leaves a key without a certificate, which open() reports instead of guessing.
    await writeFileAtomic(path.join(dir, CA_FILES.rootKey), root.keyPem, 0o600);
    await writeFileAtomic(path.join(dir, CA_FILES.root), root.certPem, 0o644);
  }

  get rootPems(): readonly string[] {
    return this.trustBundle.rootPems;
  }

  /** When the signing certificate expires; no leaf outlives it. */
  get signingNotAfter(): Date {
    return this.issuer.notAfter;
  }

  /** Issues a leaf and returns the chain to hand out: [leaf, ...intermediates, root]. */
  issue(request: IssueRequest): string[] {
    const leaf = this.issuer.issue(request);
    return [leaf, ...this.intermediatePems, this.rootPem].filter((pem, index, all) => all.indexOf(pem) === index);
  }

  /** A fresh key and certificate for the control plane's own TLS server (DNS/IP SANs). */
  issueServingCertificate(sans: SubjectAltNames, ttlSeconds: number): ServingCertificate {
    const keyPem = generateWorkloadKey();
    const chain = this.issue({ publicKeyPem: publicKeyPemOf(keyPem), sans, ttlSeconds });
    return { keyPem, certChainPems: chain.filter((pem) => !this.trustBundle.contains(pem)) };
  }
}
