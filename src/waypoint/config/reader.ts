// A small typed reader over untrusted JSON: each accessor checks one value and names its path when it is wrong.
import { WaypointConfigInvalid } from '../errors';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A cursor at one place in the document; failures throw WaypointConfigInvalid naming the path. */
export class JsonReader {
  constructor(
    readonly value: unknown,
    readonly path: string,
  ) {}

  fail(problem: string): never {
    throw new WaypointConfigInvalid(`${this.path || '(document)'}: ${problem}`);
  }

  at(key: string | number): JsonReader {
    const container = this.value as Record<string | number, unknown>;
    const path = typeof key === 'number' ? `${this.path}[${key}]` : this.path === '' ? key : `${this.path}.${key}`;
    return new JsonReader(container[key], path);
  }

  get present(): boolean {
    return this.value !== undefined && this.value !== null;
  }

  object(): this {
    if (typeof this.value !== 'object' || this.value === null || Array.isArray(this.value)) this.fail(`must be an object (got ${describe(this.value)})`);
    return this;
  }

  /** Children of an object, for maps. */
  keys(): string[] {
    this.object();
    return Object.keys(this.value as object);
  }

  string(options: { nonEmpty?: boolean } = {}): string {
    if (typeof this.value !== 'string') this.fail(`must be a string (got ${describe(this.value)})`);
    if (options.nonEmpty && this.value === '') this.fail('must not be empty');
    return this.value;
  }

  optionalString(options: { nonEmpty?: boolean } = {}): string | undefined {
    return this.present ? this.string(options) : undefined;
  }

  number(options: { min?: number; max?: number; integer?: boolean } = {}): number {
    if (typeof this.value !== 'number' || !Number.isFinite(this.value)) this.fail(`must be a number (got ${describe(this.value)})`);
    const n = this.value;
    if (options.integer && !Number.isInteger(n)) this.fail(`must be an integer (got ${n})`);
    if (options.min !== undefined && n < options.min) this.fail(`must be at least ${options.min} (got ${n})`);
    if (options.max !== undefined && n > options.max) this.fail(`must be at most ${options.max} (got ${n})`);
    return n;
  }

  optionalNumber(options: { min?: number; max?: number; integer?: boolean } = {}): number | undefined {
    return this.present ? this.number(options) : undefined;
  }

  port(): number {
    return this.number({ min: 1, max: 65535, integer: true });
  }

  optionalPort(): number | undefined {
    return this.present ? this.port() : undefined;
  }

  boolean(): boolean {
    if (typeof this.value !== 'boolean') this.fail(`must be true or false (got ${describe(this.value)})`);
    return this.value;
  }

  optionalBoolean(): boolean | undefined {
    return this.present ? this.boolean() : undefined;
  }

  oneOf<T extends string>(choices: readonly T[]): T {
    const value = this.string();
    if (!(choices as readonly string[]).includes(value)) this.fail(`must be one of ${choices.join(', ')} (got ${JSON.stringify(value)})`);
    return value as T;
  }

  array(): JsonReader[] {
    if (!Array.isArray(this.value)) this.fail(`must be a list (got ${describe(this.value)})`);
    return this.value.map((_item, i) => this.at(i));
  }

  optionalArray(): JsonReader[] | undefined {
    return this.present ? this.array() : undefined;
  }

  strings(): string[] {
    return this.array().map((item) => item.string());
  }

  optionalStrings(): string[] | undefined {
    return this.present ? this.strings() : undefined;
  }

  /** A string-to-string map (labels). */
  stringMap(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const key of this.keys()) out[key] = this.at(key).string();
    return out;
  }

  optionalStringMap(): Record<string, string> | undefined {
    return this.present ? this.stringMap() : undefined;
  }

  /** Rejects keys the document version does not define, so a typo is a NACK and not a silently ignored setting. */
  only(allowed: readonly string[]): this {
    for (const key of this.keys()) if (!allowed.includes(key)) this.at(key).fail(`unknown field (allowed here: ${allowed.join(', ')})`);
    return this;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return typeof value === 'object' ? 'an object' : String(value);
}

/** Drops undefined properties so parsed documents compare equal to hand-written ones. */
export function defined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}
