// What the fake API server does to objects on create, update, patch and delete: the real server's rules that clients can observe.
import { randomBytes, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import YAML from 'yaml';
import type { KubeObject, ObjectStore } from './object-store';
import { apiVersionOf, type ApiResourceType } from './resource-types';

/** A refusal the server answers with a Status object and this HTTP code. */
export class ApiError extends Error {
  readonly code = 'API_ERROR';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export function statusBody(error: ApiError): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: error.message, reason: error.reason, code: error.status };
}

/** "pods" for the core group, "leases.coordination.k8s.io" otherwise: how the server names a resource in messages. */
function qualified(type: ApiResourceType): string {
  return type.group === '' ? type.resource : `${type.resource}.${type.group}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7386 JSON merge patch: objects merge, null deletes, everything else (arrays included) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isRecord(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

function rfc3339(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Everything but metadata and status: a change here bumps metadata.generation. */
function specPart(object: KubeObject): Record<string, unknown> {
  const { metadata: _metadata, status: _status, apiVersion: _apiVersion, kind: _kind, ...rest } = object;
  return rest;
}

export type PatchType = 'merge' | 'strategic' | 'apply' | 'json';

export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const type = (contentType ?? '').split(';')[0].trim();
  if (type === 'application/merge-patch+json') return 'merge';
  if (type === 'application/strategic-merge-patch+json') return 'strategic';
  if (type === 'application/apply-patch+yaml') return 'apply';
  if (type === 'application/json-patch+json') return 'json';
  return undefined;
}

export interface WriteOptions {
  readonly fieldManager: string;
  /** How managedFields records the write (an apply that creates is an Apply). */
  readonly operation?: 'Update' | 'Apply';
  /** Present on `/status` writes. */
  readonly subresource?: string;
}

export class ApiRules {
  private nextServiceIp = 10;

  constructor(
    private readonly store: ObjectStore,
    private readonly namespaceType: ApiResourceType,
  ) {}

  create(type: ApiResourceType, namespace: string | undefined, body: unknown, options: WriteOptions): KubeObject {
    const object = this.checkBody(type, body);
    if (object.metadata.resourceVersion) throw new ApiError(500, 'InternalError', 'resourceVersion should not be set on objects to be created');
    if (!object.metadata.name && object.metadata.generateName) object.metadata.name = `${object.metadata.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
    const name = object.metadata.name;
    if (!name) throw new ApiError(422, 'Invalid', `${type.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    this.placeInNamespace(type, object, namespace);
    if (this.store.get(type, object.metadata.namespace, name)) throw new ApiError(409, 'AlreadyExists', `${qualified(type)} "${name}" already exists`);
    object.metadata.uid = randomUUID();
    object.metadata.creationTimestamp = rfc3339();
    if (Object.keys(specPart(object)).length > 0) object.metadata.generation = 1;
    object.metadata.managedFields = [{ manager: options.fieldManager, operation: options.operation ?? 'Update', apiVersion: apiVersionOf(type), time: rfc3339(), fieldsType: 'FieldsV1', fieldsV1: {} }];
    this.defaultOnCreate(type, object);
    return this.store.put(type, object).object;
  }

  update(type: ApiResourceType, namespace: string | undefined, name: string, body: unknown, options: WriteOptions): KubeObject {
    const existing = this.existing(type, namespace, name);
    const object = this.checkBody(type, body);
    if (object.metadata.name !== undefined && object.metadata.name !== name) {
      throw new ApiError(400, 'BadRequest', `the name of the object (${object.metadata.name}) does not match the name on the URL (${name})`);
    }
    const precondition = object.metadata.resourceVersion;
    if (precondition !== undefined && precondition !== '' && precondition !== existing.metadata.resourceVersion) {
      throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(type)} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    return this.store.put(type, this.merged(type, existing, object, options, 'Update')).object;
  }

  /** Returns the stored object and whether an apply created it (which the real server authorizes as `create`). */
  patch(type: ApiResourceType, namespace: string | undefined, name: string, rawBody: string, patchType: PatchType, options: WriteOptions & { force?: boolean }): { object: KubeObject; created: boolean } {
    if (patchType === 'json') throw new ApiError(415, 'UnsupportedMediaType', 'the fake API server does not implement JSON patch; use a merge or apply patch');
    let patch: unknown;
    try {
      patch = patchType === 'apply' ? YAML.parse(rawBody) : JSON.parse(rawBody);
    } catch (error) {
      throw new ApiError(400, 'BadRequest', `error decoding patch: ${(error as Error).message}`);
    }
    if (!isRecord(patch)) throw new ApiError(400, 'BadRequest', 'the patch must be an object');
    const current = this.store.get(type, type.namespaced ? namespace : undefined, name);
    if (patchType === 'apply') {
      if (options.fieldManager === '') throw new ApiError(400, 'BadRequest', 'PATCH requests with apply content type require fieldManager');
      const applied = this.checkBody(type, patch);
      if (applied.metadata.name !== name) throw new ApiError(400, 'BadRequest', `the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`);
      if (!current) {
        if (options.subresource) throw this.notFound(type, name);
        return { object: this.create(type, namespace, { ...applied, metadata: { ...applied.metadata, resourceVersion: undefined } }, { ...options, operation: 'Apply' }), created: true };
      }
      // Apply is approximated as a merge of the applied configuration: enough for clients that own whole objects.
      const next = mergePatch(current, applied) as KubeObject;
      return { object: this.store.put(type, this.merged(type, current, next, options, 'Apply')).object, created: false };
    }
    if (!current) throw this.notFound(type, name);
    const next = mergePatch(current, patch) as KubeObject;
    const precondition = (patch.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
    if (precondition !== undefined && precondition !== current.metadata.resourceVersion) {
      throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(type)} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    return { object: this.store.put(type, this.merged(type, current, next, options, 'Update')).object, created: false };
  }

  /** Deletes an object; dependents (by ownerReference uid) and a namespace's contents go too, as garbage collection would. */
  delete(type: ApiResourceType, namespace: string | undefined, name: string, orphan: boolean): KubeObject {
    const existing = this.existing(type, namespace, name);
    this.store.remove(type, existing.metadata.namespace, name);
    if (type.kind === 'Namespace') {
      for (const { type: childType, object } of this.store.all()) {
        if (object.metadata.namespace === name) this.store.remove(childType, name, object.metadata.name ?? '');
      }
    }
    if (!orphan) this.collectDependents(existing.metadata.uid ?? '');
    return existing;
  }

  private collectDependents(uid: string): void {
    for (const { type, object } of this.store.all()) {
      if (!object.metadata.ownerReferences?.some((reference) => reference.uid === uid)) continue;
      if (!this.store.remove(type, object.metadata.namespace, object.metadata.name ?? '')) continue;
      this.collectDependents(object.metadata.uid ?? '');
    }
  }

  private existing(type: ApiResourceType, namespace: string | undefined, name: string): KubeObject {
    const existing = this.store.get(type, type.namespaced ? namespace : undefined, name);
    if (!existing) throw this.notFound(type, name);
    return existing;
  }

  notFound(type: ApiResourceType, name: string): ApiError {
    return new ApiError(404, 'NotFound', `${qualified(type)} "${name}" not found`);
  }

  private checkBody(type: ApiResourceType, body: unknown): KubeObject {
    if (!isRecord(body) || !isRecord(body.metadata)) throw new ApiError(400, 'BadRequest', 'the object has no metadata');
    const object = structuredClone(body) as KubeObject;
    if (object.kind !== undefined && object.kind !== type.kind) throw new ApiError(400, 'BadRequest', `the API version in the data (${String(object.apiVersion)}) and kind (${object.kind}) do not match ${apiVersionOf(type)} ${type.kind}`);
    object.apiVersion = apiVersionOf(type);
    object.kind = type.kind;
    return object;
  }

  private placeInNamespace(type: ApiResourceType, object: KubeObject, namespace: string | undefined): void {
    if (!type.namespaced) {
      delete object.metadata.namespace;
      return;
    }
    const wanted = namespace ?? object.metadata.namespace;
    if (!wanted) throw new ApiError(400, 'BadRequest', 'a namespaced object needs a namespace');
    if (object.metadata.namespace !== undefined && object.metadata.namespace !== wanted) {
      throw new ApiError(400, 'BadRequest', `the namespace of the provided object does not match the namespace sent on the request`);
    }
    object.metadata.namespace = wanted;
    if (!this.store.get(this.namespaceType, undefined, wanted)) throw new ApiError(404, 'NotFound', `namespaces "${wanted}" not found`);
  }

  private defaultOnCreate(type: ApiResourceType, object: KubeObject): void {
    if (type.statusSubresource) delete object.status;
    if (type.kind === 'Namespace') {
      object.metadata.labels = { ...object.metadata.labels, 'kubernetes.io/metadata.name': object.metadata.name ?? '' };
      object.status = { phase: 'Active' };
    }
    if (type.kind === 'Pod') object.status = { phase: 'Pending' };
    if (type.kind === 'Service') {
      const spec = (isRecord(object.spec) ? object.spec : {}) as Record<string, unknown>;
      spec.type ??= 'ClusterIP';
      if (spec.type !== 'ExternalName' && (spec.clusterIP === undefined || spec.clusterIP === '')) {
        const ip = `10.96.${Math.floor(this.nextServiceIp / 250)}.${(this.nextServiceIp % 250) + 1}`;
        this.nextServiceIp += 1;
        spec.clusterIP = ip;
      }
      if (spec.clusterIP !== undefined) spec.clusterIPs = [spec.clusterIP];
      object.spec = spec;
    }
  }

  /** The stored form of an update: identity fields and (for `/status` or the main resource) the other half kept. */
  private merged(type: ApiResourceType, existing: KubeObject, next: KubeObject, options: WriteOptions, operation: 'Update' | 'Apply'): KubeObject {
    let object: KubeObject;
    if (options.subresource === 'status') object = { ...existing, status: next.status };
    else {
      object = { ...next, apiVersion: apiVersionOf(type), kind: type.kind };
      if (type.statusSubresource) {
        if (existing.status === undefined) delete object.status;
        else object.status = existing.status;
      }
      const spec = (object.spec ?? {}) as Record<string, unknown>;
      const previousSpec = (existing.spec ?? {}) as Record<string, unknown>;
      // The real server keeps allocated ClusterIPs when an update leaves them out.
      if (type.kind === 'Service' && (spec.clusterIP === undefined || spec.clusterIP === '') && previousSpec.clusterIP !== undefined) {
        object.spec = { ...spec, clusterIP: previousSpec.clusterIP, clusterIPs: previousSpec.clusterIPs };
      }
    }
    const metadata = options.subresource === 'status' ? { ...existing.metadata } : { ...next.metadata };
    metadata.name = existing.metadata.name;
    metadata.namespace = existing.metadata.namespace;
    metadata.uid = existing.metadata.uid;
    metadata.creationTimestamp = existing.metadata.creationTimestamp;
    metadata.generation = existing.metadata.generation;
    if (!isDeepStrictEqual(specPart(existing), specPart(object)) && existing.metadata.generation !== undefined) metadata.generation = existing.metadata.generation + 1;
    const managers = ((existing.metadata.managedFields ?? []) as { manager?: string; operation?: string }[]).filter((entry) => !(entry.manager === options.fieldManager && entry.operation === operation));
    metadata.managedFields = [...managers, { manager: options.fieldManager, operation, apiVersion: apiVersionOf(type), time: rfc3339(), fieldsType: 'FieldsV1', fieldsV1: {}, ...(options.subresource ? { subresource: options.subresource } : {}) }];
    object.metadata = metadata;
    return object;
  }
}
