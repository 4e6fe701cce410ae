// Turns what the client library hands out (typed class instances from lists, plain JSON from watches) into frozen model Resources.
import type { Resource } from '../../../api';
import type { WatchedKind } from './watched-kinds';

/** Fields that only bloat memory: server-side-apply bookkeeping and kubectl's copy of the last applied object. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** RFC 3339 as the API server writes it: whole seconds carry no fraction. */
function timestamp(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, 'Z');
}

/** Plain JSON data: Dates become timestamps, undefined fields vanish, class instances become plain objects. */
function plain(value: unknown): unknown {
  if (value instanceof Date) return timestamp(value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value !== 'object' || value === null) return value;
  const result: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field !== undefined) result[key] = plain(field);
  }
  return result;
}

/** The object as the model expects it: apiVersion and kind set (list items lack them), bookkeeping stripped, frozen. */
export function toResource(raw: unknown, kind: WatchedKind): Resource {
  const object = plain(raw) as Resource;
  object.apiVersion = kind.apiVersion;
  object.kind = kind.kind;
  const metadata = { ...(object.metadata ?? { name: '' }) } as Resource['metadata'] & { managedFields?: unknown };
  delete metadata.managedFields;
  if (!kind.namespaced) delete metadata.namespace;
  if (metadata.annotations && LAST_APPLIED in metadata.annotations) {
    const { [LAST_APPLIED]: _dropped, ...annotations } = metadata.annotations;
    metadata.annotations = annotations;
  }
  object.metadata = Object.freeze(metadata);
  return Object.freeze(object);
}
