// Decides what a CreateCertificate request may get (identity, key, lifetime) before any authorization lookup or signing.
import * as grpc from '@grpc/grpc-js';
import { IMPERSONATED_IDENTITY_KEY, InvalidCsr, parseSpiffeId, parseSpiffeIdParts, readCsr, structString, type IstioCertificateRequest, type SpiffeId } from '../../pki';

/** Why a request was refused; one counter and one log line per refusal carry it. */
export type CaRefusalReason =
  | 'unauthenticated'
  | 'invalid-request'
  | 'identity-mismatch'
  | 'foreign-trust-domain'
  | 'not-on-node'
  | 'not-own-identity';

export interface CaRefusal {
  readonly kind: 'refuse';
  readonly reason: CaRefusalReason;
  readonly status: grpc.status;
  /** Sent to the caller as the status details and logged. */
  readonly message: string;
  readonly node?: string;
  readonly caller?: string;
  readonly identity?: string;
}

/** What to sign once the node is found to run a pod with `identity`. */
export interface IssuancePlan {
  readonly kind: 'issue';
  readonly identity: SpiffeId;
  readonly publicKeyPem: string;
  readonly ttlSeconds: number;
}

export interface IssuanceLimits {
  readonly trustDomain: string;
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
}

export interface CaCaller {
  /** The node whose ztunnel is asking ('' for a workload whose token is bound to no pod). */
  readonly node: string;
  /** Who authenticated, for logs (e.g. "node-token/node-1" or "istio-system/ztunnel"). */
  readonly caller: string;
  /**
   * Set for a workload speaking for itself (a waypoint with its own service-account token): it may obtain exactly this
   * identity, and no node check applies. Unset for node agents, which may obtain any identity running on their node.
   */
  readonly identity?: SpiffeId;
}

/**
 * The identity asked for is `ImpersonatedIdentity` when set, else the CSR's one URI SAN; the CSR must name exactly
 * that identity, inside our trust domain. Lifetime: the requested one when positive, else the default, never above max.
 */
export function planIssuance(request: IstioCertificateRequest, caller: CaCaller, limits: IssuanceLimits): IssuancePlan | CaRefusal {
  const refuse = (reason: CaRefusalReason, status: grpc.status, message: string, identity?: string): CaRefusal => ({
    kind: 'refuse',
    reason,
    status,
    message,
    node: caller.node,
    caller: caller.caller,
    ...(identity === undefined ? {} : { identity }),
  });
  const invalid = (message: string, identity?: string): CaRefusal => refuse('invalid-request', grpc.status.INVALID_ARGUMENT, message, identity);

  let csr;
  try {
    csr = readCsr(request.csr);
  } catch (error) {
    return invalid(error instanceof InvalidCsr ? error.message : `invalid certificate signing request: ${String(error)}`);
  }
  const impersonated = structString(request.metadata, IMPERSONATED_IDENTITY_KEY);
  if (impersonated === null) return invalid(`metadata field ${IMPERSONATED_IDENTITY_KEY} must be a string SPIFFE ID`);
  const [csrIdentity, ...extra] = csr.uriSans;
  if (csrIdentity === undefined || extra.length > 0 || csr.dnsNames.length > 0 || csr.ipAddresses.length > 0) {
    const sans = [...csr.uriSans, ...csr.dnsNames, ...csr.ipAddresses];
    return invalid(`the CSR must carry exactly one URI SAN (a SPIFFE ID) and no other SAN; it has [${sans.join(', ')}]`, impersonated);
  }
  const requested = impersonated ?? csrIdentity;
  if (csrIdentity !== requested) {
    return refuse('identity-mismatch', grpc.status.PERMISSION_DENIED, `CSR identity ${csrIdentity} does not match requested identity ${requested}`, requested);
  }
  let identity: SpiffeId;
  try {
    identity = parseSpiffeId(requested);
  } catch (error) {
    return invalid(error instanceof Error ? error.message : String(error), requested);
  }
  if (parseSpiffeIdParts(identity).trustDomain !== limits.trustDomain) {
    return refuse(
      'foreign-trust-domain',
      grpc.status.PERMISSION_DENIED,
      `identity ${requested} is outside this mesh's trust domain ${limits.trustDomain}`,
      requested,
    );
  }
  if (caller.identity !== undefined && identity !== caller.identity) {
    return refuse('not-own-identity', grpc.status.PERMISSION_DENIED, `${caller.caller} may obtain only its own identity ${caller.identity}, not ${identity}`, requested);
  }
  const asked = Number(request.validity_duration);
  const wanted = Number.isFinite(asked) && asked > 0 ? Math.floor(asked) : limits.defaultTtlSeconds;
  return {
    kind: 'issue',
    identity,
    publicKeyPem: csr.publicKeyPem,
    ttlSeconds: Math.min(wanted, limits.maxTtlSeconds),
  };
}
