import { CorralError } from '@corral/core';

/** A shaped interface that does not exist in the agent's network namespace. */
export class EgressInterfaceError extends CorralError {
  readonly code = 'CORRAL_NET_CLS_EGRESS_INTERFACE';
  readonly interface: string;

  constructor(name: string, known: readonly string[]) {
    super(
      `Cannot shape egress on interface '${name}': no such interface in the agent's network ` +
        `namespace; accepted: one of ${known.map((known) => `'${known}'`).join(', ') || '(none)'}`,
    );
    this.interface = name;
  }
}

/** The kernel lacks what shaping needs (HTB); accounting may still work. */
export class EgressUnsupportedError extends CorralError {
  readonly code = 'CORRAL_NET_CLS_EGRESS_UNSUPPORTED';

  constructor(what: string, detail: string) {
    super(`This kernel cannot ${what}: ${detail}`);
  }
}
