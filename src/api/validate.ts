// Validates one parsed object against its kind's schema, and fills in defaults on a valid copy.

import { ValidationError } from './errors';
import type { KindInfo } from './kind';
import { objectMetaSchema } from './metadata';
import { allKinds, kindsNamed } from './registry';
import type { LocatedResource, Resource, SourceLocation } from './resource';
import { checkValue, Cursor, describeValue, formatPath, isPlainObject, object, opaque, required, str, type Problem, type Schema, type ValidationMode } from './schema';
import { suggestName } from './suggest';

export interface ValidateOptions {
  /** 'local' (default) rejects what only a real cluster has, such as NodePort Services. */
  mode?: ValidationMode;
}

export interface CheckedResource {
  /** The validated, defaulted copy; undefined when there were problems. */
  resource: Resource | undefined;
  /** How messages name the object ("Deployment bookinfo/reviews-v1"); undefined without a usable kind and name. */
  object: string | undefined;
  problems: Problem[];
}

const schemas = new Map<KindInfo, Schema>();

function schemaFor(info: KindInfo): Schema {
  let schema = schemas.get(info);
  if (schema === undefined) {
    const refine = info.refine;
    schema = object<Resource>(
      { apiVersion: str(), kind: str(), metadata: required(objectMetaSchema(info.nameFormat)), status: opaque(), ...info.fields },
      refine === undefined ? {} : { refine: (r, at) => refine(r, at) },
    );
    schemas.set(info, schema);
  }
  return schema;
}

/** Resolves apiVersion and kind, reporting at those fields what is supported instead. */
function resolveKind(value: Record<string, unknown>, at: Cursor): KindInfo | undefined {
  const { apiVersion, kind } = value;
  if (apiVersion === undefined || apiVersion === null) at.failMissing('apiVersion');
  else if (typeof apiVersion !== 'string') at.at('apiVersion').fail(`must be a string (got ${describeValue(apiVersion)})`);
  if (kind === undefined || kind === null) return void at.failMissing('kind');
  if (typeof kind !== 'string') return void at.at('kind').fail(`must be a string (got ${describeValue(kind)})`);
  const candidates = kindsNamed(kind);
  if (candidates.length === 0) {
    const names = [...new Set(allKinds().map((k) => k.kind))];
    const guess = suggestName(kind, names);
    const hint = guess === undefined ? '' : ` (did you mean ${JSON.stringify(guess)}?)`;
    return void at.at('kind').fail(`unknown kind ${JSON.stringify(kind)}${hint}; supported kinds: ${names.join(', ')}`);
  }
  if (typeof apiVersion !== 'string') return undefined;
  const info = candidates.find((k) => k.apiVersions.includes(apiVersion));
  if (info === undefined) {
    const supported = candidates.flatMap((k) => k.apiVersions);
    at.at('apiVersion').fail(`unsupported apiVersion ${JSON.stringify(apiVersion)} for kind ${kind} (supported: ${supported.join(', ')})`);
  }
  return info;
}

function objectName(value: Record<string, unknown>): string | undefined {
  const meta = value.metadata;
  if (typeof value.kind !== 'string' || !isPlainObject(meta) || typeof meta.name !== 'string' || meta.name === '') return undefined;
  const given = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : undefined;
  // Named as it will be stored: namespaced kinds default to "default", cluster-scoped ones have none.
  const known = kindsNamed(value.kind)[0];
  const ns = known === undefined ? given : known.namespaced ? given ?? 'default' : undefined;
  return ns === undefined ? `${value.kind} ${meta.name}` : `${value.kind} ${ns}/${meta.name}`;
}

/** A deep copy without object fields set to null: YAML `key:` with no value means the field is absent. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = withoutNulls(v);
  return out;
}

/** Checks a parsed object; problems carry field paths relative to the object. */
export function checkResource(value: unknown, options: ValidateOptions = {}): CheckedResource {
  const problems: Problem[] = [];
  const checkOptions = { mode: options.mode ?? 'local' };
  if (!isPlainObject(value)) {
    problems.push({ path: [], node: [], reason: `must be an object with apiVersion, kind and metadata (got ${describeValue(value)})` });
    return { resource: undefined, object: undefined, problems };
  }
  const info = resolveKind(value, new Cursor([], problems, checkOptions));
  const name = objectName(value);
  if (info === undefined || problems.length > 0) return { resource: undefined, object: name, problems };
  problems.push(...checkValue(schemaFor(info), value, checkOptions));
  if (problems.length > 0) return { resource: undefined, object: name, problems };
  const resource = withoutNulls(value) as Resource;
  if (info.namespaced) resource.metadata.namespace ||= 'default';
  else delete resource.metadata.namespace;
  info.applyDefaults?.(resource);
  return { resource, object: name, problems };
}

export interface ResourceValidation {
  /** The validated, defaulted resource; undefined when there were errors. */
  located: LocatedResource | undefined;
  errors: ValidationError[];
}

/** Validates an object that did not come from a manifest file: every error points at `source` as given. */
export function validateResource(value: unknown, source: SourceLocation, options: ValidateOptions = {}): ResourceValidation {
  const checked = checkResource(value, options);
  const object = checked.object ?? 'unnamed object';
  const errors = checked.problems.map((p) => new ValidationError(source.file, source.line, object, formatPath(p.path), p.reason));
  return { located: checked.resource === undefined ? undefined : { resource: checked.resource, source }, errors };
}
