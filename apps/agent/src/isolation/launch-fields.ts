import {
  CorralError,
  covers,
  KNOWN_LAUNCH_FIELDS,
  knownLaunchField,
  type LaunchFieldPath,
  type LaunchFieldsInput,
  setLaunchFields,
} from '@corral/core';

/** An isolator and the launch fields its manifest says it honours. */
export interface FieldOwner {
  readonly name: string;
  readonly honours?: readonly LaunchFieldPath[];
}

/** One launch field that nothing enabled honours, and what would. */
export interface Refusal {
  readonly field: LaunchFieldPath;
  readonly reason: string;
}

/** A launch sets fields that neither the engine nor an enabled isolator honours: a 400. */
export class UnhonouredLaunchFieldError extends CorralError {
  readonly code = 'CORRAL_UNHONOURED_LAUNCH_FIELD';
  readonly refusals: readonly Refusal[];

  constructor(refusals: readonly Refusal[]) {
    super(
      `Refusing to launch: ${refusals.map(({ field, reason }) => `'${field}' ${reason}`).join('; ')}. Corral never ignores a field it was asked to honour`,
    );
    this.refusals = refusals;
  }
}

export interface LaunchFieldPolicyOptions {
  /** Fields the engine honours itself. */
  readonly engine: readonly LaunchFieldPath[];
  /** The enabled isolators, in --isolation order. */
  readonly enabled: readonly FieldOwner[];
  /**
   * Every isolator this agent could load (built in or from --modules/--modules_dir), loaded only
   * when a refusal needs to say which one would honour a field.
   */
  readonly available: () => Promise<readonly FieldOwner[]>;
}

/** One row of the ownership table: a field and what honours it. */
export interface OwnershipRow {
  readonly field: LaunchFieldPath;
  readonly meaning: string;
  /** `engine`, isolator names, or empty when nothing this agent can load honours it. */
  readonly honouredBy: readonly string[];
  /** For fields nothing honours: the isolator designed for it, or why there is none. */
  readonly note?: string;
}

const honouredBy = (owners: readonly FieldOwner[], field: LaunchFieldPath): string[] =>
  owners
    .filter((owner) => owner.honours?.some((declared) => covers(declared, field)))
    .map((owner) => owner.name);

/**
 * Decides which launch fields this agent honours: the engine's own, and those the enabled
 * isolators declare. `check` refuses a launch that sets any other known field, naming each one
 * with the isolator that would honour it and how to enable it, or why Corral cannot.
 */
export class LaunchFieldPolicy {
  readonly #engine: readonly LaunchFieldPath[];
  readonly #enabled: readonly FieldOwner[];
  readonly #available: () => Promise<readonly FieldOwner[]>;
  #availableOnce: Promise<readonly FieldOwner[]> | undefined;

  constructor(options: LaunchFieldPolicyOptions) {
    this.#engine = options.engine;
    this.#enabled = options.enabled;
    this.#available = options.available;
  }

  #honoured(field: LaunchFieldPath): boolean {
    return (
      this.#engine.some((declared) => covers(declared, field)) ||
      honouredBy(this.#enabled, field).length > 0
    );
  }

  /** Throws `UnhonouredLaunchFieldError` when `launch` sets a field nothing enabled honours. */
  async check(launch: LaunchFieldsInput): Promise<void> {
    const unhonoured = setLaunchFields(launch).filter((field) => !this.#honoured(field));
    if (unhonoured.length === 0) return;
    this.#availableOnce ??= this.#available();
    const available = await this.#availableOnce;
    throw new UnhonouredLaunchFieldError(
      unhonoured.map((field) => ({ field, reason: this.#reason(field, available) })),
    );
  }

  #reason(field: LaunchFieldPath, available: readonly FieldOwner[]): string {
    const enabled = this.#enabled.map((owner) => owner.name);
    const loadable = honouredBy(available, field);
    if (loadable.length > 0) {
      const names = loadable.map((name) => `'${name}'`).join(' or ');
      return `needs the ${names} isolator, which is not in --isolation (enable it: --isolation=${[...enabled, loadable[0]].join(',')})`;
    }
    const known = knownLaunchField(field);
    if (known?.isolator !== undefined) {
      return `needs the '${known.isolator}' isolator, which this agent cannot load (it is not built in, nor installed through --modules or --modules_dir)`;
    }
    if (known?.unsupported !== undefined) return `is not supported: ${known.unsupported}`;
    if (known === undefined && /^(resources|limits)\b/.test(field)) {
      return 'names a resource no enabled isolator accounts for or limits';
    }
    return 'is not honoured by the engine or any enabled isolator';
  }

  /** Every known field and what honours it among `owners` (the engine included). */
  static table(
    engine: readonly LaunchFieldPath[],
    owners: readonly FieldOwner[],
  ): readonly OwnershipRow[] {
    return KNOWN_LAUNCH_FIELDS.map((field) => {
      const byEngine = engine.some((declared) => covers(declared, field.path));
      const by = byEngine ? ['engine'] : honouredBy(owners, field.path);
      const note =
        by.length > 0
          ? undefined
          : (field.unsupported ??
            (field.isolator
              ? `needs the \`${field.isolator}\` isolator, which Corral does not ship yet`
              : undefined));
      return {
        field: field.path,
        meaning: field.meaning,
        honouredBy: by,
        ...(note === undefined ? {} : { note }),
      };
    });
  }
}

/** The ownership table as Markdown, for the agent README and `corral-agent --help`. */
export function ownershipMarkdown(rows: readonly OwnershipRow[]): string {
  const lines = ['| field | what it asks for | honoured by |', '| --- | --- | --- |'];
  for (const row of rows) {
    const by =
      row.honouredBy.length > 0
        ? row.honouredBy
            .map((name) => (name === 'engine' ? 'the engine' : `\`${name}\``))
            .join(', ')
        : `refused: ${row.note ?? 'nothing honours it'}`;
    lines.push(`| \`${row.field}\` | ${row.meaning} | ${by} |`);
  }
  return `${lines.join('\n')}\n`;
}
