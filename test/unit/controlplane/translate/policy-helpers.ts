// Loads Istio policy YAML through the real manifest parser, so translate tests start from validated resources.
import { parseManifests, type AuthorizationPolicy, type PeerAuthentication } from '../../../../src/api';

function load(yaml: string): unknown[] {
  const { resources, errors } = parseManifests(yaml, 'policy.yaml');
  if (errors.length > 0) throw new Error(`test YAML is invalid: ${errors.map((e) => e.message).join('; ')}`);
  return resources.map((r) => r.resource);
}

export function authorizationPolicies(yaml: string): AuthorizationPolicy[] {
  return load(yaml) as AuthorizationPolicy[];
}

export function authorizationPolicy(yaml: string): AuthorizationPolicy {
  const [first] = authorizationPolicies(yaml);
  return first;
}

export function peerAuthentications(yaml: string): PeerAuthentication[] {
  return load(yaml) as PeerAuthentication[];
}

/** An AuthorizationPolicy document for `namespace`/`name` with `spec` given as YAML lines (indented by 2). */
export function ap(namespace: string, name: string, spec: string, annotations = ''): string {
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ${name}
  namespace: ${namespace}
${annotations === '' ? '' : `  annotations:\n${annotations}\n`}spec:
${spec}
---
`;
}

/** A PeerAuthentication document; `created` orders policies the way creationTimestamp does in a cluster. */
export function pa(namespace: string, name: string, spec: string, created = '2024-01-01T00:00:00Z'): string {
  return `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: ${name}
  namespace: ${namespace}
  creationTimestamp: "${created}"
spec:
${spec}
---
`;
}
