/**
 * The runtime socket's wire format, shared with `corral-runc`: newline-delimited JSON. A client
 * sends one request line; the agent answers with reply lines and closes. While a `run` (or an
 * `attach`) is going, the client may send `{"signal": N}` lines, which the agent forwards to the
 * container.
 */

/** runtime-spec `state`: what `corral-runc state` prints. */
export interface OciState {
  readonly ociVersion: string;
  readonly id: string;
  readonly status: 'creating' | 'created' | 'running' | 'stopped';
  /** The container init's host pid; 0 once stopped. */
  readonly pid: number;
  readonly bundle: string;
  readonly annotations: Readonly<Record<string, string>>;
}

export type RuntimeRequest =
  | {
      readonly verb: 'run';
      readonly id: string;
      /** The bundle directory, absolute. */
      readonly bundle: string;
      /** `<bundle>/config.json` as the caller read it (with the caller's own permissions). */
      readonly config: unknown;
    }
  /**
   * After the agent restarted during a `run`: follow that container again, from these byte
   * offsets of its output; the replies are those of a `run` after `started`.
   */
  | { readonly verb: 'attach'; readonly id: string; readonly offsets: OutputOffsets }
  | { readonly verb: 'state'; readonly id: string }
  | { readonly verb: 'kill'; readonly id: string; readonly signal: number; readonly all: boolean }
  | { readonly verb: 'delete'; readonly id: string; readonly force: boolean };

/** How many bytes of each stream a client has received. */
export interface OutputOffsets {
  readonly stdout: number;
  readonly stderr: number;
}

/** Sent during a `run` or `attach`: forward this signal to the container. */
export interface SignalMessage {
  readonly signal: number;
}

export type RuntimeReply =
  /** The container's command is running (its init has this pid). */
  | { readonly type: 'started'; readonly pid: number }
  /** Bytes the container wrote, base64. */
  | { readonly type: 'output'; readonly stream: 'stdout' | 'stderr'; readonly data: string }
  /** Final for `run`: how the container ended, as a shell reports it (128 + signal if killed). */
  | { readonly type: 'exit'; readonly code: number; readonly message?: string }
  /** Final for `state`. */
  | { readonly type: 'state'; readonly state: OciState }
  /** Final for `kill` and `delete`. */
  | { readonly type: 'ok' }
  /** Final: the request failed; `code` is the stable error code. */
  | { readonly type: 'error'; readonly code: string; readonly message: string };

export const OCI_VERSION = '1.0.2';
