// SPIFFE IDs of mesh workloads (spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>), parsed once at the edge.

/** A string known to be a well-formed workload SPIFFE ID. Only `parseSpiffeId`/`spiffeIdFor` make one. */
export type SpiffeId = string & { readonly __brand: 'SpiffeId' };

export interface SpiffeIdParts {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export class InvalidSpiffeId extends Error {
  readonly code = 'INVALID_SPIFFE_ID' as const;
  constructor(readonly input: string, reason: string) {
    super(`invalid SPIFFE ID ${JSON.stringify(input)}: ${reason} (expected spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>)`);
    this.name = 'InvalidSpiffeId';
  }
}

// Trust domains are DNS-like (SPIFFE spec: lowercase letters, digits, '.', '-', '_').
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
// Kubernetes namespaces and service accounts are DNS-1123 labels/subdomains; '_' and uppercase never occur.
const PATH_SEGMENT = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

export function parseSpiffeId(input: string): SpiffeId {
  return spiffeParts(input).id;
}

/** Splits a SPIFFE ID into its parts, throwing `InvalidSpiffeId` when it is not a workload identity. */
export function parseSpiffeIdParts(input: string): SpiffeIdParts {
  const { trustDomain, namespace, serviceAccount } = spiffeParts(input);
  return { trustDomain, namespace, serviceAccount };
}

export function spiffeIdFor(trustDomain: string, namespace: string, serviceAccount: string): SpiffeId {
  return parseSpiffeId(`spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`);
}

/** True when `input` parses as a workload SPIFFE ID. */
export function isSpiffeId(input: string): input is SpiffeId {
  try {
    spiffeParts(input);
    return true;
  } catch {
    return false;
  }
}

function spiffeParts(input: string): SpiffeIdParts & { id: SpiffeId } {
  const prefix = 'spiffe://';
  if (!input.startsWith(prefix)) throw new InvalidSpiffeId(input, 'it does not start with spiffe://');
  const rest = input.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) throw new InvalidSpiffeId(input, 'the trust domain or the path is missing');
  const trustDomain = rest.slice(0, slash);
  if (!TRUST_DOMAIN.test(trustDomain) || trustDomain.length > 255) {
    throw new InvalidSpiffeId(input, `trust domain ${JSON.stringify(trustDomain)} may hold only lowercase letters, digits, '.', '-' and '_'`);
  }
  const segments = rest.slice(slash + 1).split('/');
  if (segments.length !== 4 || segments[0] !== 'ns' || segments[2] !== 'sa') {
    throw new InvalidSpiffeId(input, 'the path is not /ns/<namespace>/sa/<service-account>');
  }
  const namespace = segments[1] ?? '';
  const serviceAccount = segments[3] ?? '';
  if (!PATH_SEGMENT.test(namespace)) throw new InvalidSpiffeId(input, `namespace ${JSON.stringify(namespace)} is not a valid Kubernetes name`);
  if (!PATH_SEGMENT.test(serviceAccount)) {
    throw new InvalidSpiffeId(input, `service account ${JSON.stringify(serviceAccount)} is not a valid Kubernetes name`);
  }
  return { trustDomain, namespace, serviceAccount, id: input as SpiffeId };
}
