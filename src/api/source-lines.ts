// Remembers, for resources read from YAML, the line of any field inside them, without adding anything to the resource itself.

import type { LocatedResource, Resource } from './resource';
import type { FieldPath } from './schema';

const lookups = new WeakMap<Resource, (path: FieldPath) => number>();

/** Called by the loader for each resource it returns. */
export function rememberFieldLines(resource: Resource, lineOf: (path: FieldPath) => number): void {
  lookups.set(resource, lineOf);
}

/**
 * The line a field of `located` was written on; for fields filled in by
 * defaulting, the line of the nearest written parent. Falls back to the
 * object's own line for resources that did not come from the loader (or were
 * copied since).
 */
export function fieldLine(located: LocatedResource, path: FieldPath): number {
  const lookup = lookups.get(located.resource);
  return lookup === undefined ? located.source.line : lookup(path);
}
