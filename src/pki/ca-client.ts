// Asks the control plane's CA (Istio's CreateCertificate over gRPC/TLS) for a workload certificate and checks what comes back.
// Lives in src/pki, not src/controlplane, because ztunnel uses it and the data path must not import the control plane.
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { IMPERSONATED_IDENTITY_KEY, asCertificateRequest, caServiceDefinition, type IstioCertificateResponse, type StructMessage } from './ca-proto';
import { certInfo, parseX509, verifyChain } from './certificate';
import { createCsr } from './csr';
import { CertificateRejected, CertificateRequestFailed } from './errors';
import { generateWorkloadKey, spkiDerOf } from './keys';
import { splitPemCertificates } from './pem';
import type { SpiffeId } from './spiffe';

export interface CertificateRequestOptions {
  /** host:port of the CA, e.g. "127.0.0.1:15012". */
  readonly address: string;
  /** Roots the CA's serving certificate must chain to (the mesh roots). */
  readonly rootPems: readonly string[];
  /** Sent as `authorization: Bearer <token>`. */
  readonly token?: string;
  readonly identity: SpiffeId;
  /** Requested lifetime; the CA may shorten it. 0 or absent lets the CA choose. */
  readonly ttlSeconds?: number;
  /** Key to certify (PKCS#8/SEC1 PEM); a fresh ECDSA P-256 key when absent. */
  readonly keyPem?: string;
  /** DNS name or IP checked in the CA's certificate; defaults to the host part of `address`. */
  readonly serverName?: string;
  /** Send `ImpersonatedIdentity` in the request metadata, as ztunnel does (default true). */
  readonly impersonate?: boolean;
  readonly timeoutMs?: number;
}

export interface IssuedCertificate {
  readonly keyPem: string;
  /** Leaf first, root last, one PEM certificate per element. */
  readonly certChainPems: readonly string[];
  readonly notAfter: Date;
}

/**
 * Requests a certificate for `identity`, then refuses (CertificateRejected) anything that is not for that identity,
 * not for our key, or does not chain to `rootPems`. A CA refusal or transport failure is CertificateRequestFailed.
 */
export async function requestCertificate(options: CertificateRequestOptions): Promise<IssuedCertificate> {
  const keyPem = options.keyPem ?? generateWorkloadKey();
  const metadataStruct: StructMessage =
    options.impersonate === false ? { fields: {} } : { fields: { [IMPERSONATED_IDENTITY_KEY]: { stringValue: options.identity } } };
  const request = asCertificateRequest({
    csr: createCsr(keyPem, options.identity),
    validity_duration: String(Math.max(0, Math.floor(options.ttlSeconds ?? 0))),
    metadata: metadataStruct,
  });
  const response = await callCreateCertificate(options, request);
  const certChainPems = response.cert_chain.flatMap((entry) => splitPemCertificates(entry));
  const [leaf, ...rest] = certChainPems;
  if (leaf === undefined) throw new CertificateRejected(`the CA returned no certificate for ${options.identity}`);
  const info = certInfo(leaf);
  if (info.uriSans.length !== 1 || info.uriSans[0] !== options.identity) {
    throw new CertificateRejected(`the CA issued a certificate for [${info.uriSans.join(', ')}] instead of ${options.identity}`);
  }
  if (!spkiDerOf(parseX509(leaf).publicKey).equals(spkiDerOf(keyPem))) {
    throw new CertificateRejected(`the certificate issued for ${options.identity} is not for the key in our CSR`);
  }
  const verdict = verifyChain(leaf, rest, options.rootPems);
  if (!verdict.ok) throw new CertificateRejected(`the chain issued for ${options.identity} does not verify: ${verdict.reason}`);
  return { keyPem, certChainPems, notAfter: info.notAfter };
}

function callCreateCertificate(
  options: CertificateRequestOptions,
  request: ReturnType<typeof asCertificateRequest>,
): Promise<IstioCertificateResponse> {
  const method = caServiceDefinition().CreateCertificate;
  if (method === undefined) throw new Error('CreateCertificate is missing from the CA service definition');
  const secureContext = tls.createSecureContext({ ca: [...options.rootPems], minVersion: 'TLSv1.3' });
  const channelOptions: grpc.ChannelOptions = {};
  if (options.serverName !== undefined) {
    channelOptions['grpc.ssl_target_name_override'] = options.serverName;
    channelOptions['grpc.default_authority'] = options.serverName;
  }
  const client = new grpc.Client(options.address, grpc.credentials.createFromSecureContext(secureContext), channelOptions);
  const metadata = new grpc.Metadata();
  if (options.token !== undefined) metadata.set('authorization', `Bearer ${options.token}`);
  return new Promise<IstioCertificateResponse>((resolve, reject) => {
    client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      metadata,
      { deadline: Date.now() + (options.timeoutMs ?? 10_000) },
      (error: grpc.ServiceError | null, value?: unknown) => {
        client.close();
        if (error) {
          reject(new CertificateRequestFailed(error.code, grpc.status[error.code] ?? String(error.code), error.details, options.identity));
          return;
        }
        resolve(asCertificateResponse(value));
      },
    );
  });
}

function asCertificateResponse(value: unknown): IstioCertificateResponse {
  const chain = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).cert_chain : undefined;
  return { cert_chain: Array.isArray(chain) ? chain.filter((entry): entry is string => typeof entry === 'string') : [] };
}
