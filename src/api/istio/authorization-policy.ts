// security.istio.io AuthorizationPolicy: who may reach a workload, service or waypoint, and with which requests.

import { isCidr, isIpAddress } from '../formats';
import type { KindDefinition } from '../kind';
import type { Resource } from '../resource';
import { custom, describeValue, enumOf, list, object, required, str, type Cursor, type Schema } from '../schema';
import { suggestName } from '../suggest';
import { checkTargetNamespace, policyTargetReference, workloadSelector, type PolicyTargetReference, type WorkloadSelector } from './common';

export type AuthorizationAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

export interface AuthorizationSource {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  serviceAccounts?: string[];
  notServiceAccounts?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
}

export interface AuthorizationOperation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}

export interface AuthorizationCondition {
  key: string;
  values?: string[];
  notValues?: string[];
}

export interface AuthorizationRule {
  from?: { source: AuthorizationSource }[];
  to?: { operation: AuthorizationOperation }[];
  when?: AuthorizationCondition[];
}

export interface AuthorizationPolicySpec {
  selector?: WorkloadSelector;
  targetRef?: PolicyTargetReference;
  targetRefs?: PolicyTargetReference[];
  /** ALLOW when omitted. */
  action?: AuthorizationAction;
  provider?: { name: string };
  /** Omitted or empty with ALLOW: the policy matches nothing, so it denies everything it selects. */
  rules?: AuthorizationRule[];
}

export type AuthorizationPolicy = Resource<AuthorizationPolicySpec>;

const nonEmptyValues = (): Schema => list(str({ nonEmpty: true }));

const addressValues = (): Schema =>
  list(str({ format: (s) => (isIpAddress(s) || isCidr(s) ? undefined : `${JSON.stringify(s)} is not a valid IP address or CIDR`) }));

/** Ports are strings in this API; a bare YAML number is the usual slip, so say how to write it. */
const portValues = (): Schema =>
  list(
    custom((value, at) => {
      if (typeof value === 'number') return at.fail(`must be a string (write "${value}")`);
      if (typeof value !== 'string') return at.fail(`must be a string (got ${describeValue(value)})`);
      if (!/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > 65535) at.fail(`${JSON.stringify(value)} is not a port number (1-65535)`);
    }),
  );

const SOURCE_FIELDS = {
  principals: nonEmptyValues(),
  notPrincipals: nonEmptyValues(),
  requestPrincipals: nonEmptyValues(),
  notRequestPrincipals: nonEmptyValues(),
  namespaces: nonEmptyValues(),
  notNamespaces: nonEmptyValues(),
  serviceAccounts: nonEmptyValues(),
  notServiceAccounts: nonEmptyValues(),
  ipBlocks: addressValues(),
  notIpBlocks: addressValues(),
  remoteIpBlocks: addressValues(),
  notRemoteIpBlocks: addressValues(),
};

const OPERATION_FIELDS = {
  hosts: nonEmptyValues(),
  notHosts: nonEmptyValues(),
  ports: portValues(),
  notPorts: portValues(),
  methods: nonEmptyValues(),
  notMethods: nonEmptyValues(),
  paths: nonEmptyValues(),
  notPaths: nonEmptyValues(),
};

/** A source or operation with no field would match everything, which Istio refuses as a likely mistake. */
function notEmptyObject(what: string) {
  return (value: Record<string, unknown>, at: Cursor): void => {
    if (Object.keys(value).length === 0) at.fail(`${what} must not be empty`);
  };
}

/** Condition keys Istio understands; bracketed ones take a name, e.g. request.headers[x-user]. */
export const CONDITION_KEYS = [
  'request.headers[<name>]',
  'source.ip',
  'remote.ip',
  'source.namespace',
  'source.principal',
  'source.serviceAccount',
  'request.auth.principal',
  'request.auth.audiences',
  'request.auth.presenter',
  'request.auth.claims[<name>]',
  'destination.ip',
  'destination.port',
  'connection.sni',
  'experimental.*',
] as const;

