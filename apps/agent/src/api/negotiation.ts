import { CorralError } from '@corral/core';

export const JSON_TYPE = 'application/json';
export const PROTOBUF_TYPE = 'application/x-protobuf';
export const RECORDIO_TYPE = 'application/recordio';

/** How a call or response message is encoded. */
export type MessageType = typeof JSON_TYPE | typeof PROTOBUF_TYPE;

/** A request refused before its body is read, with Mesos' status and message. */
export class NegotiationError extends CorralError {
  readonly code = 'CORRAL_API_NEGOTIATION';
  readonly status: 400 | 406 | 415;

  constructor(status: 400 | 406 | 415, message: string) {
    super(message);
    this.status = status;
  }
}

/** The request headers negotiation reads; repeated ones as every line, in order. */
export interface NegotiationHeaders {
  readonly contentType?: readonly string[];
  readonly messageContentType?: readonly string[];
  readonly accept?: readonly string[];
  readonly messageAccept?: readonly string[];
}

export interface Negotiated {
  /** The encoding of the call (of each record, when streamed). */
  readonly request: MessageType;
  readonly streamedRequest: boolean;
  /** The encoding of the response (of each record, when streamed). */
  readonly response: MessageType;
  readonly streamedResponse: boolean;
}

/**
 * libprocess keeps the last line of a repeated header, so Corral does too: mesos-go's streaming
 * calls send `Accept: <codec>` and then `Accept: application/recordio`, and mean the latter.
 */
const last = (lines: readonly string[] | undefined): string | undefined => lines?.at(-1);

/**
 * Whether an `Accept`-style header accepts `mediaType`, as libprocess decides it: no header
 * accepts everything; `type/sub`, then `type/*`, then `*\/*` are looked for, and the first item
 * that names one decides (a `q` of 0 or one that is not a number refuses). `q` does not rank.
 */
function acceptsMediaType(header: string | undefined, mediaType: string): boolean {
  if (header === undefined) return true;
  const items = header
    .replace(/[ \t\n]/g, '')
    .split(',')
    .filter(Boolean);
  const [kind] = mediaType.split('/');
  for (const candidate of [mediaType, `${kind}/*`, '*/*']) {
    for (const item of items) {
      const [range, ...parameters] = item.split(';').filter(Boolean);
      if (range?.toLowerCase() !== candidate) continue;
      const qs = parameters
        .map((parameter) => parameter.split('='))
        .filter(([name]) => name === 'q')
        .map(([, ...value]) => value.join('='));
      if (qs.length !== 1) return true;
      const q = Number(qs[0]);
      return qs[0] !== '' && Number.isFinite(q) && q > 0;
    }
  }
  return false;
}

/**
 * Content types are compared exactly, as Mesos does; `application/json; charset=utf-8` is the one
 * leniency (harmless, and some HTTP libraries add it on their own).
 */
function messageTypeOf(contentType: string): MessageType | undefined {
  if (contentType === PROTOBUF_TYPE) return PROTOBUF_TYPE;
  if (/^application\/json\s*(;\s*charset=utf-8\s*)?$/i.test(contentType)) return JSON_TYPE;
  return undefined;
}

/** Picks JSON over protobuf whenever both are accepted, as Mesos does. */
function pick(header: string | undefined): MessageType | undefined {
  if (acceptsMediaType(header, JSON_TYPE)) return JSON_TYPE;
  if (acceptsMediaType(header, PROTOBUF_TYPE)) return PROTOBUF_TYPE;
  return undefined;
}

/**
 * The content negotiation of `POST /api/v1`, in Mesos' order and with its messages (steps 3–7
 * of `Http::api`): request encoding from `Content-Type` (and `Message-Content-Type` for
 * RecordIO), response encoding from `Accept` (and `Message-Accept`).
 */
export function negotiate(headers: NegotiationHeaders): Negotiated {
  const contentType = last(headers.contentType);
  if (contentType === undefined) {
    throw new NegotiationError(400, "Expecting 'Content-Type' to be present");
  }
  const streamedRequest = contentType === RECORDIO_TYPE;
  const direct = messageTypeOf(contentType);
  if (!streamedRequest && direct === undefined) {
    throw new NegotiationError(
      415,
      `Expecting 'Content-Type' of ${JSON_TYPE} or ${PROTOBUF_TYPE} or ${RECORDIO_TYPE}`,
    );
  }
  const messageContentType = last(headers.messageContentType);
  let request: MessageType;
  if (streamedRequest) {
    if (messageContentType === undefined) {
      throw new NegotiationError(
        400,
        "Expecting 'Message-Content-Type' to be set for streaming requests",
      );
    }
    const inner = messageTypeOf(messageContentType);
    if (inner === undefined) {
      throw new NegotiationError(
        415,
        `Expecting 'Message-Content-Type' of ${JSON_TYPE} or ${PROTOBUF_TYPE}`,
      );
    }
    request = inner;
  } else {
    if (messageContentType !== undefined) {
      throw new NegotiationError(
        415,
        "Expecting 'Message-Content-Type' to be not set for non-streaming requests",
      );
    }
    request = direct as MessageType;
  }

  const accept = last(headers.accept);
  const messageAccept = last(headers.messageAccept);
  const direct2 = pick(accept);
  if (direct2 !== undefined) {
    if (messageAccept !== undefined) {
      throw new NegotiationError(
        406,
        "Expecting 'Message-Accept' to be not set for non-streaming responses",
      );
    }
    return { request, streamedRequest, response: direct2, streamedResponse: false };
  }
  if (!acceptsMediaType(accept, RECORDIO_TYPE)) {
    throw new NegotiationError(
      406,
      `Expecting 'Accept' to allow ${JSON_TYPE} or ${PROTOBUF_TYPE} or ${RECORDIO_TYPE}`,
    );
  }
  const inner = pick(messageAccept);
  if (inner === undefined) {
    throw new NegotiationError(
      406,
      `Expecting 'Message-Accept' to allow ${JSON_TYPE} or ${PROTOBUF_TYPE}`,
    );
  }
  return { request, streamedRequest, response: inner, streamedResponse: true };
}
