// A small declarative schema language: a schema checks a parsed YAML/JSON value and reports each problem with its field path.

import { suggestName } from './suggest';

export type PathSegment = string | number;
export type FieldPath = readonly PathSegment[];

export interface Problem {
  /** The field the message names. */
  readonly path: FieldPath;
  /** The node whose line the problem points at (a missing field points at its parent, an unknown one at its key). */
  readonly node: FieldPath;
  readonly reason: string;
}

/** Where the checked objects will run: some features exist only in a real cluster. */
export type ValidationMode = 'local' | 'kubernetes';

export interface CheckOptions {
  readonly mode: ValidationMode;
}

/** A position in the value being checked, collecting problems found there and below. */
export class Cursor {
  constructor(
    readonly path: FieldPath,
    private readonly problems: Problem[],
    readonly options: CheckOptions,
  ) {}

  at(segment: PathSegment): Cursor {
    return new Cursor([...this.path, segment], this.problems, this.options);
  }

  fail(reason: string): void {
    this.problems.push({ path: this.path, node: this.path, reason });
  }

  /** A problem named at this path but pointing at the line of a node below it. */
  failAt(node: FieldPath, reason: string): void {
    this.problems.push({ path: this.path, node: [...this.path, ...node], reason });
  }

  failMissing(field: string): void {
    this.problems.push({ path: [...this.path, field], node: this.path, reason: 'required field is missing' });
  }

  get problemCount(): number {
    return this.problems.length;
  }
}

export interface Schema {
  check(value: unknown, at: Cursor): void;
}

/** Runs a schema over a whole value. */
export function checkValue(schema: Schema, value: unknown, options: CheckOptions, path: FieldPath = []): Problem[] {
  const problems: Problem[] = [];
  schema.check(value, new Cursor(path, problems, options));
  return problems;
}

/** "spec.containers[0].name", with map keys that are not identifiers quoted: labels["app.kubernetes.io/name"]. */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** How a value is named when it has the wrong type: scalars as JSON, containers by kind. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Builds a schema from a check function. */
export function custom(check: (value: unknown, at: Cursor) => void): Schema {
  return { check };
}

/** Accepts anything: fields ambit tolerates but does not interpret. */
export function opaque(): Schema {
  return custom(() => undefined);
}

/** A field ambit knows but rejects, with the reason (e.g. a feature local mode does not have). */
export function unsupported(reason: string): Schema {
  return custom((_v, at) => at.fail(reason));
}

/** Rejected in local mode with `reason`, accepted as-is when validating for a real cluster. */
export function localModeUnsupported(reason: string): Schema {
  return custom((_v, at) => {
    if (at.options.mode === 'local') at.fail(reason);
  });
}

/** Runs `schema`, then `extra` only when the value passed it. */
export function refine<T>(schema: Schema, extra: (value: T, at: Cursor) => void): Schema {
  return custom((value, at) => {
    const before = at.problemCount;
    schema.check(value, at);
    if (at.problemCount === before) extra(value as T, at);
  });
}

export interface StringOptions {
  nonEmpty?: boolean;
  maxLength?: number;
  /** Returns the reason a value is invalid, or undefined. */
  format?: (value: string) => string | undefined;
}

export function str(options: StringOptions = {}): Schema {
  return custom((value, at) => {
    if (typeof value !== 'string') return at.fail(`must be a string (got ${describeValue(value)})`);
    if (options.nonEmpty && value === '') return at.fail('must not be empty');
    if (options.maxLength !== undefined && value.length > options.maxLength) {
      return at.fail(`must be at most ${options.maxLength} characters (got ${value.length})`);
    }
    const reason = options.format?.(value);
    if (reason !== undefined) at.fail(reason);
  });
}

export function enumOf(values: readonly string[]): Schema {
  return custom((value, at) => {
    if (typeof value !== 'string' || !values.includes(value)) {
      at.fail(`must be one of ${values.join(', ')} (got ${describeValue(value)})`);
    }
  });
}

export interface NumberOptions {
  min?: number;
  max?: number;
}

function rangeReason(value: number, { min, max }: NumberOptions): string | undefined {
  if (min !== undefined && max !== undefined && (value < min || value > max)) return `must be between ${min} and ${max} (got ${value})`;
  if (min !== undefined && value < min) return `must be at least ${min} (got ${value})`;
  if (max !== undefined && value > max) return `must be at most ${max} (got ${value})`;
  return undefined;
}

export function int(options: NumberOptions = {}): Schema {
  return custom((value, at) => {
    if (typeof value !== 'number' || !Number.isInteger(value)) return at.fail(`must be an integer (got ${describeValue(value)})`);
    const reason = rangeReason(value, options);
    if (reason !== undefined) at.fail(reason);
  });
}

export function num(options: NumberOptions = {}): Schema {
  return custom((value, at) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return at.fail(`must be a number (got ${describeValue(value)})`);
    const reason = rangeReason(value, options);
    if (reason !== undefined) at.fail(reason);
  });
}

export function bool(): Schema {
  return custom((value, at) => {
    if (typeof value !== 'boolean') at.fail(`must be true or false (got ${describeValue(value)})`);
  });
}

