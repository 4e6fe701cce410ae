// What `ambit apply` does to stored state beyond validation: namespaces must exist, ClusterIPs are allocated and kept, status survives.
import net from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import type { LocatedResource, Resource, ServiceEntrySpec } from '../../api';
import { describeObject, kindInfo, resourceKey, serviceEntrySpecVips } from '../../api';
import { allocateClusterIp, ipInCidr } from '../address-plan';
import { readOnly } from './store-draft';

export const SERVICE_CIDR = '10.96.0.0/16';

export class StoreConflict extends Error {
  readonly code = 'STORE_CONFLICT';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly object: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${object}: ${field}: ${reason}`);
  }
}

interface ServiceSpecShape {
  clusterIP?: string;
}

/**
 * ClusterIP -> key of the object holding it: Services, and ServiceEntries whose addresses fall in the service range
 * (a VIP a user gave a ServiceEntry must not be handed to a new Service later).
 */
export function takenClusterIps(objects: ReadonlyMap<string, Resource>): Map<string, string> {
  const taken = new Map<string, string>();
  for (const [key, object] of objects) {
    if (object.kind === 'ServiceEntry') {
      for (const ip of serviceEntrySpecVips(object.spec as ServiceEntrySpec | undefined)) {
        if (net.isIPv4(ip) && ipInCidr(ip, SERVICE_CIDR)) taken.set(ip, key);
      }
      continue;
    }
    const ip = object.kind === 'Service' ? (object.spec as ServiceSpecShape | undefined)?.clusterIP : undefined;
    if (ip && ip !== 'None') taken.set(ip, key);
  }
  return taken;
}

/** Mutates `objects` to hold `resources`; throws StoreConflict (before any change is kept) when one cannot be stored. */
export function prepareApply(
  objects: Map<string, Resource>,
  resources: readonly LocatedResource[],
  revision: number,
  newUid: () => string,
): { key: string; description: string; outcome: 'created' | 'configured' | 'unchanged' }[] {
  const batchNamespaces = new Set(resources.filter((r) => r.resource.kind === 'Namespace').map((r) => r.resource.metadata.name));
  const results: { key: string; description: string; outcome: 'created' | 'configured' | 'unchanged' }[] = [];
  const taken = takenClusterIps(readOnly(objects));
  const staged = new Map<string, Resource>();

  for (const { resource, source } of resources) {
    const key = resourceKey(resource);
    const description = describeObject(resource);
    const conflict = (field: string, reason: string) => new StoreConflict(source.file, source.line, description, field, reason);
    const namespaced = kindInfo(resource.apiVersion, resource.kind)?.namespaced ?? true;
    const namespace = resource.metadata.namespace;
    if (namespaced && namespace && !batchNamespaces.has(namespace) && !objects.has(`Namespace/${namespace}`)) {
      throw conflict('metadata.namespace', `namespace "${namespace}" does not exist; create it first or include it in the same apply`);
    }
    const existing = staged.get(key) ?? objects.get(key);
    const next = structuredClone(resource) as Resource;
    next.metadata = { ...next.metadata };
    if (existing) {
      next.metadata.uid = existing.metadata.uid;
      next.metadata.creationTimestamp = existing.metadata.creationTimestamp;
      if (existing.status !== undefined) next.status = existing.status;
    } else {
      next.metadata.uid = newUid();
      next.metadata.creationTimestamp = new Date().toISOString();
    }
    if (next.kind === 'Service') {
      const spec = (next.spec ?? {}) as ServiceSpecShape;
      const previousIp = (existing?.spec as ServiceSpecShape | undefined)?.clusterIP;
      if (spec.clusterIP === undefined || spec.clusterIP === '') {
        spec.clusterIP = previousIp ?? allocateClusterIp(SERVICE_CIDR, new Set(taken.keys()));
      } else if (previousIp && previousIp !== spec.clusterIP) {
        throw conflict('spec.clusterIP', `field is immutable: it is ${previousIp}`);
      } else if (spec.clusterIP !== 'None') {
        if (!ipInCidr(spec.clusterIP, SERVICE_CIDR)) throw conflict('spec.clusterIP', `${spec.clusterIP} is outside the service range ${SERVICE_CIDR}`);
        const holder = taken.get(spec.clusterIP);
        if (holder && holder !== key) throw conflict('spec.clusterIP', `${spec.clusterIP} is already allocated to ${holder}`);
      }
      if (spec.clusterIP !== 'None') taken.set(spec.clusterIP, key);
      next.spec = spec;
    }
    let outcome: 'created' | 'configured' | 'unchanged' = existing ? 'configured' : 'created';
    if (existing) {
      const comparable = { ...next, metadata: { ...next.metadata, resourceVersion: existing.metadata.resourceVersion, generation: existing.metadata.generation } };
      if (isDeepStrictEqual(comparable, existing)) outcome = 'unchanged';
      else if (!isDeepStrictEqual(next.spec, existing.spec)) next.metadata.generation = (existing.metadata.generation ?? 1) + 1;
      else next.metadata.generation = existing.metadata.generation;
    } else {
      next.metadata.generation = 1;
    }
    if (outcome === 'unchanged') next.metadata.resourceVersion = existing?.metadata.resourceVersion;
    else next.metadata.resourceVersion = String(revision);
    staged.set(key, outcome === 'unchanged' && existing ? existing : next);
    results.push({ key, description, outcome });
  }
  for (const [key, object] of staged) objects.set(key, object);
  return results;
}
