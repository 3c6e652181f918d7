import protobuf from 'protobufjs';
import { CallDecodeError, CallMessage, type MessageObject } from './protobuf.ts';

const NUMERIC = new Set([
  'double',
  'float',
  'int32',
  'uint32',
  'sint32',
  'fixed32',
  'sfixed32',
  'int64',
  'uint64',
  'sint64',
  'fixed64',
  'sfixed64',
]);

/**
 * Required fields Corral lets JSON callers leave out, as it always has: a `container` without
 * `type` is a MESOS one (the only type it runs). Protobuf clients always send it.
 */
const DEFAULTED: ReadonlySet<protobuf.Field> = new Set(
  [CallMessage.lookupType('mesos.v1.ContainerInfo').fields.type].filter(
    (field): field is protobuf.Field => field !== undefined,
  ),
);

const kindOf = (value: unknown): string =>
  Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;

const refuse = (kind: string, field: string): never => {
  throw new CallDecodeError(`Not expecting a JSON ${kind} for field '${field}'`);
};

/** A string given for a number, as stout reads it ("1.5", "Infinity"; any case for infinity). */
function numberFrom(text: string, field: protobuf.Field, isDouble: boolean): number {
  if (isDouble && /^[+-]?infinity$/i.test(text)) {
    return text.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  const number = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(number)) {
    throw new CallDecodeError(
      `Failed to parse '${text}' as a JSON number for field '${field.name}'`,
    );
  }
  return number;
}

/** One JSON value of `field`'s type; undefined drops it (null, an unknown enum name). */
function scalar(field: protobuf.Field, value: unknown): unknown {
  const { resolvedType } = field;
  if (value === null) return undefined;
  if (resolvedType instanceof protobuf.Type) {
    if (kindOf(value) !== 'object') refuse(kindOf(value), field.name);
    return message(resolvedType, value as MessageObject);
  }
  if (resolvedType instanceof protobuf.Enum) {
    if (typeof value !== 'string') refuse(kindOf(value), field.name);
    if (resolvedType.values[value as string] !== undefined) return value;
    if (field.required) throw new CallDecodeError(`Failed to find enum for '${value}'`);
    // stout drops an unknown name, so an unknown call type reads as none (400). Deeper, the name
    // stays for the validation that owns the field to refuse by name: Corral never drops what a
    // launch asks for (an unknown capability is a 400, not a container without it).
    return field === CallMessage.fields.type ? undefined : value;
  }
  if (NUMERIC.has(field.type)) {
    if (typeof value === 'number') return value;
    if (typeof value === 'string') return numberFrom(value, field, field.type === 'double');
    return refuse(kindOf(value), field.name);
  }
  if (field.type === 'bool') {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    return refuse(kindOf(value), field.name);
  }
  // string and bytes (base64, decoded by fromObject)
  if (typeof value !== 'string') refuse(kindOf(value), field.name);
  return value;
}

/** `object` checked against `type` as stout's JSON parser does; unknown keys are dropped. */
function message(type: protobuf.Type, object: MessageObject): MessageObject {
  const result: MessageObject = {};
  for (const [key, value] of Object.entries(object)) {
    const field = type.fields[key];
    if (field === undefined || value === null) continue;
    let parsed: unknown;
    if (field instanceof protobuf.MapField) {
      if (kindOf(value) !== 'object') refuse(kindOf(value), field.name);
      parsed = Object.fromEntries(
        Object.entries(value as MessageObject).map(([name, entry]) => [name, scalar(field, entry)]),
      );
    } else if (field.repeated) {
      if (!Array.isArray(value)) refuse(kindOf(value), field.name);
      parsed = (value as unknown[])
        .map((entry) => scalar(field, entry))
        .filter((entry) => entry !== undefined);
    } else {
      if (Array.isArray(value)) refuse('array', field.name);
      parsed = scalar(field, value);
    }
    if (parsed !== undefined) result[key] = parsed;
  }
  return result;
}

/** Paths of required fields that are missing, as protobuf's InitializationErrorString names them. */
function missingRequired(type: protobuf.Type, object: MessageObject, path: string): string[] {
  const missing: string[] = [];
  for (const field of type.fieldsArray) {
    const value = object[field.name];
    const where = `${path}${field.name}`;
    if (value === undefined) {
      if (field.required && !DEFAULTED.has(field)) missing.push(where);
      continue;
    }
    const nested = field.resolvedType;
    if (!(nested instanceof protobuf.Type)) continue;
    if (field instanceof protobuf.MapField) {
      for (const [key, entry] of Object.entries(value as MessageObject)) {
        missing.push(...missingRequired(nested, entry as MessageObject, `${where}[${key}].`));
      }
    } else if (field.repeated) {
      for (const [index, entry] of (value as MessageObject[]).entries()) {
        missing.push(...missingRequired(nested, entry, `${where}[${index}].`));
      }
    } else {
      missing.push(...missingRequired(nested, value as MessageObject, `${where}.`));
    }
  }
  return missing;
}

/**
 * A JSON `Call` parsed as Mesos parses it (stout): enums by name only (a number is refused, an
 * unknown name dropped), numbers also from numeric strings, `null` as unset, unknown keys
 * ignored, then every required field checked. protobufjs' own `fromObject` is laxer on all of it.
 */
export function parseJsonCall(text: string): MessageObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CallDecodeError(`Failed to parse body into JSON: ${(error as Error).message}`);
  }
  if (kindOf(value) !== 'object') throw new CallDecodeError('Expecting a JSON object');
  const call = message(CallMessage, value as MessageObject);
  const missing = missingRequired(CallMessage, call, '');
  if (missing.length > 0) {
    throw new CallDecodeError(`Missing required fields: ${missing.join(', ')}`);
  }
  return call;
}
