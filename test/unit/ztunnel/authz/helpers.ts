// Builders for decoded istio.security.Authorization messages and connections, shared by the authz tests.
import type { Authorization, AuthorizationAddress, Match, StringMatch } from '../../../../src/xds';
import type { AuthzConnection, SourceIdentity } from '../../../../src/ztunnel/authz';
import { parseIp } from '../../../../src/ztunnel/authz';

/** A decoded Match (every repeated field present, as the codec returns it) with the given fields set. */
export function match(fields: Partial<Match>): Match {
  return {
    namespaces: [],
    notNamespaces: [],
    principals: [],
    notPrincipals: [],
    sourceIps: [],
    notSourceIps: [],
    destinationIps: [],
    notDestinationIps: [],
    destinationPorts: [],
    notDestinationPorts: [],
    serviceAccounts: [],
    notServiceAccounts: [],
    ...fields,
  };
}

export const exact = (value: string): StringMatch => ({ exact: value });
export const prefix = (value: string): StringMatch => ({ prefix: value });
export const suffix = (value: string): StringMatch => ({ suffix: value });
export const presence = (): StringMatch => ({ presence: {} });

/** "10.0.0.0/8" (or a bare address) as the xDS Address bytes the control plane sends. */
export function cidr(text: string): AuthorizationAddress {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (ip === undefined) throw new Error(`bad CIDR in test: ${text}`);
  const bytes = ip.words.flatMap((w) => [w >>> 24, (w >>> 16) & 0xff, (w >>> 8) & 0xff, w & 0xff]);
  return { address: Uint8Array.from(bytes), length: slash < 0 ? bytes.length * 8 : Number(text.slice(slash + 1)) };
}

/** rules[rule][clause][match], like ztunnel's Vec<Vec<Vec<RbacMatch>>>. */
export function policy(
  key: string,
  action: Authorization['action'],
  rules: Match[][][],
  extra: Partial<Pick<Authorization, 'scope' | 'dryRun'>> = {},
): Authorization {
  const [namespace, name] = key.split('/');
  return {
    name,
    namespace,
    scope: extra.scope ?? 'NAMESPACE',
    action,
    dryRun: extra.dryRun ?? false,
    rules: rules.map((clauses) => ({ clauses: clauses.map((matches) => ({ matches })) })),
  };
}

export function identity(namespace: string, serviceAccount: string, trustDomain = 'cluster.local'): SourceIdentity {
  return { trustDomain, namespace, serviceAccount };
}

/** A connection to 10.0.1.1:8080 in namespace "app" from 10.0.0.5, overridable field by field. */
export function conn(overrides: Partial<AuthzConnection> & { policies?: string[]; namespace?: string } = {}): AuthzConnection {
  const { policies, namespace, ...rest } = overrides;
  return {
    sourceIp: '10.0.0.5',
    sourceIdentity: identity('client', 'sleep'),
    destinationIp: '10.0.1.1',
    destinationPort: 8080,
    destinationWorkload: { namespace: namespace ?? 'app', authorizationPolicies: policies ?? [] },
    ...rest,
  };
}

export const plaintext = (overrides: Partial<AuthzConnection> = {}): AuthzConnection => conn({ ...overrides, sourceIdentity: undefined });