const PLAIN_KEYS = CONDITION_KEYS.filter((k) => !k.includes('[') && !k.includes('*'));

export function isConditionKey(key: string): boolean {
  if ((PLAIN_KEYS as readonly string[]).includes(key)) return true;
  if (/^request\.headers\[[^\][]+\]$/.test(key)) return true;
  if (/^request\.auth\.claims(\[[^\][]+\])+$/.test(key)) return true;
  return /^experimental\.[^.]/.test(key);
}

function checkConditionValues(cond: AuthorizationCondition, at: Cursor): void {
  for (const field of ['values', 'notValues'] as const) {
    (cond[field] ?? []).forEach((v, i) => {
      const vat = at.at(field).at(i);
      if (['source.ip', 'remote.ip', 'destination.ip'].includes(cond.key) && !isIpAddress(v) && !isCidr(v)) {
        vat.fail(`${JSON.stringify(v)} is not a valid IP address or CIDR (required by ${cond.key})`);
      } else if (cond.key === 'destination.port' && (!/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > 65535)) {
        vat.fail(`${JSON.stringify(v)} is not a port number (1-65535)`);
      }
    });
  }
}

const condition = object<AuthorizationCondition>(
  {
    key: required(
      str({
        format: (key) => {
          if (isConditionKey(key)) return undefined;
          const guess = suggestName(key, PLAIN_KEYS);
          const hint = guess === undefined ? '' : ` (did you mean ${JSON.stringify(guess)}?)`;
          return `unknown condition key ${JSON.stringify(key)}${hint}; supported: ${CONDITION_KEYS.join(', ')}`;
        },
      }),
    ),
    values: nonEmptyValues(),
    notValues: nonEmptyValues(),
  },
  {
    refine: (cond, at) => {
      if ((cond.values ?? []).length === 0 && (cond.notValues ?? []).length === 0) at.fail(`values or notValues must be set for ${cond.key}`);
      else checkConditionValues(cond, at);
    },
  },
);

const rule = object({
  from: list(object({ source: required(object(SOURCE_FIELDS, { refine: notEmptyObject('source') })) }), { minItems: 1 }),
  to: list(object({ operation: required(object(OPERATION_FIELDS, { refine: notEmptyObject('operation') })) }), { minItems: 1 }),
  when: list(condition, { minItems: 1 }),
});

function checkPolicy(r: Resource, at: Cursor): void {
  const spec = (r.spec ?? {}) as AuthorizationPolicySpec;
  const sat = at.at('spec');
  const action = spec.action ?? 'ALLOW';
  if (action === 'CUSTOM' && spec.provider === undefined) sat.failMissing('provider');
  if (action !== 'CUSTOM' && spec.provider !== undefined) sat.at('provider').fail(`is only allowed with action CUSTOM (action is ${action})`);
  if (spec.targetRef !== undefined) checkTargetNamespace(r, spec.targetRef, sat.at('targetRef'));
  spec.targetRefs?.forEach((ref, i) => checkTargetNamespace(r, ref, sat.at('targetRefs').at(i)));
}

export const authorizationPolicySpecSchema = object<AuthorizationPolicySpec>(
  {
    selector: workloadSelector(),
    targetRef: policyTargetReference(),
    targetRefs: list(policyTargetReference(), { minItems: 1 }),
    action: enumOf(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM']),
    provider: object({ name: required(str({ nonEmpty: true })) }),
    rules: list(rule),
  },
  { atMostOne: [['selector', 'targetRef', 'targetRefs']] },
);

export const authorizationPolicyKind: KindDefinition = {
  group: 'security.istio.io',
  kind: 'AuthorizationPolicy',
  versions: ['v1', 'v1beta1'],
  namespaced: true,
  plural: 'authorizationpolicies',
  singular: 'authorizationpolicy',
  shortNames: ['ap'],
  nameFormat: 'dns-1123-subdomain',
  fields: { spec: authorizationPolicySpecSchema },
  refine: checkPolicy,
};
