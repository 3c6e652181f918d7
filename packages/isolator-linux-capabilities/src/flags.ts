import { type Capability, flag } from '@corral/core';
import { EXAMPLE, parseCapabilityInfo } from './capability-sets.ts';

const accepted = `JSON like ${EXAMPLE}: Mesos capability names, also with CAP_ or in lower case`;
const parse = (raw: string): Capability[] => {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error('not JSON');
  }
  return parseCapabilityInfo(value, (message) => {
    throw new Error(message);
  });
};

/** The flags of `linux/capabilities`, with the names and semantics of Mesos' agent flags. */
export const capabilityFlags = {
  effective_capabilities: flag.custom({
    accepted,
    help: 'Capabilities of commands whose container asks for none (must be inside --bounding_capabilities). Absent: a command keeps the capabilities of its user; [] drops all',
    parse,
  }),
  bounding_capabilities: flag.custom({
    accepted,
    help: 'The most any container may ask for, and the bounding set of every command that asks for capabilities. Absent: no bound',
    parse,
  }),
};
