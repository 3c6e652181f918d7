import { readFileSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { CorralError } from '@corral/core';
import protobuf from 'protobufjs';
import { SLICE_MS } from '../http/json-stream.ts';

/** The v1 API's messages, parsed from the subset `.proto` files at start-up (no build step). */
function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  for (const file of ['mesos.proto', 'agent.proto']) {
    // Read from src/ in both src/ and dist/ runs: the package ships src/ and tsc does not copy.
    const text = readFileSync(new URL(`../../src/api/${file}`, import.meta.url), 'utf8');
    protobuf.parse(text, root, { keepCase: true });
  }
  root.resolveAll();
  return root;
}

const root = loadRoot();
export const CallMessage = root.lookupType('mesos.v1.agent.Call');
export const ResponseMessage = root.lookupType('mesos.v1.agent.Response');

/** A message in Mesos' JSON shape: snake_case fields, enum names, numbers, base64 bytes. */
export type MessageObject = Record<string, unknown>;

/** A body that is not a valid call: 400 with Mesos' message. */
export class CallDecodeError extends CorralError {
  readonly code = 'CORRAL_API_UNDECODABLE_CALL';
}

/** The `toObject` options that give Mesos' JSON shape. */
const AS_JSON_SHAPE: protobuf.IConversionOptions = {
  enums: String,
  longs: Number,
  bytes: String,
};

/**
 * A protobuf `Call` as the object its JSON form parses to, so one handler serves both codecs.
 * Required fields are checked (protobufjs throws); an enum number the subset does not know is
 * dropped, as proto2 C++ moves it to unknown fields, so `{type: 999}` reads as "no type".
 */
export function decodeCall(bytes: Uint8Array): MessageObject {
  try {
    return CallMessage.toObject(CallMessage.decode(bytes), AS_JSON_SHAPE);
  } catch {
    throw new CallDecodeError('Failed to parse body into a protobuf object');
  }
}

/** Lists built lazily as the answer is written (views.ts): any iterable that is not an array. */
function isLazyList(value: unknown): value is Iterable<unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && Symbol.iterator in value
  );
}

function holdsLazyList(value: unknown): boolean {
  if (isLazyList(value)) return true;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).some(holdsLazyList);
}

/** A length-delimited field's key and length prefix. */
function prefix(fieldId: number, length: number): Uint8Array {
  return protobuf.Writer.create()
    .uint32((fieldId << 3) | 2)
    .uint32(length)
    .finish();
}

const size = (parts: readonly Uint8Array[]) => parts.reduce((sum, part) => sum + part.length, 0);

/**
 * Encodes `value` as `type`, element by element where it holds lazy lists, giving the event loop
 * a turn whenever a stretch took `SLICE_MS`. Protobuf lets a message be written as the
 * concatenation of its parts (repeated fields append, embedded messages merge), so the plain
 * fields go in one piece and each lazy list's elements follow as their own fields.
 */
async function encodeParts(
  type: protobuf.Type,
  value: MessageObject,
  clock: { start: number },
): Promise<Uint8Array[]> {
  const plain: MessageObject = {};
  const later: [protobuf.Field, unknown][] = [];
  for (const [name, member] of Object.entries(value)) {
    const field = type.fields[name];
    if (field?.resolvedType instanceof protobuf.Type && holdsLazyList(member)) {
      later.push([field, member]);
    } else {
      plain[name] = member;
    }
  }
  const parts = [type.encode(type.fromObject(plain)).finish()];
  for (const [field, member] of later) {
    const fieldType = field.resolvedType as protobuf.Type;
    if (!isLazyList(member)) {
      const inner = await encodeParts(fieldType, member as MessageObject, clock);
      parts.push(prefix(field.id, size(inner)), ...inner);
      continue;
    }
    for (const element of member) {
      const bytes = fieldType.encode(fieldType.fromObject(element as MessageObject)).finish();
      parts.push(prefix(field.id, bytes.length), bytes);
      if (performance.now() - clock.start > SLICE_MS) {
        await nextTurn();
        clock.start = performance.now();
      }
    }
  }
  return parts;
}

/** A `Response` in Mesos' JSON shape (lazy lists allowed) as protobuf bytes, written in slices. */
export async function encodeResponse(response: MessageObject): Promise<Buffer> {
  const parts = await encodeParts(ResponseMessage, response, { start: performance.now() });
  return Buffer.concat(parts);
}
