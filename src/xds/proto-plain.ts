// Converts between protobufjs messages and ambit's plain camelCase objects, walking the schema so every message
// type gets the same rules: scalars always present (proto3 defaults), unset sub-messages and oneof members absent,
// enums as names, google.protobuf.Any as {typeUrl, value}, wrappers as bare numbers, Struct as JSON.
import * as protobuf from 'protobufjs';
import { XdsDecodeError, XdsEncodeError } from './errors';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

type Plain = Record<string, unknown>;

const ANY = '.google.protobuf.Any';
const STRUCT = '.google.protobuf.Struct';
const WRAPPERS = new Set([
  '.google.protobuf.UInt32Value',
  '.google.protobuf.Int32Value',
  '.google.protobuf.BoolValue',
  '.google.protobuf.StringValue',
  '.google.protobuf.DoubleValue',
  '.google.protobuf.FloatValue',
]);

function isRecord(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function fieldsOf(message: unknown): Plain {
  return message as Plain;
}

// ---------------------------------------------------------------------------------------------------------------
// decode direction: protobufjs message -> plain object

/** Converts a decoded protobufjs message into a plain object; throws XdsDecodeError on an unknown enum value. */
export function messageToPlain(type: protobuf.Type, message: protobuf.Message): Plain {
  const src = fieldsOf(message);
  const out: Plain = {};
  for (const field of type.fieldsArray) {
    const value = src[field.name];
    if (field.partOf) {
      // oneof members are only present when they were on the wire
      if (!Object.prototype.hasOwnProperty.call(src, field.name) || value === null || value === undefined) continue;
      out[field.name] = valueToPlain(type, field, value);
    } else if (field instanceof protobuf.MapField) {
      const map: Plain = {};
      if (isRecord(value)) for (const key of Object.keys(value)) map[key] = valueToPlain(type, field, value[key]);
      out[field.name] = map;
    } else if (field.repeated) {
      out[field.name] = Array.isArray(value) ? value.map((v) => valueToPlain(type, field, v)) : [];
    } else if (field.resolvedType instanceof protobuf.Type) {
      if (value !== null && value !== undefined) out[field.name] = valueToPlain(type, field, value);
    } else {
      out[field.name] = valueToPlain(type, field, value ?? field.typeDefault);
    }
  }
  return out;
}

function valueToPlain(parent: protobuf.Type, field: protobuf.Field, value: unknown): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    const n = typeof value === 'number' ? value : 0;
    const name = resolved.valuesById[n];
    if (name === undefined) {
      throw new XdsDecodeError(parent.fullName.slice(1), `field ${field.name} has value ${n}, unknown to enum ${resolved.fullName.slice(1)}`);
    }
    return name;
  }
  if (resolved instanceof protobuf.Type) {
    const inner = fieldsOf(value);
    if (resolved.fullName === ANY) {
      return { typeUrl: String(inner.type_url ?? ''), value: toBytes(inner.value) };
    }
    if (WRAPPERS.has(resolved.fullName)) return inner.value ?? resolved.fields.value?.typeDefault;
    if (resolved.fullName === STRUCT) return structToJson(inner);
    return messageToPlain(resolved, value as protobuf.Message);
  }
  if (field.type === 'bytes') return toBytes(value);
  return value;
}

function toBytes(value: unknown): Uint8Array {
  return value instanceof Uint8Array ? value : new Uint8Array(0);
}

function structToJson(struct: Plain): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  const fields = struct.fields;
  if (isRecord(fields)) for (const key of Object.keys(fields)) out[key] = protoValueToJson(fields[key]);
  return out;
}

