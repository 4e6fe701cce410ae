// Schemas shared by the Istio kinds: workload selectors, policy target references, string matches, percentages, ports, header operations.

import { istioHost, re2 } from '../formats';
import { labelsSchema } from '../metadata';
import type { Resource } from '../resource';
import { list, mapOf, num, object, portNumber, required, str, type Cursor, type Schema } from '../schema';

export interface WorkloadSelector {
  matchLabels?: Record<string, string>;
}

export interface PolicyTargetReference {
  group?: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

export interface Percent {
  value: number;
}

export interface PortSelector {
  number: number;
}

export interface HeaderOperations {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

export interface Headers {
  request?: HeaderOperations;
  response?: HeaderOperations;
}

export const ISTIO_NETWORKING_GROUP = 'networking.istio.io';
export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

export function workloadSelector(): Schema {
  return object({ matchLabels: labelsSchema() });
}

/** Kinds an Istio policy `targetRef(s)` may name: (group, kind), core group as ''. */
const POLICY_TARGETS: readonly (readonly [string, string])[] = [
  ['', 'Service'],
  [ISTIO_NETWORKING_GROUP, 'ServiceEntry'],
  [GATEWAY_API_GROUP, 'Gateway'],
  [GATEWAY_API_GROUP, 'GatewayClass'],
];

function describeTarget([group, kind]: readonly [string, string]): string {
  return group === '' ? kind : `${group}/${kind}`;
}

export function policyTargetReference(): Schema {
  return object<PolicyTargetReference>(
    {
      group: str(),
      kind: required(str({ nonEmpty: true })),
      name: required(str({ nonEmpty: true })),
      namespace: str(),
    },
    {
      refine: (ref, at) => {
        const group = ref.group ?? '';
        if (!POLICY_TARGETS.some(([g, k]) => (g === group || (g === '' && group === 'core')) && k === ref.kind)) {
          at.fail(`unsupported target ${describeTarget([group, ref.kind])} (supported: ${POLICY_TARGETS.map(describeTarget).join(', ')})`);
        }
      },
    },
  );
}

/** Istio resolves a policy's target only in the policy's own namespace. */
export function checkTargetNamespace(r: Resource, ref: PolicyTargetReference, at: Cursor): void {
  const own = r.metadata.namespace ?? 'default';
  if (ref.namespace !== undefined && ref.namespace !== '' && ref.namespace !== own) {
    at.at('namespace').fail(`cross-namespace references are not supported (the policy is in namespace ${own})`);
  }
}

/** A StringMatch; `allowEmpty` for header and query matches, where `{}` means "present". */
export function stringMatch(options: { allowEmpty: boolean }): Schema {
  return object(
    { exact: str(), prefix: str(), regex: re2() },
    options.allowEmpty ? { atMostOne: [['exact', 'prefix', 'regex']] } : { exactlyOne: [['exact', 'prefix', 'regex']] },
  );
}

export function percent(): Schema {
  return object({ value: required(num({ min: 0, max: 100 })) });
}

export function portSelector(): Schema {
  return object({ number: required(portNumber()) });
}

/** HTTP header names are RFC 7230 tokens. */
export function isHeaderName(s: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(s);
}

export function headerName(): Schema {
  return str({ format: (s) => (isHeaderName(s) ? undefined : `${JSON.stringify(s)} is not a valid HTTP header name`) });
}

function headerOperations(): Schema {
  return object({ set: mapOf(str(), headerName()), add: mapOf(str(), headerName()), remove: list(headerName()) });
}

export function headers(): Schema {
  return object({ request: headerOperations(), response: headerOperations() });
}

/** `exportTo`: "." (this namespace), "*" (all) or namespace names. */
export function exportTo(): Schema {
  return list(str({ format: (s) => (s === '.' || s === '*' || /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s) ? undefined : `${JSON.stringify(s)} is not ".", "*" or a namespace name`) }));
}

export function hostList(options: { minItems?: number } = {}): Schema {
  return list(istioHost(), options);
}

