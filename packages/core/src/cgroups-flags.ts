import { flag } from './flags.ts';

const CGROUP_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*(\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$/;

/**
 * `--cgroups_hierarchy` and `--cgroups_root`, declared by the agent (its launcher tracks
 * containers in cgroups) and by every cgroup isolator. They are `shared`, so the agent accepts
 * the repeated declaration; isolators also get the values in `IsolatorContext.cgroups`.
 */
export const cgroupsFlags = {
  cgroups_hierarchy: flag.custom({
    help: 'Base directory of the cgroup v1 hierarchies; missing ones are mounted under it',
    accepted: 'an absolute path',
    default: '/sys/fs/cgroup',
    shared: true,
    parse: (raw) => {
      if (!raw.startsWith('/') || raw.split('/').includes('..')) {
        throw new Error(`'${raw}' is not an absolute path without '..'`);
      }
      return raw;
    },
  }),
  cgroups_root: flag.custom({
    help: "Name of Corral's cgroup in each hierarchy; containers get <root>/<container id>",
    accepted: "a relative cgroup path of letters, digits, '_', '-', '.', and '/' between parts",
    default: 'corral',
    shared: true,
    parse: (raw) => {
      if (!CGROUP_NAME.test(raw) || raw.split('/').some((part) => part === '..' || part === '.')) {
        throw new Error(`'${raw}' is not a relative cgroup path`);
      }
      return raw;
    },
  }),
};