function protoValueToJson(value: unknown): JsonValue {
  if (!isRecord(value)) return null;
  // Value.kind is a oneof: only the member that was on the wire is an own property of the decoded message.
  const has = (key: string): boolean => Object.prototype.hasOwnProperty.call(value, key) && value[key] !== null;
  if (has('stringValue')) return String(value.stringValue);
  if (has('numberValue')) return Number(value.numberValue);
  if (has('boolValue')) return value.boolValue === true;
  if (has('structValue') && isRecord(value.structValue)) return structToJson(value.structValue);
  if (has('listValue') && isRecord(value.listValue)) {
    const values = value.listValue.values;
    return Array.isArray(values) ? values.map(protoValueToJson) : [];
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// encode direction: plain object -> protobufjs message

/** Builds a protobufjs message from a plain object (missing fields take proto3 defaults); throws XdsEncodeError. */
export function plainToMessage(type: protobuf.Type, plain: Plain): protobuf.Message {
  return type.fromObject(plainToProtoObject(type, plain));
}

/** Encodes a plain object as the bytes of `type`. */
export function encodePlain(type: protobuf.Type, plain: Plain): Uint8Array {
  return type.encode(plainToMessage(type, plain)).finish();
}

/** Decodes bytes of `type` into a plain object. */
export function decodePlain(type: protobuf.Type, bytes: Uint8Array): Plain {
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (err) {
    throw new XdsDecodeError(type.fullName.slice(1), err instanceof Error ? err.message : String(err), { cause: err });
  }
  return messageToPlain(type, message);
}

function plainToProtoObject(type: protobuf.Type, plain: Plain): Plain {
  const out: Plain = {};
  for (const field of type.fieldsArray) {
    const value = plain[field.name];
    if (value === undefined || value === null) continue;
    if (field instanceof protobuf.MapField) {
      if (!isRecord(value)) throw new XdsEncodeError(type.fullName.slice(1), `field ${field.name} must be an object (map)`);
      const map: Plain = {};
      for (const key of Object.keys(value)) map[key] = valueToProto(type, field, value[key]);
      out[field.name] = map;
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw new XdsEncodeError(type.fullName.slice(1), `field ${field.name} must be an array`);
      out[field.name] = value.map((v) => valueToProto(type, field, v));
    } else {
      out[field.name] = valueToProto(type, field, value);
    }
  }
  return out;
}

function valueToProto(parent: protobuf.Type, field: protobuf.Field, value: unknown): unknown {
  const resolved = field.resolvedType;
  const where = parent.fullName.slice(1);
  if (resolved instanceof protobuf.Enum) {
    if (typeof value === 'string' && value in resolved.values) return resolved.values[value];
    if (typeof value === 'number' && resolved.valuesById[value] !== undefined) return value;
    const allowed = Object.keys(resolved.values).join(', ');
    throw new XdsEncodeError(where, `field ${field.name} is ${JSON.stringify(value)}; expected one of ${allowed}`);
  }
  if (resolved instanceof protobuf.Type) {
    if (resolved.fullName === ANY) {
      if (!isRecord(value)) throw new XdsEncodeError(where, `field ${field.name} must be {typeUrl, value}`);
      return { type_url: String(value.typeUrl ?? ''), value: toBytes(value.value) };
    }
    if (WRAPPERS.has(resolved.fullName)) return { value };
    if (resolved.fullName === STRUCT) {
      if (!isRecord(value)) throw new XdsEncodeError(where, `field ${field.name} must be a JSON object`);
      return jsonToStruct(value as { [key: string]: JsonValue });
    }
    if (!isRecord(value)) throw new XdsEncodeError(where, `field ${field.name} must be an object`);
    return plainToProtoObject(resolved, value);
  }
  return value;
}

function jsonToStruct(json: { [key: string]: JsonValue }): Plain {
  const fields: Plain = {};
  for (const key of Object.keys(json)) fields[key] = jsonToProtoValue(json[key] ?? null);
  return { fields };
}

function jsonToProtoValue(value: JsonValue): Plain {
  if (value === null) return { nullValue: 0 };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(jsonToProtoValue) } };
  return { structValue: jsonToStruct(value) };
}
