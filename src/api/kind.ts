// What ambit knows about one kind: its API group and versions, names on the command line, and its schema.

import type { NameFormat } from './metadata';
import type { Resource } from './resource';
import type { Cursor, FieldDefinitions } from './schema';

export interface KindDefinition {
  /** API group; '' for the core group ("v1"). */
  readonly group: string;
  readonly kind: string;
  /** Served versions, preferred first. */
  readonly versions: readonly string[];
  readonly namespaced: boolean;
  /** Lower-case plural, singular and short names, as `kubectl get` accepts them. */
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly nameFormat: NameFormat;
  /** Top-level fields besides apiVersion, kind, metadata and status (usually just `spec`). */
  readonly fields: FieldDefinitions;
  /** Rules spanning metadata and spec, run once every field is valid. */
  readonly refine?: (resource: Resource, at: Cursor) => void;
  /** Fills in defaults on a validated copy (namespace defaulting is done for every namespaced kind). */
  readonly applyDefaults?: (resource: Resource) => void;
}

/** A kind as the registry serves it. */
export interface KindInfo extends KindDefinition {
  /** "apps/v1", "v1", "security.istio.io/v1beta1", preferred first. */
  readonly apiVersions: readonly string[];
}

export function apiVersionsOf(def: KindDefinition): string[] {
  return def.versions.map((v) => (def.group === '' ? v : `${def.group}/${v}`));
}
