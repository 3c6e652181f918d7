import {
  type CpuController,
  cpuController,
  createCgroup,
  enableSubtreeControllers,
  type LocateOptions,
  type MemoryController,
  memoryController,
  type PidsController,
  pidsControllerFor,
} from '@corral/cgroupfs';
import { cgroupsFlags, defineIsolator, defineManifest, type IsolatorContext } from '@corral/core';
import { CgroupIsolator } from './cgroup-isolator.ts';
import { cpuPolicy } from './cpu.ts';
import { cpuFlags, memFlags, pidsFlags } from './flags.ts';
import { memPolicy } from './mem.ts';
import { MemIsolator } from './mem-isolator.ts';
import { pidsPolicy } from './pids.ts';

const REQUIRES = { root: true, linux: true } as const;

/**
 * Prepares `--cgroups_root` for a controller: on v2 its controller must be enabled in the
 * `cgroup.subtree_control` of every level above the containers' cgroups.
 */
function prepareRoot(
  controller: CpuController | MemoryController | PidsController,
  v2Name: string,
  root: string,
): void {
  for (const hierarchy of controller.hierarchies) createCgroup(hierarchy, root);
  if (controller.version === 2) {
    enableSubtreeControllers(controller.hierarchies[0] as string, root, [v2Name]);
  }
}

function locate(flags: { readonly cgroups_hierarchy: string }): LocateOptions {
  return { base: flags.cgroups_hierarchy };
}

function ready(
  context: IsolatorContext,
  controller: { version: 1 | 2; hierarchies: readonly string[] },
) {
  context.logger.info(`${context.name} ready`, {
    cgroupVersion: controller.version,
    hierarchies: controller.hierarchies,
  });
}

export const cgroupsCpu = defineIsolator({
  name: 'cgroups/cpu',
  description:
    'CPU shares from the cpus request, a CFS quota from limits.cpus; CPU usage from the cgroup',
  flags: { ...cgroupsFlags, ...cpuFlags },
  requires: REQUIRES,
  honours: ['resources[name=cpus]', 'limits.cpus'],
  async create(flags, context) {
    const controller = await cpuController(locate(flags));
    prepareRoot(controller, 'cpu', flags.cgroups_root);
    ready(context, controller);
    return new CgroupIsolator({
      name: context.name,
      root: flags.cgroups_root,
      logger: context.logger,
      policy: cpuPolicy(controller, {
        defaultCpus: flags.cgroups_cpu_default_cpus,
        enableCfs: flags.cgroups_enable_cfs,
      }),
    });
  },
});

export const cgroupsMem = defineIsolator({
  name: 'cgroups/mem',
  description:
    'Memory hard and soft limits from limits.mem and the mem request; an OOM kill is a limitation that fails the container',
  flags: { ...cgroupsFlags, ...memFlags },
  requires: REQUIRES,
  honours: ['resources[name=mem]', 'limits.mem'],
  async create(flags, context) {
    const controller = await memoryController(locate(flags));
    prepareRoot(controller, 'memory', flags.cgroups_root);
    ready(context, controller);
    const [hierarchy] = controller.hierarchies as [string];
    return new MemIsolator({
      name: context.name,
      root: flags.cgroups_root,
      logger: context.logger,
      controller,
      policy: memPolicy(controller, flags.cgroups_mem_default_mb),
      trigger:
        controller.version === 2
          ? { kind: 'events', file: `${hierarchy}/${flags.cgroups_root}/memory.events` }
          : { kind: 'vmstat', intervalMs: flags.cgroups_mem_oom_poll_ms },
    });
  },
});

export const cgroupsPids = defineIsolator({
  name: 'cgroups/pids',
  description: 'A pids.max limit on the processes and threads of every container',
  flags: { ...cgroupsFlags, ...pidsFlags },
  requires: REQUIRES,
  async create(flags, context) {
    const controller = await pidsControllerFor(locate(flags));
    prepareRoot(controller, 'pids', flags.cgroups_root);
    ready(context, controller);
    const max = flags.cgroups_pids_max;
    return new CgroupIsolator({
      name: context.name,
      root: flags.cgroups_root,
      logger: context.logger,
      policy: pidsPolicy(controller, max === 'max' ? undefined : max),
    });
  },
});

export default defineManifest(cgroupsCpu, cgroupsMem, cgroupsPids);
