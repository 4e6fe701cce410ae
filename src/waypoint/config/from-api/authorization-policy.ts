// AuthorizationPolicy -> the document's L7 policies: which attach to this waypoint (targetRefs to its Gateway or a served Service or ServiceEntry, or a selector naming its pods) and their rules.
import type { AuthorizationPolicy, AuthorizationRule, PolicyTargetReference } from '../../../api';
import type { AuthorizationDoc, AuthorizationRuleDoc, PolicyAttachmentDoc } from '../types';

export const DRY_RUN_ANNOTATION = 'istio.io/dry-run';
export const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const NETWORKING_GROUP = 'networking.istio.io';
export const WAYPOINT_GATEWAY_CLASS = 'istio-waypoint';

/** The labels Istio puts on a waypoint's pods (the first is current, the second the pre-1.22 name Istio still reads). */
export function waypointPodLabels(gatewayName: string): Record<string, string> {
  return { 'gateway.networking.k8s.io/gateway-name': gatewayName, 'istio.io/gateway-name': gatewayName };
}

export interface PolicyScope {
  readonly gatewayName: string;
  readonly gatewayNamespace: string;
  readonly rootNamespace: string;
  /** Served objects by "Kind/namespace/name" (Service or ServiceEntry) -> their hostnames. */
  readonly services: ReadonlyMap<string, readonly string[]>;
}

function targetsOf(spec: AuthorizationPolicy['spec']): PolicyTargetReference[] {
  if (spec?.targetRefs?.length) return spec.targetRefs;
  return spec?.targetRef ? [spec.targetRef] : [];
}

const isCore = (group: string | undefined): boolean => group === undefined || group === '' || group === 'core';

/**
 * Where the policy attaches at this waypoint, if anywhere. Following Istio (pilot WorkloadPolicyMatcher):
 * targetRefs to this Gateway (same namespace), to the istio-waypoint GatewayClass (root namespace only) or to a
 * served Service (same namespace) attach; a policy without targetRefs attaches only when it has a selector naming
 * this waypoint's pods, and then at HBONE termination, as Istio's connect_terminate listener applies it.
 */
export function attachmentsOf(policy: AuthorizationPolicy, scope: PolicyScope): PolicyAttachmentDoc[] {
  const namespace = policy.metadata.namespace ?? 'default';
  const targets = targetsOf(policy.spec);
  if (targets.length === 0) {
    const selector = policy.spec?.selector?.matchLabels;
    if (selector === undefined || Object.keys(selector).length === 0) return [];
    if (namespace !== scope.gatewayNamespace && namespace !== scope.rootNamespace) return [];
    const labels = waypointPodLabels(scope.gatewayName);
    const selected = Object.entries(selector).every(([k, v]) => labels[k as keyof typeof labels] === v);
    return selected ? [{ kind: 'termination' }] : [];
  }
  const out: PolicyAttachmentDoc[] = [];
  for (const ref of targets) {
    const refNamespace = ref.namespace || namespace;
    if (refNamespace !== namespace) continue;
    if (ref.group === GATEWAY_GROUP && ref.kind === 'Gateway' && ref.name === scope.gatewayName && namespace === scope.gatewayNamespace) {
      out.push({ kind: 'gateway' });
    } else if (ref.group === GATEWAY_GROUP && ref.kind === 'GatewayClass' && ref.name === WAYPOINT_GATEWAY_CLASS && namespace === scope.rootNamespace) {
      out.push({ kind: 'gateway' });
    } else if (isCore(ref.group) && ref.kind === 'Service') {
      for (const hostname of scope.services.get(`Service/${namespace}/${ref.name}`) ?? []) out.push({ kind: 'service', hostname });
    } else if (ref.group === NETWORKING_GROUP && ref.kind === 'ServiceEntry') {
      for (const hostname of scope.services.get(`ServiceEntry/${namespace}/${ref.name}`) ?? []) out.push({ kind: 'service', hostname });
    }
  }
  const unique = new Map(out.map((a) => [JSON.stringify(a), a]));
  return [...unique.values()];
}

/** Go's strconv.ParseBool, which istiod uses for the dry-run annotation. */
function parseGoBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

function qualifyServiceAccounts(values: readonly string[] | undefined, namespace: string): string[] | undefined {
  return values?.map((v) => (v.includes('/') ? v : `${namespace}/${v}`));
}

function convertRule(rule: AuthorizationRule, namespace: string): AuthorizationRuleDoc {
  const out: { from?: AuthorizationRuleDoc['from']; to?: AuthorizationRuleDoc['to']; when?: AuthorizationRuleDoc['when'] } = {};
  if (rule.from) {
    out.from = rule.from.map(({ source }) => {
      const copy: Record<string, string[]> = { ...(source as Record<string, string[]>) };
      const sa = qualifyServiceAccounts(source.serviceAccounts, namespace);
      const notSa = qualifyServiceAccounts(source.notServiceAccounts, namespace);
      if (sa) copy.serviceAccounts = sa;
      if (notSa) copy.notServiceAccounts = notSa;
      return copy;
    });
  }
  if (rule.to) out.to = rule.to.map(({ operation }) => ({ ...operation }));
  if (rule.when) out.when = rule.when.map((c) => ({ key: c.key, ...(c.values ? { values: [...c.values] } : {}), ...(c.notValues ? { notValues: [...c.notValues] } : {}) }));
  return out;
}

/** The policy as enforced at each of its attachments here; CUSTOM is out of scope and comes back as a warning. */
export function authorizationDocs(policy: AuthorizationPolicy, scope: PolicyScope): { docs: AuthorizationDoc[]; warnings: string[] } {
  const namespace = policy.metadata.namespace ?? 'default';
  const label = `AuthorizationPolicy ${namespace}/${policy.metadata.name}`;
  const attachments = attachmentsOf(policy, scope);
  if (attachments.length === 0) return { docs: [], warnings: [] };
  const warnings: string[] = [];
  const action = policy.spec?.action ?? 'ALLOW';
  if (action === 'CUSTOM') {
    return { docs: [], warnings: [`${label}: action CUSTOM (external authorization) is not supported by ambit's waypoint; the policy is not enforced.`] };
  }
  const annotation = policy.metadata.annotations?.[DRY_RUN_ANNOTATION];
  const parsed = annotation === undefined || annotation === '' ? false : parseGoBool(annotation);
  if (parsed === undefined) warnings.push(`${label}: annotation ${DRY_RUN_ANNOTATION}=${JSON.stringify(annotation)} is not a boolean; the policy is enforced.`);
  const rules = policy.spec?.rules?.map((rule) => convertRule(rule, namespace));
  const docs = attachments.map((attachment) => ({
    name: `${namespace}/${policy.metadata.name}`,
    namespace,
    action,
    dryRun: parsed ?? false,
    attachment,
    ...(rules !== undefined && rules.length > 0 ? { rules } : {}),
  }));
  return { docs, warnings };
}