export function portNumber(): Schema {
  return int({ min: 1, max: 65535 });
}

/** Kubernetes IntOrString: an integer checked by `asInt`, or a string checked by `asString`. */
export function intOrString(asInt: Schema, asString: Schema): Schema {
  return custom((value, at) => {
    if (typeof value === 'number') asInt.check(value, at);
    else if (typeof value === 'string') asString.check(value, at);
    else at.fail(`must be an integer or a string (got ${describeValue(value)})`);
  });
}

export interface ListOptions {
  minItems?: number;
  /** Message when there are fewer than minItems (default "must not be empty" / "must have at least N items"). */
  tooFew?: string;
  /** A field of each item whose values must be distinct (e.g. "name"). */
  uniqueField?: string;
}

export function list(item: Schema, options: ListOptions = {}): Schema {
  return custom((value, at) => {
    if (!Array.isArray(value)) return at.fail(`must be a list (got ${describeValue(value)})`);
    const min = options.minItems ?? 0;
    if (value.length < min) return at.fail(options.tooFew ?? (min === 1 ? 'must not be empty' : `must have at least ${min} items`));
    const seen = new Map<unknown, number>();
    value.forEach((element, i) => {
      const before = at.problemCount;
      item.check(element, at.at(i));
      const field = options.uniqueField;
      if (field === undefined || at.problemCount !== before || !isPlainObject(element)) return;
      const key = element[field];
      if (key === undefined || key === null) return;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, i);
      else at.at(i).at(field).fail(`duplicate ${field} ${describeValue(key)} (also used by ${formatPath([...at.path, first])})`);
    });
  });
}

/** A list of strings, each checked by `item` (plain strings by default). */
export function stringList(item: Schema = str(), options: ListOptions = {}): Schema {
  return list(item, options);
}

/** An object used as a map: every key checked by `key` (reported at the key), every value by `value`. */
export function mapOf(value: Schema, key?: Schema): Schema {
  return custom((v, at) => {
    if (!isPlainObject(v)) return at.fail(`must be an object (got ${describeValue(v)})`);
    for (const [k, entry] of Object.entries(v)) {
      key?.check(k, at.at(k));
      value.check(entry, at.at(k));
    }
  });
}

export function stringMap(key?: Schema, value: Schema = str()): Schema {
  return mapOf(value, key);
}

export interface Field {
  readonly schema: Schema;
  readonly required: boolean;
}

export function required(schema: Schema): Field {
  return { schema, required: true };
}

export type FieldDefinitions = Readonly<Record<string, Schema | Field>>;

export interface ObjectOptions<T> {
  /** Groups of fields of which exactly one must be set. */
  exactlyOne?: readonly (readonly string[])[];
  /** Groups of fields of which at most one may be set. */
  atMostOne?: readonly (readonly string[])[];
  /** Cross-field rules, run only when every field passed. */
  refine?: (value: T, at: Cursor) => void;
}

function isField(def: Schema | Field): def is Field {
  return 'required' in def;
}

/** Present means set to something other than null (YAML `key:` with no value counts as absent). */
export function isSet(obj: Record<string, unknown>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key) && obj[key] !== null && obj[key] !== undefined;
}

function quoteList(names: readonly string[]): string {
  return names.join(', ');
}

/** An object with known fields; any other field is an error, with a suggestion when one is close. */
export function object<T = Record<string, unknown>>(fields: FieldDefinitions, options: ObjectOptions<T> = {}): Schema {
  const known = Object.keys(fields);
  return custom((value, at) => {
    if (!isPlainObject(value)) return at.fail(`must be an object (got ${describeValue(value)})`);
    const before = at.problemCount;
    for (const key of Object.keys(value)) {
      if (Object.prototype.hasOwnProperty.call(fields, key)) continue;
      // The API server accepted it: a field from a newer Istio or Kubernetes than ambit knows is not a reason to refuse.
      if (at.options.mode === 'kubernetes') continue;
      const guess = suggestName(key, known);
      at.failAt([key], `unknown field ${JSON.stringify(key)}${guess === undefined ? '' : ` (did you mean ${JSON.stringify(guess)}?)`}`);
    }
    for (const [key, def] of Object.entries(fields)) {
      const field = isField(def) ? def : { schema: def, required: false };
      if (!isSet(value, key)) {
        if (field.required) at.failMissing(key);
        continue;
      }
      field.schema.check(value[key], at.at(key));
    }
    for (const group of options.exactlyOne ?? []) {
      const present = group.filter((k) => isSet(value, k));
      if (present.length === 0) at.fail(`exactly one of ${quoteList(group)} must be set`);
      else if (present.length > 1) at.failAt([present[1]], `only one of ${quoteList(group)} may be set (found ${quoteList(present)})`);
    }
    for (const group of options.atMostOne ?? []) {
      const present = group.filter((k) => isSet(value, k));
      if (present.length > 1) at.failAt([present[1]], `only one of ${quoteList(group)} may be set (found ${quoteList(present)})`);
    }
    if (options.refine && at.problemCount === before) options.refine(value as T, at);
  });
}
