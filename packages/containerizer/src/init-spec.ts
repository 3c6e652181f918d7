import { join } from 'node:path';
import {
  type CommandInfo,
  type ContainerConfig,
  type ContainerID,
  type ContainerLaunchInfo,
  containerIdToString,
  InvalidContainerConfigError,
} from '@corral/core';
import type { InitSpec } from '@corral/launcher';
import { CHECKPOINT } from './checkpoint.ts';
import { UnsupportedLaunchInfoError } from './errors.ts';
import type { IsolatorLaunchInfo } from './launch-info-merge.ts';
import type { CommandIdentity } from './privileges.ts';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The command's argv. A shell command runs under `/bin/sh -c`; otherwise `value` is the program
 * and `arguments` the full argv (arguments[0] included), as in Mesos' CommandInfo.
 */
export function commandArgv(command: CommandInfo): string[] {
  const shell = command.shell ?? true;
  if (typeof command.value !== 'string' || command.value === '') {
    throw new InvalidContainerConfigError(
      'command.value',
      shell
        ? 'a shell command needs a non-empty value, e.g. {"value": "sleep 10"}'
        : 'a non-shell command needs the program in value, e.g. {"shell": false, "value": "/bin/sleep", "arguments": ["sleep", "10"]}',
    );
  }
  if (command.value.includes('\0')) {
    throw new InvalidContainerConfigError('command.value', 'must not contain NUL characters');
  }
  if (shell) return ['/bin/sh', '-c', command.value];
  const args = command.arguments ?? [];
  if (args.some((arg) => typeof arg !== 'string' || arg.includes('\0'))) {
    throw new InvalidContainerConfigError(
      'command.arguments',
      'must be strings without NUL characters',
    );
  }
  return args.length > 0 ? [command.value, ...args.slice(1)] : [command.value];
}

function checkSupported(
  launchInfo: ContainerLaunchInfo,
  parts: readonly IsolatorLaunchInfo[],
): void {
  const unsupported = ['enter_namespaces', 'working_directory'] as const;
  for (const field of unsupported) {
    const value = launchInfo[field];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    const setters = parts.filter((part) => part.info[field] !== undefined).map((p) => p.isolator);
    throw new UnsupportedLaunchInfoError(field, setters);
  }
}

/**
 * The environment of the command, later entries winning: a default PATH, Corral's own variables,
 * USER and HOME of a user `command.user` named, the isolators' variables, then the user's. The
 * agent's own environment is not passed on, so no agent secret reaches a container.
 */
function environment(
  id: ContainerID,
  config: ContainerConfig,
  launchInfo: ContainerLaunchInfo,
  identity: CommandIdentity,
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: DEFAULT_PATH,
    CORRAL_SANDBOX: config.directory,
    CORRAL_CONTAINER_ID: containerIdToString(id),
    ...(identity.home === undefined ? {} : { USER: identity.user, HOME: identity.home }),
  };
  for (const { name, value } of launchInfo.environment?.variables ?? []) env[name] = value;
  for (const { name, value } of config.command_info.environment?.variables ?? []) {
    env[name] = value;
  }
  return env;
}

/** Who the command runs as, and whether the engine sets no_new_privs (see privileges.ts). */
export interface CommandPrivileges {
  readonly identity: CommandIdentity;
  readonly noNewPrivileges: boolean;
}

/** The init's user, groups, capabilities and no_new_privs. */
function privilegeSpec(
  launchInfo: ContainerLaunchInfo,
  { identity, noNewPrivileges }: CommandPrivileges,
): Partial<InitSpec> {
  const extraGroups = launchInfo.supplementary_groups ?? [];
  const switchGroups = identity.switchUser || extraGroups.length > 0;
  return {
    ...(identity.switchUser ? { user: { uid: identity.uid, gid: identity.gid } } : {}),
    ...(switchGroups ? { groups: [...new Set([...identity.groups, ...extraGroups])] } : {}),
    ...(launchInfo.effective_capabilities
      ? { effectiveCapabilities: launchInfo.effective_capabilities.capabilities }
      : {}),
    ...(launchInfo.bounding_capabilities
      ? { boundingCapabilities: launchInfo.bounding_capabilities.capabilities }
      : {}),
    noNewPrivileges: noNewPrivileges || launchInfo.no_new_privileges === true,
  };
}

/** Turns a container's config and merged launch info into what the launcher runs. */
export function buildInitSpec(
  id: ContainerID,
  config: ContainerConfig,
  launchInfo: ContainerLaunchInfo,
  parts: readonly IsolatorLaunchInfo[],
  privileges: CommandPrivileges,
): InitSpec {
  checkSupported(launchInfo, parts);
  const namespaces = launchInfo.clone_namespaces ?? [];
  const hostname = config.container_info?.hostname ?? launchInfo.hostname;
  if (hostname !== undefined && !namespaces.includes('uts')) {
    throw new InvalidContainerConfigError(
      'container.hostname',
      'setting a hostname needs a UTS namespace, which no enabled isolator creates',
    );
  }
  return {
    argv: commandArgv(config.command_info),
    environment: environment(id, config, launchInfo, privileges.identity),
    workingDirectory: config.directory,
    cloneNamespaces: namespaces,
    mounts: launchInfo.mounts ?? [],
    rlimits: launchInfo.rlimits ?? [],
    ...(hostname === undefined ? {} : { hostname }),
    ...privilegeSpec(launchInfo, privileges),
    statusFile: join(config.runtime_directory, CHECKPOINT.status),
    stdoutFile: join(config.directory, 'stdout'),
    stderrFile: join(config.directory, 'stderr'),
  };
}
