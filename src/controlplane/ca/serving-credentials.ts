// TLS credentials for the control plane's gRPC server (CA + xDS on :15012), signed by the mesh CA itself.
import * as grpc from '@grpc/grpc-js';
import type { CaStore } from './ca-store';

/** The DNS name ambit's proxies verify in the control plane's certificate. */
export const CONTROL_PLANE_DNS_NAME = 'ambit-controlplane';
/** One year; no rotation yet, so this bounds how long one control-plane process can run. */
export const DEFAULT_SERVING_TTL_SECONDS = 365 * 24 * 60 * 60;

export interface ServingIdentityOptions {
  /** Defaults to ["ambit-controlplane"]; add e.g. "istiod.istio-system.svc" for Istio's ztunnel. */
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly ttlSeconds?: number;
}

/** Issues a serving certificate from `ca` and wraps it for `grpc.Server.bindAsync`. Client certificates are not requested. */
export function controlPlaneServerCredentials(ca: CaStore, options: ServingIdentityOptions = {}): grpc.ServerCredentials {
  const serving = ca.issueServingCertificate(
    { dnsNames: options.dnsNames ?? [CONTROL_PLANE_DNS_NAME], ipAddresses: options.ipAddresses ?? [] },
    options.ttlSeconds ?? DEFAULT_SERVING_TTL_SECONDS,
  );
  return grpc.ServerCredentials.createSsl(
    null,
    [{ private_key: Buffer.from(serving.keyPem), cert_chain: Buffer.from(serving.certChainPems.join('')) }],
    false,
  );
}
