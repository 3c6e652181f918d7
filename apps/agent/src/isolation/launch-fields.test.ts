import { ENGINE_LAUNCH_FIELDS } from '@corral/containerizer';
import { describe, expect, it } from 'vitest';
import {
  type FieldOwner,
  LaunchFieldPolicy,
  ownershipMarkdown,
  UnhonouredLaunchFieldError,
} from './launch-fields.ts';

const rlimits: FieldOwner = { name: 'posix/rlimits', honours: ['container.rlimit_info'] };
const ipc: FieldOwner = {
  name: 'namespaces/ipc',
  honours: ['container.linux_info.ipc_mode', 'container.linux_info.shm_size'],
};
const posix: FieldOwner = { name: 'posix/cpu' };

function policy(enabled: FieldOwner[], available: FieldOwner[] = []) {
  let loads = 0;
  const made = new LaunchFieldPolicy({
    engine: ENGINE_LAUNCH_FIELDS,
    enabled,
    available: async () => {
      loads += 1;
      return available;
    },
  });
  return { policy: made, loads: () => loads };
}

async function refusal(check: Promise<void>): Promise<UnhonouredLaunchFieldError> {
  const error = await check.catch((thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(UnhonouredLaunchFieldError);
  return error as UnhonouredLaunchFieldError;
}

describe('LaunchFieldPolicy', () => {
  it('accepts what the engine honours without loading other isolators', async () => {
    const { policy: made, loads } = policy([posix]);
    await made.check({
      command: { value: 'x', shell: true, environment: { variables: [] } },
      container: { type: 'MESOS', hostname: 'h', volumes: [] },
    });
    expect(loads()).toBe(0);
  });

  it('accepts fields an enabled isolator declares, sub-fields included', async () => {
    const { policy: made } = policy([posix, rlimits, ipc]);
    await made.check({
      command: { value: 'x' },
      container: {
        rlimit_info: { rlimits: [{ type: 'RLMT_NOFILE', soft: 1, hard: 1 }] },
        linux_info: { ipc_mode: 'PRIVATE', shm_size: 8 },
      },
    });
  });

  it('names an available isolator that would honour the field, and how to enable it', async () => {
    const { policy: made } = policy([posix], [posix, rlimits]);
    const error = await refusal(
      made.check({ command: { value: 'x' }, container: { rlimit_info: { rlimits: [{}] } } }),
    );
    expect(error.refusals.map((r) => r.field)).toEqual(['container.rlimit_info']);
    expect(error.message).toContain(
      "'container.rlimit_info' needs the 'posix/rlimits' isolator, which is not in --isolation (enable it: --isolation=posix/cpu,posix/rlimits)",
    );
  });

  it('says when the designed isolator cannot be loaded, or why nothing honours a field', async () => {
    const { policy: made, loads } = policy([posix]);
    const error = await refusal(
      made.check({
        command: { value: 'x', uris: [{ value: 'http://x' }], user: 'nobody' },
        container: { network_infos: [{ name: 'n' }], tty_info: {} },
        resources: [{ name: 'gpus', type: 'SCALAR', scalar: { value: 1 } }],
        limits: { mem: { value: 64 } },
      }),
    );
    const reasons = Object.fromEntries(error.refusals.map((r) => [r.field, r.reason]));
    expect(reasons['container.network_infos']).toMatch(
      /needs the 'network\/cni' isolator, which this agent cannot load/,
    );
    expect(reasons['command.uris']).toMatch(/is not supported: Corral has no fetcher/);
    expect(reasons['resources[name=gpus]']).toMatch(/names a resource no enabled isolator/);
    expect(reasons['limits.mem']).toMatch(/'cgroups\/mem'/);
    // tty_info {} asks for nothing; one load of the candidates serves every refusal.
    expect(Object.keys(reasons)).not.toContain('container.tty_info');
    expect(loads()).toBe(1);
    await refusal(made.check({ command: { value: 'x' }, limits: { cpus: { value: 1 } } }));
    expect(loads()).toBe(1);
  });

  it('tabulates every known field with its owner, or why it is refused', () => {
    const table = ownershipMarkdown(LaunchFieldPolicy.table(ENGINE_LAUNCH_FIELDS, [rlimits, ipc]));
    expect(table).toContain('| `command.value` | the command to run | the engine |');
    expect(table).toContain('| `container.rlimit_info` |');
    expect(table).toMatch(/`container.rlimit_info` \| [^|]+ \| `posix\/rlimits` \|/);
    expect(table).toMatch(
      /`container.network_infos` \| [^|]+ \| refused: needs the `network\/cni` isolator/,
    );
    expect(table).toMatch(/`command.uris` \| [^|]+ \| refused: Corral has no fetcher/);
  });
});
