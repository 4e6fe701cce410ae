// RBAC from daemonset/ as data: which rules a service account is bound to, and whether one grants a recorded API call.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { RequestRecord } from '../fakes/kube-apiserver';
import { REPO_ROOT } from './repo';

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface RbacObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: PolicyRule[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

/** A rule with where it applies: everywhere (ClusterRole) or in one namespace (Role). */
export interface Grant {
  readonly rule: PolicyRule;
  readonly namespace?: string;
  readonly from: string;
}

/** Every rule bound to serviceAccount in `file` (under daemonset/), with the namespace a RoleBinding limits it to. */
export function serviceAccountGrants(file: string, namespace: string, serviceAccount: string): Grant[] {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'daemonset', file), 'utf8');
  const objects = YAML.parseAllDocuments(text).map((document) => document.toJS() as RbacObject);
  const boundToUs = (binding: RbacObject) => binding.subjects?.some((subject) => subject.kind === 'ServiceAccount' && subject.name === serviceAccount && subject.namespace === namespace);
  const grants: Grant[] = [];
  for (const binding of objects.filter((object) => (object.kind === 'ClusterRoleBinding' || object.kind === 'RoleBinding') && boundToUs(object))) {
    const role = objects.find((object) => object.kind === binding.roleRef?.kind && object.metadata.name === binding.roleRef?.name && (object.kind === 'ClusterRole' || object.metadata.namespace === binding.metadata.namespace));
    if (!role) throw new Error(`${binding.kind} ${binding.metadata.name} refers to a role not in the file`);
    for (const rule of role.rules ?? []) grants.push({ rule, namespace: binding.kind === 'RoleBinding' ? binding.metadata.namespace : undefined, from: `${role.kind} ${role.metadata.name}` });
  }
  return grants;
}

export function resourceOf(call: RequestRecord): string {
  return call.subresource ? `${call.resource}/${call.subresource}` : call.resource ?? '';
}

export function grants(grant: Grant, call: RequestRecord, verb: string): boolean {
  const { rule } = grant;
  if (grant.namespace !== undefined && call.namespace !== grant.namespace) return false;
  if (!(rule.apiGroups ?? []).includes(call.group ?? '')) return false;
  if (!(rule.resources ?? []).includes(resourceOf(call))) return false;
  if (!rule.verbs.includes(verb)) return false;
  // resourceNames can only match requests that name an object (never create, list or watch).
  if (rule.resourceNames && (call.name === undefined || !rule.resourceNames.includes(call.name))) return false;
  return true;
}

