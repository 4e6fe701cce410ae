// Decides which Pods the Deployments need (Recreate strategy): pure, so the runtime only applies its plan to the store.
import { createHash, randomInt } from 'node:crypto';
import type { Resource } from '../api';
import { resourceKey } from '../api';
import type { DeploymentSpec, PodSpec } from '../api';

export const SOURCE_DIR_ANNOTATION = 'local.ambit.io/source-dir';
export const TEMPLATE_HASH_LABEL = 'pod-template-hash';

export interface DeploymentPlan {
  readonly create: readonly Resource<PodSpec>[];
  readonly deleteKeys: readonly string[];
}

const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function randomSuffix(): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)];
  return suffix;
}

/** JSON with object keys sorted, so the order keys were written in never changes a hash. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, v]) => `${JSON.stringify(key)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function templateHash(spec: DeploymentSpec): string {
  return createHash('sha256').update(canonicalJson(spec.template)).digest('hex').slice(0, 10);
}

function ownerOf(pod: Resource): { kind: string; uid: string } | undefined {
  const owner = pod.metadata.ownerReferences?.find((ref) => ref.controller);
  return owner ? { kind: owner.kind, uid: owner.uid } : undefined;
}

/** Pods to create and delete so that each Deployment runs `replicas` pods of its current template, and orphans go away. */
export function planDeployments(objects: ReadonlyMap<string, Resource>, newSuffix: () => string = randomSuffix): DeploymentPlan {
  const deployments = new Map<string, Resource<DeploymentSpec>>();
  for (const object of objects.values()) {
    if (object.kind === 'Deployment' && object.metadata.uid) deployments.set(object.metadata.uid, object as Resource<DeploymentSpec>);
  }
  const owned = new Map<string, Resource[]>();
  const deleteKeys: string[] = [];
  for (const object of objects.values()) {
    if (object.kind !== 'Pod') continue;
    const owner = ownerOf(object);
    if (!owner || owner.kind !== 'Deployment') continue;
    if (!deployments.has(owner.uid)) {
      deleteKeys.push(resourceKey(object));
      continue;
    }
    owned.set(owner.uid, [...(owned.get(owner.uid) ?? []), object]);
  }
  const create: Resource<PodSpec>[] = [];
  for (const [uid, deployment] of deployments) {
    const spec = deployment.spec as DeploymentSpec;
    const hash = templateHash(spec);
    const pods = (owned.get(uid) ?? []).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const current = pods.filter((pod) => pod.metadata.labels?.[TEMPLATE_HASH_LABEL] === hash);
    for (const stale of pods.filter((pod) => !current.includes(pod))) deleteKeys.push(resourceKey(stale));
    const replicas = spec.replicas ?? 1;
    for (const extra of current.slice(replicas)) deleteKeys.push(resourceKey(extra));
    for (let i = current.length; i < replicas; i++) create.push(podFor(deployment, spec, hash, newSuffix()));
  }
  return { create, deleteKeys };
}

function podFor(deployment: Resource<DeploymentSpec>, spec: DeploymentSpec, hash: string, suffix: string): Resource<PodSpec> {
  const template = spec.template;
  const annotations = { ...(template.metadata?.annotations ?? {}) };
  const sourceDir = deployment.metadata.annotations?.[SOURCE_DIR_ANNOTATION];
  if (sourceDir && !annotations[SOURCE_DIR_ANNOTATION]) annotations[SOURCE_DIR_ANNOTATION] = sourceDir;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${deployment.metadata.name}-${hash}-${suffix}`,
      namespace: deployment.metadata.namespace,
      labels: { ...(template.metadata?.labels ?? {}), [TEMPLATE_HASH_LABEL]: hash },
      annotations,
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name, uid: deployment.metadata.uid as string, controller: true, blockOwnerDeletion: true }],
    },
    spec: structuredClone(template.spec) as PodSpec,
  };
}
