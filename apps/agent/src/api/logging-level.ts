/**
 * SET_LOGGING_LEVEL / GET_LOGGING_LEVEL: a glog-style verbosity (0 = the configured level) raised
 * for a while, then back to 0, as Mesos' agent toggles glog's `v`. `apply` maps a verbosity onto
 * the real logger.
 */
export class VerbosityToggle {
  readonly #apply: (verbosity: number) => void;
  #level = 0;
  #revert: NodeJS.Timeout | undefined;

  constructor(apply: (verbosity: number) => void) {
    this.#apply = apply;
  }

  get level(): number {
    return this.#level;
  }

  /** Sets `level` for `durationMs`; a later call replaces both. */
  set(level: number, durationMs: number): void {
    clearTimeout(this.#revert);
    this.#level = level;
    this.#apply(level);
    // Node caps timers at 2^31-1 ms (~24.8 days); a longer duration would fire at once.
    const delay = Math.min(Math.max(durationMs, 0), 2 ** 31 - 1);
    this.#revert = setTimeout(() => {
      this.#level = 0;
      this.#apply(0);
    }, delay);
    this.#revert.unref();
  }

  /** Cancels a pending revert (on agent stop). */
  stop(): void {
    clearTimeout(this.#revert);
  }
}
