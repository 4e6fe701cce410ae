// The error an inbound edge raises when L4 authorization refuses a connection, carrying who was refused and why.
import type { AuthzConnection, AuthzDecision } from './evaluate';

type Denial = Extract<AuthzDecision, { allowed: false }>;

function describeSource(conn: AuthzConnection): string {
  const id = conn.sourceIdentity;
  return id === undefined ? `${conn.sourceIp} (plaintext)` : `${conn.sourceIp} (spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount})`;
}

/** A connection refused by an AuthorizationPolicy (or a PeerAuthentication converted to one). */
export class PolicyDeniedError extends Error {
  readonly code = 'POLICY_DENIED' as const;
  /** "ns/name" of the DENY policy that matched; undefined when the connection matched no ALLOW policy. */
  readonly policy: string | undefined;

  constructor(
    readonly connection: AuthzConnection,
    readonly decision: Denial,
  ) {
    const to = `${connection.destinationIp}:${connection.destinationPort} in namespace ${connection.destinationWorkload.namespace}`;
    super(`connection from ${describeSource(connection)} to ${to} refused: ${decision.reason}`);
    this.name = 'PolicyDeniedError';
    this.policy = decision.policy;
  }
}
