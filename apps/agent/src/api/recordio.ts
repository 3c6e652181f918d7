import { CallDecodeError } from './protobuf.ts';

/**
 * The first record of a RecordIO body (`<decimal length>\n<bytes>`), the only one a
 * non-streaming handler reads, as Mesos does for `application/recordio` requests.
 */
export function firstRecord(body: Buffer): Buffer {
  const newline = body.indexOf(0x0a);
  if (body.length === 0) throw new CallDecodeError('Received EOF while reading request body');
  const header = newline < 0 ? '' : body.subarray(0, newline).toString('latin1');
  if (!/^\d{1,10}$/.test(header)) {
    throw new CallDecodeError(`Failed to decode RecordIO: expecting '<length>\\n' first`);
  }
  const length = Number(header);
  const record = body.subarray(newline + 1, newline + 1 + length);
  if (record.length < length) throw new CallDecodeError('Received EOF while reading request body');
  return record;
}
